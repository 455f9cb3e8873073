"""The face lattice of a polytope from its vertex-constraint incidences: the compiled core
(`nncells.kernels.lattice`) against its twin (`nncells.results._lattice`), both against closed
formulas (cubes, cross-polytopes, simplices, prisms) and qhull's facets of random polytopes."""
from itertools import product
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import ConvexHull

from nncells import kernels
from nncells.results import _lattice

native = pytest.mark.skipif(not kernels.native_available(), reason="the compiled core is not built")


def incidences(V, A, b):
    """Bit sets of the constraints ``A x <= b`` vanishing at each vertex (exact for these inputs)."""
    Z = np.isclose(V @ A.T, b[None, :], atol=1e-9)
    return [sum(1 << int(j) for j in np.flatnonzero(z)) for z in Z]


def cube(d):
    V = np.array(list(product([0.0, 1.0], repeat=d)))
    A = np.concatenate([np.eye(d), -np.eye(d)])
    return V, A, np.concatenate([np.ones(d), np.zeros(d)])


def cross(d):
    V = np.concatenate([np.eye(d), -np.eye(d)])
    A = np.array(list(product([-1.0, 1.0], repeat=d)))
    return V, A, np.ones(len(A))


def simplex(d):
    V = np.concatenate([np.zeros((1, d)), np.eye(d)])
    A = np.concatenate([-np.eye(d), np.ones((1, d))])
    return V, A, np.concatenate([np.zeros(d), [1.0]])


def both(zero, d):
    twin = _lattice.lattice(zero, d)
    if kernels.native_available():
        from nncells.kernels.lattice import lattice
        assert lattice(zero, d) == twin
    return twin


@pytest.mark.parametrize("d", [2, 3, 4, 5])
def test_closed_formulas(d):
    for make, f in [(cube, lambda k: 2 ** (d - k) * comb(d, k)),
                    (cross, lambda k: 2 ** (k + 1) * comb(d, k + 1) if k < d else 1),
                    (simplex, lambda k: comb(d + 1, k + 1))]:
        faces, dims, inc, chi, status = both(incidences(*make(d)), d)
        assert status == _lattice.OK and chi == 1
        assert np.bincount(dims, minlength=d + 1).tolist() == [f(k) for k in range(d + 1)]
        # each incidence joins dimensions k and k + 1, and a face's vertices are its coface's
        for g, c in inc:
            assert dims[c] == dims[g] + 1 and faces[g] & faces[c] == faces[g]
        # a k-face (k >= 1) has at least k + 1 facets; an edge exactly two endpoints
        nf = np.bincount([c for _, c in inc], minlength=len(faces))
        assert all(nf[i] == 2 for i in range(len(faces)) if dims[i] == 1)


def test_prism_and_redundant_constraints():
    """A triangular prism (non-simple faces: squares), with a constraint tight at one vertex only
    and a facet given twice: the same lattice as without them."""
    tri = np.array([[0.0, 0], [1, 0], [0, 1]])
    V = np.array([[x, y, z] for z in (0.0, 1.0) for x, y in tri])
    A = np.array([[0.0, -1, 0], [-1, 0, 0], [1, 1, 0], [0, 0, -1], [0, 0, 1]])
    b = np.array([0.0, 0, 1, 0, 1])
    plain = both(incidences(V, A, b), 3)
    assert np.bincount(plain[1]).tolist() == [6, 9, 5, 1]
    A2 = np.concatenate([A, [[1.0, 1, 1]], A[:1]])   # x + y + z <= 2: tight on an edge; a facet twice
    b2 = np.concatenate([b, [2.0], b[:1]])
    A3 = np.concatenate([A2, [[2.0, 1, 1]]])         # 2x + y + z <= 3: tight at (1, 0, 1) only
    b3 = np.concatenate([b2, [3.0]])
    for Ax, bx in [(A2, b2), (A3, b3)]:
        got = both(incidences(V, Ax, bx), 3)
        assert got[1] == plain[1] and got[0] == plain[0] and got[3:] == plain[3:]


@settings(max_examples=40, deadline=None)
@given(d=st.integers(2, 5), n=st.integers(0, 12), seed=st.integers(0, 2 ** 16))
def test_random_polytopes_against_qhull(d, n, seed):
    rng = np.random.default_rng(seed)
    P = rng.normal(size=(d + 1 + n, d))
    hull = ConvexHull(P)
    V = P[hull.vertices]
    # qhull's facets (merged: one per distinct hyperplane), as A x <= b
    eq = np.unique(np.round(hull.equations, 9), axis=0)
    zero = incidences(V, eq[:, :d], -eq[:, d])
    order = rng.permutation(len(V))
    faces, dims, inc, chi, status = both([zero[i] for i in order], d)
    assert status == _lattice.OK and chi == 1
    assert np.bincount(dims, minlength=d + 1)[d - 1] == len(eq)
    assert np.bincount(dims, minlength=d + 1)[0] == len(V)


def test_statuses():
    assert both([1, 2], 2)[4] == _lattice.TOO_FEW_VERTICES
    # four "vertices" where the constraints pair them up as two disjoint edges: not a polygon
    assert both([0b01, 0b01, 0b10, 0b10], 2)[4] == _lattice.NOT_A_POLYTOPE
    # a pentagon's incidences with one vertex on no constraint: its Euler characteristic fails
    pent = [0b10001, 0b00011, 0b00110, 0b01100, 0b11000]
    assert both(pent, 2)[4] == _lattice.OK
    assert both(pent[:4] + [0], 2)[4] != _lattice.OK
    # a constraint vanishing at one vertex only, contained in no other set: a vertex as an edge
    faces, dims, _, _, status = both([0b001, 0b001, 0b010, 0b100], 2)
    assert status == _lattice.VERTEX_ABOVE_0 and dims[-1] == 1 and bin(faces[-1]).count("1") == 1


@native
def test_the_core_refuses_more_than_64_vertices():
    from nncells.kernels._native import face_lattice
    with pytest.raises(ValueError, match="64"):
        face_lattice(np.zeros((65, 1), np.uint64), 3)
