"""Pieces shared by the experiments: data sets, small PyTorch MLPs, serial enumeration, and
CSV / JSON / Markdown writers whose output the reports are rebuilt from."""
from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from nncells.errors import NNCellsError
from nncells.api import enumerate_regions

DATASETS = ("moons", "digits")


def start(out_dir, configs: dict, quick: bool, seed: int):
    """Common start of an experiment: one torch thread, the output folder, the configuration.
    Returns ``(out, cfg)``."""
    import torch
    torch.set_num_threads(1)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mode = "quick" if quick else "full"
    return out, dict(configs[mode], mode=mode, seed=seed)


QUICK_FIT_NOTE = "not meaningful: quick mode"


def quick_note(cfg: dict) -> dict:
    """``{"fits": QUICK_FIT_NOTE}`` for a quick-mode configuration, else ``{}``: the label of
    fitted lines from runs too few and too small to mean anything.

    Examples
    --------
    >>> from nncells.experiments.common import quick_note
    >>> quick_note({"mode": "quick"}), quick_note({"mode": "full"})
    ({'fits': 'not meaningful: quick mode'}, {})
    """
    return {"fits": QUICK_FIT_NOTE} if cfg.get("mode") == "quick" else {}


def load_user_model(path):
    """The `Network` of a model file of the user's (`nncells.load_model`), or None for None.

    Examples
    --------
    >>> from nncells.experiments.common import load_user_model
    >>> load_user_model(None) is None
    True
    """
    if path is None:
        return None
    from nncells.models import load_model
    net = load_model(str(path))
    if net.n_hidden == 0:
        raise NNCellsError(f"{path}: the model has no hidden ReLU layer: it has one region")
    return net


def mlp_from_network(net):
    """``nn.Sequential`` of Linear + ReLU layers with the weights of a plain ReLU `Network`
    (float32, as training uses): the starting point of training from a user's model.

    Examples
    --------
    >>> import nncells
    >>> from nncells.experiments.common import mlp_from_network, to_network
    >>> net = nncells.random_network([2, 4, 3], seed=0)
    >>> m = mlp_from_network(net)
    >>> [type(x).__name__ for x in m]
    ['Linear', 'ReLU', 'Linear']
    >>> bool(abs(to_network(m).weights[0] - net.weights[0]).max() < 1e-6)
    True
    """
    import torch
    from torch import nn
    if net.has_linear or net.tournaments:
        raise NNCellsError("training starts from a plain ReLU MLP: this model has linear units or max-pooling")
    layers = []
    for k, (W, b) in enumerate(zip(net.weights, net.biases)):
        lin = nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(np.asarray(W, dtype=np.float32)))   # a copy: the weights are read-only
            lin.bias.copy_(torch.tensor(np.asarray(b, dtype=np.float32)))
        layers += [lin] + ([nn.ReLU()] if k < len(net.weights) - 1 else [])
    return nn.Sequential(*layers)


def log(msg: str) -> None:
    """One progress line on stderr."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ enumeration
def enumerate_with(network, domain, workers: int = 1, method: str = "cells", **options):
    """`enumerate_regions` with ``workers`` processes and the layer-wise engine (``method``), so
    the layer-wise statistics (LP solves, ranks) are comparable between runs; ``options`` (e.g.
    ``executor``, ``progress``) go to `enumerate_regions`."""
    return enumerate_regions(network, domain, workers=workers, method=method, **options)


# ------------------------------------------------------------------ data and models
def load_dataset(name: str, dim: int = 2, n_samples: int = 400, seed: int = 0):
    """A standardised classification data set: ``(X float32 (n, dim), y int64 (n,), n_classes)``.

    ``"moons"``: scikit-learn's two moons (noise 0.15), 2-D (``dim`` must be 2).
    ``"digits"``: scikit-learn's bundled 8x8 digits (1,797 images, no download) projected by PCA
    to ``dim`` components; ``n_samples`` is ignored.
    """
    from sklearn.datasets import load_digits, make_moons
    from sklearn.decomposition import PCA
    if name == "moons":
        if dim != 2:
            raise NNCellsError("the moons data set is 2-D")
        X, y = make_moons(n_samples=n_samples, noise=0.15, random_state=seed)
    elif name == "digits":
        data = load_digits()
        X = PCA(n_components=dim, random_state=seed).fit_transform(data.data)
        y = data.target
    else:
        raise NNCellsError(f"unknown data set {name!r}; choose from {', '.join(DATASETS)}")
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X.astype(np.float32), y.astype(np.int64), int(y.max()) + 1


def bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The ``(n_out, n_in)`` matrix of 1-D linear interpolation from ``n_in`` to ``n_out`` samples
    (pixel centres aligned, edges clamped: what image libraries call bilinear resizing with
    ``align_corners=False``). Each row is a convex combination, so values stay in their range.

    Examples
    --------
    >>> from nncells.experiments.common import bilinear_matrix
    >>> U = bilinear_matrix(2, 4)
    >>> U.tolist()
    [[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]]
    >>> bool((bilinear_matrix(8, 28).sum(axis=1) == 1).all())
    True
    """
    U = np.zeros((n_out, n_in))
    for i in range(n_out):
        s = min(max((i + 0.5) * n_in / n_out - 0.5, 0.0), n_in - 1.0)
        lo = int(np.floor(s))
        hi, t = min(lo + 1, n_in - 1), s - lo
        U[i, lo] += 1.0 - t
        U[i, hi] += t
    return U


