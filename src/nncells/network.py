"""The `Network`: dense affine layers in float64 with ReLU between them."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .errors import NNCellsError


@dataclass(frozen=True)
class Network:
    """A feed-forward ReLU network ``f(x) = W_L relu(... relu(W_1 x + b_1) ...) + b_L``.

    Parameters
    ----------
    weights : sequence of arrays shaped (out, in) (PyTorch's convention)
    biases : sequence of arrays shaped (out,)

    ReLU follows every layer except the last. A hidden neuron is *active* iff its
    pre-activation is > 0. Activation patterns concatenate the hidden layers in order.
    """

    weights: tuple
    biases: tuple
    _fingerprint: str = field(default="", repr=False, compare=False)

    def __init__(self, weights, biases):
        weights = list(weights)
        biases = list(biases)
        if len(weights) == 0:
            raise NNCellsError("empty network: at least one layer is needed")
        if len(weights) != len(biases):
            raise NNCellsError(f"{len(weights)} weight matrices but {len(biases)} bias vectors")
        Ws, bs = [], []
        for i, (W, b) in enumerate(zip(weights, biases)):
            W = np.array(W, dtype=np.float64, copy=True)
            b = np.array(b, dtype=np.float64, copy=True).reshape(-1)
            if W.ndim != 2:
                raise NNCellsError(f"layer {i}: weight must be a 2-D (out, in) matrix, got shape {W.shape}")
            if W.shape[0] == 0 or W.shape[1] == 0:
                raise NNCellsError(f"layer {i}: weight matrix has an empty shape {W.shape}")
            if b.shape[0] != W.shape[0]:
                raise NNCellsError(f"layer {i}: bias has {b.shape[0]} entries but weight has {W.shape[0]} rows")
            if i > 0 and W.shape[1] != Ws[-1].shape[0]:
                raise NNCellsError(
                    f"layer {i}: weight expects {W.shape[1]} inputs but layer {i - 1} has {Ws[-1].shape[0]} outputs")
            if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
                raise NNCellsError(f"layer {i}: weights or biases contain NaN or inf")
            W.setflags(write=False)
            b.setflags(write=False)
            Ws.append(W)
            bs.append(b)
        object.__setattr__(self, "weights", tuple(Ws))
        object.__setattr__(self, "biases", tuple(bs))
        h = hashlib.sha256()
        for W, b in zip(Ws, bs):
            h.update(np.asarray(W.shape, dtype=np.int64).tobytes())
            h.update(W.tobytes())
            h.update(b.tobytes())
        object.__setattr__(self, "_fingerprint", h.hexdigest())

    # ----------------------------------------------------------------- shape
    @property
    def input_dim(self) -> int:
        return self.weights[0].shape[1]

    @property
    def output_dim(self) -> int:
        return self.weights[-1].shape[0]

    @property
    def widths(self) -> list[int]:
        """Widths of the hidden layers."""
        return [W.shape[0] for W in self.weights[:-1]]

    @property
    def n_hidden(self) -> int:
        """Total number of hidden neurons (the length of an activation pattern)."""
        return int(sum(self.widths))

    @property
    def layer_slices(self) -> list[slice]:
        """Slice of the pattern belonging to each hidden layer."""
        out, start = [], 0
        for w in self.widths:
            out.append(slice(start, start + w))
            start += w
        return out

    @property
    def fingerprint(self) -> str:
        """SHA-256 of shapes and weights: identifies the network in manifests."""
        return self._fingerprint

    def __repr__(self) -> str:
        dims = [self.input_dim] + self.widths + [self.output_dim]
        return f"Network({'-'.join(map(str, dims))})"

    # ---------------------------------------------------------------- values
    def _check_points(self, X) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        single = X.ndim == 1
        X = np.atleast_2d(X)
        if X.shape[1] != self.input_dim:
            raise NNCellsError(f"points have dimension {X.shape[1]}, the network expects {self.input_dim}")
        return X, single

    def preactivations(self, X) -> list[np.ndarray]:
        """Pre-activations of every hidden layer at points ``X`` (n, d): a list of (n, width)."""
        X, _ = self._check_points(X)
        out, h = [], X
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            z = h @ W.T + b
            out.append(z)
            h = np.maximum(z, 0.0)
        return out

    def forward(self, X) -> np.ndarray:
        """Network output at ``X``: (n, out), or (out,) for a single point."""
        X, single = self._check_points(X)
        h = X
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            h = np.maximum(h @ W.T + b, 0.0)
        y = h @ self.weights[-1].T + self.biases[-1]
        return y[0] if single else y

    __call__ = forward

    def pattern(self, X) -> np.ndarray:
        """Activation patterns (n, n_hidden) bool at ``X`` (active iff pre-activation > 0)."""
        X, single = self._check_points(X)
        zs = self.preactivations(X)
        P = np.concatenate(zs, axis=1) > 0 if zs else np.zeros((len(X), 0), dtype=bool)
        return P[0] if single else P

    # ------------------------------------------------------ local affine maps
    def layer_maps(self, pattern) -> list[tuple[np.ndarray, np.ndarray]]:
        """Affine maps ``x -> M x + m`` from the input to each hidden layer's
        pre-activation on the region with activation ``pattern``."""
        pattern = np.asarray(pattern, dtype=bool)
        if pattern.shape != (self.n_hidden,):
            raise NNCellsError(f"pattern has shape {pattern.shape}, expected ({self.n_hidden},)")
        M = np.eye(self.input_dim)
        m = np.zeros(self.input_dim)
        maps = []
        for (W, b), sl in zip(zip(self.weights[:-1], self.biases[:-1]), self.layer_slices):
            Z, z = W @ M, W @ m + b
            maps.append((Z, z))
            s = pattern[sl]
            M, m = Z * s[:, None], z * s
        return maps

    def local_affine(self, pattern) -> tuple[np.ndarray, np.ndarray]:
        """The affine map ``(A, c)`` with ``f(x) = A x + c`` on the region of ``pattern``."""
        maps = self.layer_maps(pattern)
        if maps:
            Z, z = maps[-1]
            s = np.asarray(pattern, dtype=bool)[self.layer_slices[-1]]
            M, m = Z * s[:, None], z * s
        else:
            M, m = np.eye(self.input_dim), np.zeros(self.input_dim)
        return self.weights[-1] @ M, self.weights[-1] @ m + self.biases[-1]

    def region_halfspaces(self, pattern) -> tuple[np.ndarray, np.ndarray]:
        """Half-spaces ``G x <= h`` (without the domain) whose interior is the open region of ``pattern``.

        Active neurons give ``-(a x + c) <= 0``, inactive ones ``a x + c <= 0``.
        """
        maps = self.layer_maps(pattern)
        pattern = np.asarray(pattern, dtype=bool)
        if not maps:
            return np.zeros((0, self.input_dim)), np.zeros(0)
        Z = np.concatenate([M for M, _ in maps])
        z = np.concatenate([m for _, m in maps])
        sign = np.where(pattern, -1.0, 1.0)
        return Z * sign[:, None], -z * sign

    # -------------------------------------------------------------- storage
    @classmethod
    def from_npz(cls, path) -> "Network":
        from .io.npz import load_npz
        return load_npz(path)

    def to_npz(self, path) -> None:
        arrays = {}
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            arrays[f"W{i}"] = W
            arrays[f"b{i}"] = b
        np.savez(path, **arrays)

    def scaled(self, factor: float) -> "Network":
        """A copy with every weight and bias multiplied by ``factor`` (the first
        layer's hyperplanes are unchanged; used in numerical tests)."""
        return Network([W * factor for W in self.weights], [b * factor for b in self.biases])


def random_network(dims, seed=0, bias_scale=1.0) -> Network:
    """A random network with layer sizes ``dims = [in, h1, ..., out]`` (Gaussian weights, He scale)."""
    rng = np.random.default_rng(seed)
    Ws, bs = [], []
    for a, b in zip(dims[:-1], dims[1:]):
        Ws.append(rng.normal(size=(b, a)) * np.sqrt(2.0 / a))
        bs.append(rng.normal(size=b) * bias_scale * np.sqrt(2.0 / a))
    return Network(Ws, bs)
