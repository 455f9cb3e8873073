"""`nncells.results._facets.cell_rows`, the batched pull-back (one matrix product a layer for all
cells): its rows within their error bounds of the exact rows (rational arithmetic), cell by cell."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from nncells import Network, random_network
from nncells.results._facets import cell_rows


def exact_rows(net, pattern):
    """Every hidden unit's pre-activation ``H x + g`` on the cell of ``pattern``, in rationals."""
    d = net.input_dim
    M = [[Fraction(int(i == j)) for j in range(d)] for i in range(d)]
    m = [Fraction(0)] * d
    H, g = [], []
    for layer, sl in enumerate(net.layer_slices):
        W, b = net.weights[layer], net.biases[layer]
        Hl = [[sum(Fraction(float(W[i, k])) * M[k][j] for k in range(len(M))) for j in range(d)] for i in range(len(W))]
        gl = [sum(Fraction(float(W[i, k])) * m[k] for k in range(len(m))) + Fraction(float(b[i])) for i in range(len(W))]
        H += Hl
        g += gl
        s = pattern[sl]
        M = [row if on else [Fraction(0)] * d for row, on in zip(Hl, s)]
        m = [v if on else Fraction(0) for v, on in zip(gl, s)]
    return H, g


def scaled(net, rng):
    """``net`` with each layer's weights and biases times its own power of two (2^-40 to 2^40)
    and a few weights zero: the same regions, rows far from the unit scale."""
    from nncells.network import Network
    Ws, bs = [], []
    for W, b in zip(net.weights, net.biases):
        s = 2.0 ** int(rng.integers(-40, 41))
        W = W * s * (rng.random(W.shape) > 0.1)
        Ws.append(W)
        bs.append(b * s)
    return Network(Ws, bs)


@pytest.mark.parametrize("dims, seed", [([3, 6, 5, 4], 0), ([2, 9, 7], 1), ([4, 3, 8, 2, 3], 2)])
@pytest.mark.parametrize("scale", [False, True])
def test_rows_within_their_bounds_of_the_exact_rows(dims, seed, scale):
    net = random_network(dims + [1], seed=seed)
    if scale:
        net = scaled(net, np.random.default_rng(seed + 10))
    rng = np.random.default_rng(seed)
    P = rng.random((7, sum(dims[1:]))) < 0.5
    P[0, net.layer_slices[0]] = False              # the next layer's rows vanish on this cell
    L = len(net.widths)
    H, g, zero, eH, eg = cell_rows(net, P, L, bounds=True)
    assert H.shape == (7, sum(dims[1:]), dims[0])
    for k in range(len(P)):
        Hx, gx = exact_rows(net, P[k])
        for i in range(len(Hx)):
            assert abs(Fraction(float(g[k, i])) - gx[i]) <= Fraction(float(eg[k, i]))
            for j in range(dims[0]):
                assert abs(Fraction(float(H[k, i, j])) - Hx[i][j]) <= Fraction(float(eH[k, i, j]))
            if all(v == 0 for v in Hx[i]):            # exactly constant: within the bound of 0
                assert zero[k, i]


def test_one_cell_and_many_agree():
    net = random_network([3, 40, 30, 20, 1], seed=3)
    P = np.random.default_rng(3).random((50, 90)) < 0.5
    H, g, zero = cell_rows(net, P, 3)
    for k in (0, 17, 49):
        h1, g1, z1 = cell_rows(net, P[k:k + 1], 3)
        assert np.allclose(h1[0], H[k], rtol=1e-12, atol=1e-12) and np.allclose(g1[0], g[k])
        assert np.array_equal(z1[0], zero[k])


def test_cells_sharing_a_prefix_get_their_own_rows():
    """Cells whose patterns agree on the first layers share those layers' products (one a group):
    each still gets the rows it gets alone, whichever cells come with it and in whatever order,
    including cells that differ only in a linear unit's bit (the same map)."""
    net = random_network([3, 12, 10, 8, 1], seed=5)
    net = Network(net.weights, net.biases, linear=[[False] * 11 + [True], [False] * 10, [False] * 8])
    rng = np.random.default_rng(5)
    base = rng.random((6, 30)) < 0.5
    P = base[rng.integers(0, 6, 40)]
    P[:, 22:] = rng.random((40, 8)) < 0.5          # the third layer's bits: each cell its own
    P[::3, 11] = ~P[::3, 11]                        # a linear unit's bit: no new map
    P[::7, 12:22] = rng.random((len(P[::7]), 10)) < 0.5
    got = cell_rows(net, P, 3, bounds=True)
    for k in range(len(P)):
        alone = cell_rows(net, P[k:k + 1], 3, bounds=True)
        for a, b in zip(got, alone):
            assert np.allclose(a[k], b[0], rtol=1e-12, atol=1e-15) if a.dtype != bool else np.array_equal(a[k], b[0])


@pytest.mark.parametrize("dims", [[2, 9, 8, 1], [3, 6, 1], [2, 5, 4, 3, 1]])
def test_the_face_builder_gets_the_regions_own_rows(dims):
    """`region_vertices` hands on each region's rows (the qhull path's final level, there taken
    from the cells of the level before): the rows `cell_rows` gives the region alone."""
    from nncells import Box, enumerate_regions
    from nncells.results.faces import region_vertices
    net = random_network(dims, seed=4)
    res = enumerate_regions(net, Box(-1.0, 1.0, dim=dims[0]), workers=1)
    some = np.arange(len(res.patterns))[::-3]                 # not in the result's order
    got = region_vertices(res, some)["rows"]
    want = cell_rows(net, np.asarray(res.patterns, dtype=bool)[some], len(net.widths), bounds=True)
    for a, b in zip(got, want):
        assert a.shape == b.shape
        assert np.allclose(a, b, rtol=1e-12, atol=1e-14) if a.dtype != bool else np.array_equal(a, b)
