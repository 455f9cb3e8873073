"""Train the example network shipped in ``src/nncells/data/digits_mlp.npz``.

scikit-learn's bundled digits (no download), projected to 3 principal components and
standardised; an MLP 3-16-16-10 with ReLU trained by scikit-learn. Run from the repo root:
    python scripts/train_demo.py
"""
import json
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.neural_network import MLPClassifier

OUT = Path(__file__).resolve().parents[1] / "src" / "nncells" / "data"


def main():
    X, y = load_digits(return_X_y=True)
    Z = PCA(n_components=3, random_state=0).fit_transform(X)
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    clf = MLPClassifier(hidden_layer_sizes=(16, 16), activation="relu", max_iter=2000, random_state=0)
    clf.fit(Z, y)
    arrays = {}
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
        arrays[f"W{i}"] = W.T.astype(np.float64)
        arrays[f"b{i}"] = b.astype(np.float64)
    np.savez(OUT / "digits_mlp.npz", **arrays)
    info = {
        "description": "MLP 3-16-16-10 (ReLU) on scikit-learn's digits, first 3 principal components, standardised",
        "train_accuracy": float(clf.score(Z, y)),
        "box_lo": Z.min(axis=0).round(3).tolist(),
        "box_hi": Z.max(axis=0).round(3).tolist(),
    }
    (OUT / "digits_mlp.json").write_text(json.dumps(info, indent=2) + "\n")
    print(info)


if __name__ == "__main__":
    main()