def load_digits28(size: int = 28):
    """scikit-learn's bundled 8x8 digits (1,797 images, values 0..16, no download) resized
    bilinearly to ``size x size`` and scaled to [0, 1]: a stand-in for EMNIST's 28x28 inputs in
    [0, 1] (``size**2`` = 784 features). Deterministic.

    Returns
    -------
    ``(X float32 (1797, size**2), y int64 (1797,), n_classes)``; row-major pixels.

    Examples
    --------
    >>> from nncells.experiments.common import load_digits28
    >>> X, y, n_classes = load_digits28()
    >>> X.shape, n_classes, float(X.min()), float(X.max())
    ((1797, 784), 10, 0.0, 1.0)
    """
    from sklearn.datasets import load_digits
    data = load_digits()
    U = bilinear_matrix(data.images.shape[1], size)
    X = np.einsum("ij,njk,lk->nil", U, data.images / 16.0, U).reshape(len(data.images), -1)
    return np.clip(X, 0.0, 1.0).astype(np.float32), data.target.astype(np.int64), int(data.target.max()) + 1


def make_mlp(input_dim: int, widths, n_out: int, seed: int = 0):
    """``nn.Sequential`` of Linear + ReLU layers (PyTorch's default initialisation, seeded)."""
    import torch
    from torch import nn
    torch.manual_seed(seed)
    layers, d = [], input_dim
    for w in widths:
        layers += [nn.Linear(d, w), nn.ReLU()]
        d = w
    layers.append(nn.Linear(d, n_out))
    return nn.Sequential(*layers)


def train(model, X, y, epochs: int, *, lr: float = 1e-2, batch_size: int = 64, seed: int = 0,
          on_epoch=None) -> list[dict]:
    """Train with Adam and cross-entropy on the CPU; ``on_epoch(epoch, model)`` is called before
    training (epoch 0) and after every epoch. Returns per-epoch ``loss`` and ``accuracy``."""
    import torch
    from torch import nn
    gen = torch.Generator().manual_seed(seed)
    Xt, yt = torch.as_tensor(X), torch.as_tensor(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    history = []

    def record(epoch):
        with torch.no_grad():
            out = model(Xt)
            history.append({"epoch": epoch, "loss": float(loss_fn(out, yt)),
                            "accuracy": float((out.argmax(1) == yt).float().mean())})
        if on_epoch is not None:
            on_epoch(epoch, model)

    record(0)
    for epoch in range(1, epochs + 1):
        model.train()
        for idx in torch.randperm(len(Xt), generator=gen).split(batch_size):
            opt.zero_grad()
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()
        model.eval()
        record(epoch)
    return history


def to_network(model):
    """The exact `Network` of a torch model (verified against its forward pass)."""
    from nncells.models.torch import from_torch
    return from_torch(model)


# ------------------------------------------------------------------ files
def write_csv(path, rows: list[dict]) -> Path:
    """Rows (dicts with the same keys) to CSV."""
    path = Path(path)
    if not rows:
        raise NNCellsError(f"no rows to write to {path}")
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _parse(v: str):
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return {"True": True, "False": False, "": None}.get(v, v)


def read_csv(path) -> list[dict]:
    """CSV rows as dicts, numbers parsed (ints stay exact, so huge bounds survive)."""
    with open(path, newline="") as f:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(f)]


def write_json(path, obj) -> Path:
    path = Path(path)
    path.write_text(json.dumps(obj, indent=1, default=_json_default) + "\n")
    return path


def read_json(path):
    return json.loads(Path(path).read_text())


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


def fmt(v) -> str:
    """A table cell: ints exactly (huge ones in scientific notation), floats to 4 significant digits."""
    if v is None:
        return "-"
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v)) if abs(int(v)) < 10 ** 12 else f"{float(v):.4g}"
    if isinstance(v, (float, np.floating)):
        return "nan" if np.isnan(v) else f"{float(v):.4g}"
    return str(v)


def md_table(rows: list[dict], columns=None) -> str:
    """A Markdown table of ``rows`` (the ``columns`` given, or all keys)."""
    if not rows:
        return "(no rows)\n"
    columns = list(columns or rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def parse_md_tables(text: str) -> list[list[dict]]:
    """The Markdown tables of a report, as lists of row dicts (cells parsed like `read_csv`)."""
    tables, cur = [], None
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if cur is None:
                cur = {"header": cells, "rows": []}
            elif not all(set(c) <= set("-:") for c in cells):
                cur["rows"].append({h: _parse(c) for h, c in zip(cur["header"], cells)})
        elif cur is not None:
            tables.append(cur["rows"])
            cur = None
    if cur is not None:
        tables.append(cur["rows"])
    return tables
