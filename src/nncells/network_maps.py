"""The affine maps of a network on one region: the `LocalMaps` part of `nncells.network.Network`."""
from __future__ import annotations

import numpy as np

from nncells.errors import NNCellsError


class LocalMaps:
    """Affine maps on the region of an activation pattern (a base of `nncells.network.Network`,
    which provides ``weights``, ``biases``, ``layer_slices``, ``linear_mask`` and the shapes)."""

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
        >>> from nncells.network import random_network
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
        >>> from nncells.network import Network, random_network
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

        Active neurons give ``-(a x + c) <= 0``, inactive ones ``a x + c <= 0``; a linear unit
        gives the row ``0 <= 0`` (it bounds nothing).

        Returns
        -------
        G : ndarray, shape (n_hidden, input_dim)
        h : ndarray, shape (n_hidden,)
            One row per hidden neuron, in pattern order.

        Examples
        --------
        >>> import numpy as np
        >>> from nncells.network import Network, random_network
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
        sign = np.where(pattern, -1.0, 1.0) * ~self.linear_mask
        return Z * sign[:, None], -z * sign
