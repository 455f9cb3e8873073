"""The core's two loops of a layer's pull-back (`nncells.kernels.vertex.pull_back`): row by row,
and along the units (taken below `kColumnsD` inputs). They give the same bits, zero weights, dead
inputs, signed zeros and infinities included, so the engine's decisions do not depend on the loop."""
from __future__ import annotations

import numpy as np
import pytest

from nncells import kernels

pytestmark = pytest.mark.skipif(not kernels.native_available(), reason="needs the compiled core")


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


@pytest.mark.parametrize("d, n1", [(1, 53), (2, 1100), (3, 53), (4, 300), (5, 1100), (6, 53), (7, 300), (8, 1100),
                                   (12, 300)])
def test_rows_and_columns_give_the_same_bits(d, n1):
    """Row by row (path 0), along the units (1: the AVX2 build where the CPU has it) and along
    the units in the baseline build (2), layers narrower and wider than a block of units."""
    from nncells.kernels.vertex import core_network, pull_back
    rng = np.random.default_rng(d)
    n0 = 37
    W1 = rng.normal(size=(n1, n0)) * np.exp2(rng.integers(-30, 30, size=(n1, n0)))
    W1[rng.random((n1, n0)) < 0.2] = 0.0
    W1[rng.random((n1, n0)) < 0.05] = -0.0
    net = core_network([rng.normal(size=(n0, d)), W1], [np.zeros(n0), rng.normal(size=n1)])
    for trial in range(4):
        M = rng.normal(size=(n0, d)) * np.exp2(rng.integers(-40, 40, size=(n0, d)))
        m = rng.normal(size=n0)
        M[rng.random(n0) < 0.4] = 0.0                    # inactive inputs
        m[M[:, 0] == 0.0] = 0.0
        if trial == 3:                                  # an infinite map where a weight is 0
            M[1, 0], m[2] = np.inf, -np.inf
        Mabs = np.abs(M) * (1 + rng.random((n0, d)))
        rows = pull_back(net, 1, M, m, Mabs, path=0)
        for path in ((1, 2) if d <= 8 else ()):
            for a, b in zip(rows, pull_back(net, 1, M, m, Mabs, path=path)):
                assert np.array_equal(bits(a), bits(b))
        assert np.array_equal(bits(pull_back(net, 1, M, m, Mabs)[0]), bits(rows[0]))
        assert np.all(np.isfinite(rows[0])) == (trial != 3)
        with np.errstate(invalid="ignore", over="ignore"):
            want = W1 @ M
        ok = np.isfinite(want)
        assert np.allclose(rows[0][ok], want[ok], rtol=1e-9, atol=1e-300)
    if d > 8:
        with pytest.raises(ValueError, match="at most"):
            pull_back(net, 1, M, m, Mabs, path=1)


def test_bad_shapes_are_refused():
    from nncells.kernels.vertex import core_network, pull_back
    net = core_network([np.eye(2), np.ones((3, 2))], [np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError):
        pull_back(net, 1, np.zeros((3, 2)), np.zeros(3), np.zeros((3, 2)))
    with pytest.raises(ValueError):
        pull_back(net, 0, np.zeros((2, 2)), np.zeros(2), np.zeros((2, 2)))
