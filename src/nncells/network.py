"""The `Network`: dense affine layers in float64 with ReLU (or pass-through) units between them.

A network as people build it (residual additions, concatenations, max-pooling, ReLU6) is a graph;
`nncells.models` compiles every supported graph into this layered form, where a hidden layer may
hold *linear* units beside its ReLU units: a linear unit passes its pre-activation on unchanged (a
skip connection carried across a layer, the linear part of a LeakyReLU or of ``max(a, b) = a +
relu(b - a)``). On a cell every unit is an affine function of the input, so only ReLU units cut.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from nncells import network_npz, network_pieces
from nncells.errors import ModelError, NNCellsError
from nncells.network_maps import LocalMaps


@dataclass(frozen=True, eq=False)
class Network(LocalMaps):
    """A feed-forward ReLU network ``f(x) = W_L relu(... relu(W_1 x + b_1) ...) + b_L``.

    Parameters
    ----------
    weights : sequence of arrays shaped (out, in) (PyTorch's convention)
    biases : sequence of arrays shaped (out,)
    linear : sequence of bool arrays, optional
        One per hidden layer (its width): True marks a *linear* (pass-through) unit, whose
        output is its pre-activation. Default: every hidden unit is a ReLU.
    ignored_output_ops : sequence of str, optional
        Operations after the last layer that a model loader dropped because they change no
        region (a final Softmax, Sigmoid or LogSoftmax); reported in summaries, not compared.
    tournaments : sequence of trees, optional
        Max-pooling windows of more than two entries compiled as tournaments of pairwise maxima
        (`nncells.network_pieces`): trees ``(position, left, right)`` of their comparison units.
        They do not change the function or its activation regions; they say which regions are
        pieces of one argmax region (`argmax_patterns`). Not compared.

    ReLU follows every layer except the last. A hidden neuron is *active* iff its
    pre-activation is > 0; a linear unit never cuts, and its bit in a pattern is always True.
    Activation patterns concatenate the hidden layers in order.

    The arrays are copied to float64 and made read-only; the network is immutable and compares equal
    to (and hashes like) another one with the same weights, biases and linear units: the same `fingerprint`.

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

    weights: tuple[npt.NDArray[np.float64], ...]
    biases: tuple[npt.NDArray[np.float64], ...]
    linear: tuple[npt.NDArray[np.bool_], ...] = ()
    ignored_output_ops: tuple[str, ...] = field(default=(), compare=False)
    tournaments: tuple[network_pieces.Tournament, ...] = field(default=(), compare=False, repr=False)
    _fingerprint: str = field(default="", repr=False, compare=False)

    def __init__(self, weights: Iterable[npt.ArrayLike], biases: Iterable[npt.ArrayLike], linear: Iterable[npt.ArrayLike]
                 | None = None, ignored_output_ops: Iterable[object] = (), tournaments: Iterable[object] = ()) -> None:
        weights, biases = list(weights), list(biases)
        if len(weights) == 0:
            raise ModelError("empty network: at least one layer is needed")
        if len(weights) != len(biases):
            raise ModelError(f"{len(weights)} weight matrices but {len(biases)} bias vectors")
        Ws: list[npt.NDArray[np.float64]] = []
        bs: list[npt.NDArray[np.float64]] = []
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
        masks = _linear_masks(linear, [W.shape[0] for W in Ws[:-1]])
        object.__setattr__(self, "weights", tuple(Ws))
        object.__setattr__(self, "biases", tuple(bs))
        object.__setattr__(self, "linear", masks)
        object.__setattr__(self, "ignored_output_ops", tuple(str(op) for op in ignored_output_ops))
        try:
            trees = network_pieces.check(tournaments, sum(len(m) for m in masks),
                                         np.concatenate(masks) if masks else np.zeros(0, bool))
        except ValueError as e:
            raise ModelError(str(e)) from None
        object.__setattr__(self, "tournaments", trees)
        h = hashlib.sha256()
        for W, b in zip(Ws, bs):
            h.update(np.asarray(W.shape, dtype=np.int64).tobytes())
            h.update(W.tobytes())
            h.update(b.tobytes())
        if self.has_linear:  # (a plain ReLU network keeps the fingerprint it always had)
            for mask in masks:
                h.update(b"linear" + mask.tobytes())
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
        return int(self.weights[0].shape[1])

    @property
    def output_dim(self) -> int:
        """Number of outputs (rows of the last weight matrix).

        Examples
        --------
        >>> random_network([3, 5, 2]).output_dim
        2
        """
        return int(self.weights[-1].shape[0])

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
    def has_linear(self) -> bool:
        """Whether any hidden unit is linear (pass-through).

        Examples
        --------
        >>> random_network([2, 3, 1]).has_linear
        False
        >>> Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0, 0], [0]], linear=[[False, True]]).has_linear
        True
        """
        return any(mask.any() for mask in self.linear)

    @property
    def linear_mask(self) -> np.ndarray:
        """(n_hidden,) bool: True at the pattern positions of linear units (their bit is always True).

        Examples
        --------
        >>> net = Network([[[1.0], [2.0]], [[1.0, 1.0]]], [[0, 0], [0]], linear=[[False, True]])
        >>> net.linear_mask.tolist(), net.n_relu
        ([False, True], 1)
        """
        return np.concatenate(self.linear) if self.linear else np.zeros(0, dtype=bool)

    @property
    def n_relu(self) -> int:
        """Number of hidden ReLU units: those that can cut a region (``n_hidden`` less the linear ones).

        Examples
        --------
        >>> random_network([2, 4, 3, 1]).n_relu
        7
        """
        return int(sum(int((~mask).sum()) for mask in self.linear))

    @property
    def relu_widths(self) -> list[int]:
        """Number of ReLU units in each hidden layer (`widths` less the linear units).

        Examples
        --------
        >>> Network([[[1.0], [2.0]], [[1.0, 1.0]]], [[0, 0], [0]], linear=[[False, True]]).relu_widths
        [1]
        """
        return [int((~mask).sum()) for mask in self.linear]

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

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Network) and other._fingerprint == self._fingerprint

    def __hash__(self) -> int:
        return hash(self._fingerprint)

    def __repr__(self) -> str:
        dims = [self.input_dim] + self.widths + [self.output_dim]
        n_lin = self.n_hidden - self.n_relu
        extra = f", {n_lin} linear unit{'s' if n_lin != 1 else ''}" if n_lin else ""
        return f"Network({'-'.join(map(str, dims))}{extra})"

    # ---------------------------------------------------------------- values
    def _check_points(self, X: npt.ArrayLike) -> tuple[np.ndarray, bool]:
        X = np.asarray(X, dtype=np.float64)
        single = X.ndim == 1
        X = np.atleast_2d(X)
        if X.shape[1] != self.input_dim:
            raise NNCellsError(f"points have dimension {X.shape[1]}, the network expects {self.input_dim}")
        return X, single

    def preactivations(self, X: npt.ArrayLike) -> list[np.ndarray]:
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
        for W, b, lin in zip(self.weights[:-1], self.biases[:-1], self.linear):
            z = h @ W.T + b
            out.append(z)
            h = _activate(z, lin)
        return out

    def forward(self, X: npt.ArrayLike) -> np.ndarray:
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
        h, single = self._check_points(X)
        for W, b, lin in zip(self.weights[:-1], self.biases[:-1], self.linear):
            h = _activate(h @ W.T + b, lin)
        y = h @ self.weights[-1].T + self.biases[-1]
        return y[0] if single else y

    __call__ = forward

    def pattern(self, X: npt.ArrayLike) -> np.ndarray:
        """Activation patterns (n, n_hidden) bool at ``X`` (active iff pre-activation > 0).

        A single point gives a pattern of shape (n_hidden,). A pre-activation of exactly 0
        counts as inactive. Linear units are always True.

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
        P = (np.concatenate(zs, axis=1) > 0) | self.linear_mask if zs else np.zeros((len(X), 0), dtype=bool)
        return P[0] if single else P

    # -------------------------------------------------------------- storage
    @classmethod
    def from_npz(cls, path: network_npz.NpzFile) -> "Network":
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
        return cls(*network_npz.read_arrays(path))

    def argmax_patterns(self, patterns: npt.ArrayLike) -> np.ndarray:
        """``patterns`` (n, n_hidden) with the comparison bits of max-pooling tournaments cleared
        off each winner's path (`nncells.network_pieces`): regions with equal results are pieces
        of one argmax region. Unchanged for a network without tournaments.

        Examples
        --------
        >>> net = random_network([2, 3, 1])
        >>> P = net.pattern([[0.1, 0.2], [0.5, -0.3]])
        >>> bool((net.argmax_patterns(P) == P).all())
        True
        """
        P = np.asarray(patterns, dtype=bool)
        return network_pieces.argmax_patterns(self.tournaments, P) if self.tournaments else P

    def to_npz(self, path: network_npz.NpzFile) -> None:
        """Save the network as an ``.npz`` archive readable by `from_npz` and `load_model`.

        Arrays are stored as ``W0, b0, W1, b1, ...`` (float64, W shaped (out, in)); a network
        with linear units also stores their masks ``L0, L1, ...`` (bool, one per hidden layer).
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
        network_npz.write_arrays(path, self.weights, self.biases, self.linear if self.has_linear else None,
                                 network_pieces.encode(self.tournaments) if self.tournaments else None)

    def scaled(self, factor: float) -> "Network":
        """A copy with every weight and bias multiplied by ``factor`` (the first layer's hyperplanes are
        unchanged; used in numerical tests).

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
        return Network([W * factor for W in self.weights], [b * factor for b in self.biases], self.linear,
                       self.ignored_output_ops, self.tournaments)

    def compose_input(self, B: npt.ArrayLike, shift: npt.ArrayLike | None = None) -> "Network":
        """The network ``y -> f(B y + shift)``: new coordinates for the input (a plane, a subspace).

        ``B`` is (input_dim, k); ``shift`` (input_dim,), zero by default.

        Examples
        --------
        >>> import numpy as np
        >>> net = random_network([3, 4, 1], seed=0)
        >>> B, s = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([0.1, 0.2, 0.3])
        >>> y = np.array([0.5, -0.25])
        >>> bool(np.allclose(net.compose_input(B, s).forward(y), net.forward(B @ y + s)))
        True
        """
        W0, b0 = self.weights[0], self.biases[0]
        b = b0 if shift is None else W0 @ np.asarray(shift, dtype=np.float64) + b0
        return Network([W0 @ np.asarray(B, dtype=np.float64)] + list(self.weights[1:]), [b] + list(self.biases[1:]),
                       self.linear, self.ignored_output_ops, self.tournaments)


def random_network(dims: Sequence[int], seed: int | np.random.Generator = 0, bias_scale: float = 1.0) -> Network:
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


def _linear_masks(linear: Iterable[npt.ArrayLike] | None, widths: list[int]) -> tuple[npt.NDArray[np.bool_], ...]:
    """Validated read-only masks of linear units, one per hidden layer."""
    linear = [np.zeros(w, dtype=bool) for w in widths] if linear is None else list(linear)
    if len(linear) != len(widths):
        raise ModelError(f"{len(linear)} masks of linear units for {len(widths)} hidden layers")
    out = []
    for i, (mask, w) in enumerate(zip(linear, widths)):
        mask = np.array(mask, dtype=bool, copy=True).reshape(-1)
        if mask.shape != (w,):
            raise ModelError(f"hidden layer {i}: mask of linear units has {mask.size} entries for {w} units")
        mask.setflags(write=False)
        out.append(mask)
    return tuple(out)


def _activate(z: np.ndarray, linear: np.ndarray) -> np.ndarray:
    """ReLU of the pre-activations ``z`` (n, width), linear units passed on unchanged."""
    h: np.ndarray = np.maximum(z, 0.0)
    if linear.any():
        h[:, linear] = z[:, linear]
    return h
