"""The face builder's shortcuts change nothing: an exact vertex reused from a nearby float vertex
(`Builder.near`) only where it is provably the same point, and the lattice's refusals
(`nncells.results._lattice` statuses) as one-line errors."""
from __future__ import annotations

import numpy as np
import pytest

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
