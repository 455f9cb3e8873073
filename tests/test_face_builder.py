"""The face builder's shortcuts change nothing: an exact vertex reused from a nearby float vertex
(`Builder.near`) only where it is provably the same point, and the lattice's refusals
(`nncells.results._lattice` statuses) as one-line errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nncells import Box, _config, enumerate_regions, kernels, random_network
from nncells.errors import NNCellsError
from nncells.results import _face_builder, _lattice, _near_rows
from nncells.results.faces import face_poset


def canon(p):
    """A poset up to the numbering of its faces: its faces' keys and dimensions, its incidences
    as pairs of keys, its faces' vertices as sets of keys."""
    K = [r.tobytes() for r in p.keys]
    return (sorted(zip(K, p.dim.tolist())), sorted((K[f], K[c]) for f, c in p.incidence),
            sorted((K[i], tuple(sorted(K[v] for v in p.vertices[i]))) for i in range(len(K))))


def result(d=3):
    return enumerate_regions(random_network([d, 7, 6, 1], seed=2), Box(-2.0, 2.0, dim=d), workers=1)


def spy_init(monkeypatch, near):
    init = _face_builder.Builder.__init__

    def wrapped(self, *a, **k):
        init(self, *a, **k)
        self.near = near()
    monkeypatch.setattr(_face_builder.Builder, "__init__", wrapped)


class Nowhere(dict):
    """A memo that never proposes a point."""

    def get(self, cell, default=None):
        return default


class Everywhere(dict):
    """A memo that proposes every vertex found so far, wherever the float vertex is."""

    def get(self, cell, default=None):
        return [e for there in self.values() for e in there] or default


@pytest.mark.parametrize("d", [2, 3, 4])
def test_vertices_found_nearby_save_solves_and_change_nothing(monkeypatch, d):
    res = result(d)
    solves = []
    solve = _face_builder.Builder._solve
    monkeypatch.setattr(_face_builder.Builder, "_solve", lambda self, *a: solves.append(1) or solve(self, *a))
    memo = face_poset(res)
    with_memo = len(solves)
    solves.clear()
    spy_init(monkeypatch, Nowhere)
    plain = face_poset(res)
    assert canon(memo) == canon(plain)
    assert with_memo < len(solves)


def test_a_point_proposed_everywhere_is_taken_only_where_it_is_the_vertex(monkeypatch):
    """Every exact vertex offered for every float vertex: each offer is checked (the chosen rows
    vanish there, they are independent, the point is in the region's closure), so the poset is
    the same; without those checks it would not be."""
    res = result(3)
    plain = face_poset(res)
    spy_init(monkeypatch, Everywhere)
    assert canon(face_poset(res)) == canon(plain)


@pytest.mark.parametrize("status, message", [(_lattice.TOO_FEW_VERTICES, "fewer than"),
                                             (_lattice.NOT_GRADED, "not graded"),
                                             (_lattice.NOT_A_POLYTOPE, "Euler characteristic"),
                                             (_lattice.VERTEX_ABOVE_0, "a vertex at dimension")])
@pytest.mark.parametrize("backend", ["numpy"] + (["native"] if kernels.native_available() else []))
def test_a_lattice_refused_is_a_one_line_error(monkeypatch, status, message, backend):
    monkeypatch.delenv("NNCELLS_BACKEND", raising=False)
    monkeypatch.setattr(_config, "BACKEND", backend)
    res = result(3)

    def refused(zero, d):
        return [(1 << len(zero)) - 1, 1], [d, 1], [], 0, status
    monkeypatch.setattr(_lattice, "lattice", refused)
    monkeypatch.setattr(_face_builder, "compiled_lattice", refused)
    with pytest.raises(NNCellsError, match=message) as e:
        face_poset(res)
    assert "\n" not in str(e.value)


@pytest.mark.skipif(not kernels.native_available(), reason="the compiled core is not built")
def test_the_twin_and_the_core_give_the_same_poset(monkeypatch):
    res = result(4)
    native = face_poset(res)
    monkeypatch.delenv("NNCELLS_BACKEND", raising=False)
    monkeypatch.setattr(_config, "BACKEND", "numpy")
    twin = face_poset(res)
    assert native.f_vector().tolist() == twin.f_vector().tolist()
    assert (native.keys == twin.keys).all() and (native.incidence == twin.incidence).all()


def test_nearest_rows_are_the_first_of_a_stable_sort():
    rng = np.random.default_rng(0)
    for m, k in [(500, 5), (6, 9), (300, 300), (400, 1), (50, 3)]:
        dist = rng.integers(0, 6, size=(m, 4)).astype(float)     # many ties
        want = np.argsort(dist, axis=0, kind="stable").T
        got = _near_rows.nearest(dist, k)
        assert got.shape[1] >= min(k, m) and np.array_equal(got, want[:, :got.shape[1]])


