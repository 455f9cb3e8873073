"""The `Network`: dense affine layers in float64 with ReLU between them."""
from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field

import numpy as np

from nncells.errors import ModelError, NNCellsError


@dataclass(frozen=True)
class Network:
    """A feed-forward ReLU network ``f(x) = W_L relu(... relu(W_1 x + b_1) ...) + b_L``.

    Parameters
    ----------
    weights : sequence of arrays shaped (out, in) (PyTorch's convention)
    biases : sequence of arrays shaped (out,)

    ReLU follows every layer except the last. A hidden neuron is *active* iff its
    pre-activation is > 0. Activation patterns concatenate the hidden layers in order.

    The arrays are copied to float64 and made read-only; the network is immutable and
    compares equal to another one with the same weights and biases.

    Raises
    ------
    ModelError
        If there are no layers, the shapes do not chain, or a value is NaN or inf.

    Examples
    --------
    ``f(x) = relu(x_1) + relu(x_2 - 1) + 0.5`` on R^2, with one hidden layer of width 2:

    >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, -1.0], [0.5]])
    >>> net
    Network(2-2-1)
    >>> net.forward([1.0, 2.0]).tolist()
    [2.5]
    >>> net.weights[0].dtype, net.weights[0].flags.writeable
    (dtype('float64'), False)
    """

    weights: tuple
    biases: tuple
    _fingerprint: str = field(default="", repr=False, compare=False)

    def __init__(self, weights, biases):
        weights = list(weights)
        biases = list(biases)
        if len(weights) == 0:
            raise ModelError("empty network: at least one layer is needed")
        if len(weights) != len(biases):
            raise ModelError(f"{len(weights)} weight matrices but {len(biases)} bias vectors")
        Ws, bs = [], []
        for i, (W, b) in enumerate(zip(weights, biases)):
            W = np.array(W, dtype=np.float64, copy=True)
            b = np.array(b, dtype=np.float64, copy=True).reshape(-1)
            if W.ndim != 2:
                raise ModelError(f"layer {i}: weight must be a 2-D (out, in) matrix, got shape {W.shape}")
            if W.shape[0] == 0 or W.shape[1] == 0:
                raise ModelError(f"layer {i}: weight matrix has an empty shape {W.shape}")
            if b.shape[0] != W.shape[0]:
                raise ModelError(f"layer {i}: bias has {b.shape[0]} entries but weight has {W.shape[0]} rows")
            if i > 0 and W.shape[1] != Ws[-1].shape[0]:
                raise ModelError(
                    f"layer {i}: weight expects {W.shape[1]} inputs but layer {i - 1} has {Ws[-1].shape[0]} outputs")
            if not (np.all(np.isfinite(W)) and np.all(np.isfinite(b))):
                raise ModelError(f"layer {i}: weights or biases contain NaN or inf")
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
        """Number of inputs (columns of the first weight matrix).

        Examples
        --------
        >>> random_network([3, 5, 2]).input_dim
        3
        """
        return self.weights[0].shape[1]

    @property
    def output_dim(self) -> int:
        """Number of outputs (rows of the last weight matrix).

        Examples
        --------
        >>> random_network([3, 5, 2]).output_dim
        2
        """
        return self.weights[-1].shape[0]

    @property
    def widths(self) -> list[int]:
        """Widths of the hidden layers (empty for a single affine layer).

        Examples
        --------
        >>> random_network([2, 4, 3, 1]).widths
        [4, 3]
        >>> random_network([2, 1]).widths
        []
        """
        return [W.shape[0] for W in self.weights[:-1]]

    @property
    def n_hidden(self) -> int:
        """Total number of hidden neurons (the length of an activation pattern).

        Examples
        --------
        >>> net = random_network([2, 4, 3, 1])
        >>> net.n_hidden, net.pattern([0.0, 0.0]).shape
        (7, (7,))
        """
        return int(sum(self.widths))

    @property
    def layer_slices(self) -> list[slice]:
        """Slice of the pattern belonging to each hidden layer.

        Examples
        --------
        >>> net = random_network([2, 4, 3, 1])
        >>> [(sl.start, sl.stop) for sl in net.layer_slices]
        [(0, 4), (4, 7)]
        >>> net.pattern([0.5, -0.5])[net.layer_slices[1]].shape
        (3,)
        """
        out, start = [], 0
        for w in self.widths:
            out.append(slice(start, start + w))
            start += w
        return out

    @property
    def fingerprint(self) -> str:
        """SHA-256 of shapes and weights: identifies the network in manifests.

        A hexadecimal string of 64 characters; equal networks have equal fingerprints.

        Examples
        --------
        >>> a, b = random_network([2, 3, 1], seed=0), random_network([2, 3, 1], seed=0)
        >>> len(a.fingerprint), a.fingerprint == b.fingerprint
        (64, True)
        >>> a.fingerprint == random_network([2, 3, 1], seed=1).fingerprint
        False
        """
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
        """Pre-activations of every hidden layer at points ``X`` (n, d): a list of (n, width).

        Parameters
        ----------
        X : array_like, shape (n, input_dim) or (input_dim,)
            Points; a single point is treated as one row.

        Returns
        -------
        list of ndarray
            One (n, width) array per hidden layer (empty without hidden layers).

        Examples
        --------
        >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, -1.0], [0.5]])
        >>> zs = net.preactivations([[1.0, 2.0], [-1.0, 0.0]])
        >>> len(zs), zs[0].tolist()
        (1, [[1.0, 1.0], [-1.0, -1.0]])
        """
        X, _ = self._check_points(X)
        out, h = [], X
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            z = h @ W.T + b
            out.append(z)
            h = np.maximum(z, 0.0)
        return out

    def forward(self, X) -> np.ndarray:
        """Network output at ``X``: (n, out), or (out,) for a single point.

        Calling the network, ``net(X)``, is the same as ``net.forward(X)``.

        Parameters
        ----------
        X : array_like, shape (n, input_dim) or (input_dim,)

        Returns
        -------
        ndarray, shape (n, output_dim) or (output_dim,)

        Raises
        ------
        NNCellsError
            If the points do not have ``input_dim`` coordinates.

        Examples
        --------
        >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, -1.0], [0.5]])
        >>> net.forward([[1.0, 2.0], [-1.0, 0.0]]).tolist()
        [[2.5], [0.5]]
        >>> net([1.0, 2.0]).shape
        (1,)
        """
        X, single = self._check_points(X)
        h = X
        for W, b in zip(self.weights[:-1], self.biases[:-1]):
            h = np.maximum(h @ W.T + b, 0.0)
        y = h @ self.weights[-1].T + self.biases[-1]
        return y[0] if single else y

    __call__ = forward

    def pattern(self, X) -> np.ndarray:
        """Activation patterns (n, n_hidden) bool at ``X`` (active iff pre-activation > 0).

        A single point gives a pattern of shape (n_hidden,). A pre-activation of exactly 0
        counts as inactive.

        Examples
        --------
        >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, -1.0], [0.5]])
        >>> net.pattern([1.0, 2.0]).tolist()
        [True, True]
        >>> net.pattern([[1.0, 0.5], [0.0, 3.0]]).tolist()
        [[True, False], [False, True]]
        """
        X, single = self._check_points(X)
        zs = self.preactivations(X)
        P = np.concatenate(zs, axis=1) > 0 if zs else np.zeros((len(X), 0), dtype=bool)
        return P[0] if single else P

    # ------------------------------------------------------ local affine maps
    def layer_maps(self, pattern) -> list[tuple[np.ndarray, np.ndarray]]:
        """Affine maps ``x -> M x + m`` from the input to each hidden layer's
        pre-activation on the region with activation ``pattern``.

        Parameters
        ----------
        pattern : array_like of bool, shape (n_hidden,)

        Returns
        -------
        list of (ndarray, ndarray)
            ``(M, m)`` per hidden layer, ``M`` shaped (width, input_dim) and ``m`` (width,).

        Examples
        --------
        On its own region, the maps reproduce `preactivations`:

        >>> import numpy as np
        >>> net = random_network([2, 4, 3, 1], seed=0)
        >>> x = np.array([0.3, -0.2])
        >>> maps = net.layer_maps(net.pattern(x))
        >>> [M.shape for M, m in maps]
        [(4, 2), (3, 2)]
        >>> all(np.allclose(M @ x + m, z[0]) for (M, m), z in zip(maps, net.preactivations(x)))
        True
        """
        pattern = np.asarray(pattern, dtype=bool)
        if pattern.shape != (self.n_hidden,):
            raise NNCellsError(f"pattern has shape {pattern.shape}, expected ({self.n_hidden},)")
        M = None  # the identity: the first layer's map is its own weights (no d x d product)
        m = np.zeros(self.input_dim)
        maps = []
        for (W, b), sl in zip(zip(self.weights[:-1], self.biases[:-1]), self.layer_slices):
            Z, z = (W + 0.0 if M is None else W @ M), W @ m + b
            maps.append((Z, z))
            s = pattern[sl]
            M, m = Z * s[:, None], z * s
        return maps

    def local_affine(self, pattern) -> tuple[np.ndarray, np.ndarray]:
        """The affine map ``(A, c)`` with ``f(x) = A x + c`` on the region of ``pattern``.

        Returns
        -------
        A : ndarray, shape (output_dim, input_dim)
        c : ndarray, shape (output_dim,)

        Examples
        --------
        >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, -1.0], [0.5]])
        >>> A, c = net.local_affine([True, False])   # f(x) = x_1 + 0.5 there
        >>> A.tolist(), c.tolist()
        ([[1.0, 0.0]], [0.5])
        >>> import numpy as np
        >>> x = np.array([1.0, 0.5])
        >>> bool(np.allclose(A @ x + c, net.forward(x)))
        True
        """
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

        Returns
        -------
        G : ndarray, shape (n_hidden, input_dim)
        h : ndarray, shape (n_hidden,)
            One row per hidden neuron, in pattern order.

        Examples
        --------
        >>> import numpy as np
        >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, -1.0], [0.5]])
        >>> G, h = net.region_halfspaces([True, False])   # x_1 >= 0 and x_2 <= 1
        >>> G.shape, h.shape
        ((2, 2), (2,))
        >>> bool(np.all(G @ [1.0, 0.5] <= h)), bool(np.all(G @ [1.0, 2.0] <= h))
        (True, False)
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
        """Read a network saved by `to_npz` (keys ``W0, b0, W1, b1, ...``, W shaped (out, in)).

        Examples
        --------
        >>> import tempfile, os
        >>> net = random_network([2, 3, 1], seed=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
        >>> net.to_npz(path)
        >>> Network.from_npz(path).fingerprint == net.fingerprint
        True
        """
        if not zipfile.is_zipfile(path):
            raise ModelError(f"{path}: not an .npz archive")
        try:
            with np.load(path, allow_pickle=False) as z:
                files = set(z.files)
                n = 0
                while f"W{n}" in files:
                    n += 1
                if n == 0:
                    raise ModelError(f"{path}: no arrays named W0, b0, W1, b1, ... in the .npz file")
                missing = [f"b{i}" for i in range(n) if f"b{i}" not in files]
                if missing:
                    raise ModelError(f"{path}: missing bias arrays {', '.join(missing)}")
                Ws = [z[f"W{i}"] for i in range(n)]
                bs = [z[f"b{i}"] for i in range(n)]
        except NNCellsError:
            raise
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
            raise ModelError(f"{path}: not a readable .npz model ({e})") from None
        return cls(Ws, bs)

    def to_npz(self, path) -> None:
        """Save the network as an ``.npz`` archive readable by `from_npz` and `load_model`.

        Arrays are stored as ``W0, b0, W1, b1, ...`` (float64, W shaped (out, in)).
        `numpy.savez` adds ``.npz`` to a ``path`` without that extension.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np
        >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
        >>> random_network([2, 3, 1]).to_npz(path)
        >>> with np.load(path) as z:
        ...     sorted(z.files), z["W0"].shape
        (['W0', 'W1', 'b0', 'b1'], (3, 2))
        """
        arrays = {}
        for i, (W, b) in enumerate(zip(self.weights, self.biases)):
            arrays[f"W{i}"] = W
            arrays[f"b{i}"] = b
        np.savez(path, **arrays)

    def scaled(self, factor: float) -> "Network":
        """A copy with every weight and bias multiplied by ``factor`` (the first
        layer's hyperplanes are unchanged; used in numerical tests).

        For ``factor > 0`` the first hidden layer's activation pattern is unchanged.

        Examples
        --------
        >>> import numpy as np
        >>> net = random_network([2, 3, 1], seed=0)
        >>> big = net.scaled(10.0)
        >>> bool(np.allclose(big.weights[0], 10.0 * net.weights[0]))
        True
        >>> x = np.array([0.4, -0.7])
        >>> bool(np.array_equal(big.pattern(x), net.pattern(x)))
        True
        """
        return Network([W * factor for W in self.weights], [b * factor for b in self.biases])


def random_network(dims, seed=0, bias_scale=1.0) -> Network:
    """A random network with layer sizes ``dims = [in, h1, ..., out]`` (Gaussian weights, He scale).

    Parameters
    ----------
    dims : sequence of int
        Input size, hidden widths, output size (at least two entries).
    seed : int or numpy.random.Generator
        Seed for `numpy.random.default_rng`; the same seed gives the same network.
    bias_scale : float
        Multiplies the standard deviation of the biases (``0`` gives zero biases).

    Returns
    -------
    Network

    Examples
    --------
    >>> net = random_network([2, 8, 8, 1], seed=3)
    >>> net, net.n_hidden
    (Network(2-8-8-1), 16)
    >>> net.fingerprint == random_network([2, 8, 8, 1], seed=3).fingerprint
    True
    >>> bool(abs(random_network([2, 3, 1], bias_scale=0.0).biases[0]).max() == 0)
    True
    """
    rng = np.random.default_rng(seed)
    Ws, bs = [], []
    for a, b in zip(dims[:-1], dims[1:]):
        Ws.append(rng.normal(size=(b, a)) * np.sqrt(2.0 / a))
        bs.append(rng.normal(size=b) * bias_scale * np.sqrt(2.0 / a))
    return Network(Ws, bs)