@pytest.mark.parametrize("d", [2, 3])
def test_only_the_nearest_row_sorted_changes_nothing(monkeypatch, d):
    """With a single row sorted per float vertex, every vertex's independent rows come from the
    whole order (`more`): the same poset."""
    res = result(d)
    full = face_poset(res)
    calls = []
    nearest = _face_builder.nearest
    monkeypatch.setattr(_near_rows, "_SORT_ALL", 0)
    monkeypatch.setattr(_face_builder, "nearest", lambda dist, k: calls.append(k) or nearest(dist, 1))
    monkeypatch.setattr(_face_builder, "_SPARE", 0)
    assert canon(face_poset(res)) == canon(full)
    assert calls


@settings(max_examples=300, deadline=None)
@given(st.integers(2, 4), st.integers(0, 3), st.data())
def test_float_rows_prove_independence_only_of_nonsingular_matrices(d, dependent, data):
    """`proven_independent` on the float rows of an integer matrix (made unit, rounded) and a
    perturbation within its bound ``E``: it never proves a singular matrix independent, and
    proves the well-conditioned ones; the perturbation's bound counts (a singular matrix moved
    by 1e-6 is not proven)."""
    from fractions import Fraction
    from nncells.results._exact import det
    big = data.draw(st.sampled_from([2 ** 10, 2 ** 62]))
    A = [[data.draw(st.integers(-big, big)) for _ in range(d)] for _ in range(d)]
    if dependent and d > 1:                  # the last row a combination of the others
        A[-1] = [sum(data.draw(st.integers(-3, 3), label=f"c{k}") * A[k][j] for k in range(d - 1))
                 for j in range(d)]
    exact = [[Fraction(v) for v in row] for row in A]
    norms = [max(float(np.linalg.norm(np.array(row, dtype=float))), 1e-300) for row in A]
    U = np.array([[float(v / n) for v in row] for row, n in zip(exact, norms)])
    P = np.random.default_rng(data.draw(st.integers(0, 2 ** 32 - 1))).uniform(-1e-6, 1e-6, (d, d))
    E = np.full((d, d), 1e-6)
    for Um, Em in ((U, np.zeros((d, d))), (U + P, E)):
        proven = bool(_near_rows.proven_independent(Um[None], Em[None])[0])
        if det(A) == 0:
            assert not proven
        elif np.linalg.svd(Um, compute_uv=False)[-1] > 1e-3:
            assert proven


def test_independence_proven_in_float_changes_nothing(monkeypatch):
    """The vertices whose rows float64 proves independent skip the exact determinant; with no
    such proof (every determinant exact) the poset is the same, and more determinants are taken."""
    from nncells.results import _exact
    res = result(4)
    calls = []
    nonsingular = _exact.nonsingular
    monkeypatch.setattr(_face_builder, "nonsingular", lambda M: calls.append(1) or nonsingular(M))
    fast = face_poset(res)
    proven = len(calls)
    calls.clear()
    monkeypatch.setattr(_face_builder, "proven_independent", lambda U, E: np.zeros(len(U), bool))
    assert canon(face_poset(res)) == canon(fast)
    assert proven < len(calls)


def test_a_region_with_more_than_64_vertices():
    """A 70-gon (70 units tangent to the unit circle): its lattice is found beyond the compiled
    core's 64 vertices, with the same keys; the complex's Euler characteristic is 1."""
    from nncells import Network
    k = 70
    t = 2 * np.pi * (np.arange(k) + 0.5) / k
    net = Network([np.stack([np.cos(t), np.sin(t)], axis=1).tolist(), [[1.0] * k]], [[-1.0] * k, [0.0]])
    res = enumerate_regions(net, Box(-3.0, 3.0, dim=2), workers=1)
    poset = face_poset(res)
    assert np.all(res.patterns == 0, axis=1).sum() == 1          # the polygon: every unit off
    top = np.flatnonzero(poset.dim == 2)
    mid = top[np.argmin(np.abs(poset.points[top]).sum(axis=1))]
    assert len(poset.vertices[mid]) == k and poset.euler_characteristic() == 1
    assert np.all(poset.signs[mid] == -1) and len(res.patterns) == len(top)
    edges = poset.incidence[np.isin(poset.incidence[:, 1], [mid])][:, 0]
    assert len(edges) == k and np.all(poset.dim[edges] == 1)
