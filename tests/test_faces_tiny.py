"""The face poset where qhull's float vertices of a region are not its vertices: two vertices a
short edge apart proposed as one (as qhull gives them where the edge is below the contract's
threshold beside a thin region, or within its precision), so the float proposals miss a vertex.
In two dimensions the region's polygon is then made exactly from its rows
(`nncells.results._polygon`): the same poset as from the true vertices."""
from __future__ import annotations

import numpy as np
import pytest

from nncells import Box, Network, enumerate_regions
from nncells.errors import NNCellsError
from nncells.results import _polygon, faces
from nncells.results.faces import face_poset

EPS = 1e-6     # x = 1/2, y = 1/2 and x + y = 1 + EPS: a thin triangle, short edges beside it


def _net():
    return Network([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]], [[1.0, 1.0, 1.0, 1.0]]],
                   [[-0.5, -0.5, -1.0 - EPS, 0.1], [0.0]])


def _merged(real):
    """`region_vertices` with every two vertices of a region closer than 1e-4 proposed as one
    (their midpoint) where the region is large: the failure of the 1250-1250 network's region."""
    def wrapper(result, regions):
        vt = dict(real(result, regions))
        V, VR = vt["vertex"], vt["vertex_region"]
        keep = np.ones(len(V), bool)
        V = V.copy()
        for r in np.unique(VR):
            idx = np.flatnonzero(VR == r)
            if np.ptp(V[idx], axis=0).max() < 0.1:
                continue
            for a in idx:
                for b in idx:
                    if a < b and keep[a] and keep[b] and np.abs(V[a] - V[b]).max() < 1e-4:
                        V[a], keep[b] = (V[a] + V[b]) / 2, False
        vt["vertex"], vt["vertex_region"] = V[keep], VR[keep]
        return vt
    return wrapper


def test_merged_vertices_give_the_exact_polygon(monkeypatch):
    res = enumerate_regions(_net(), Box(-1.0, 1.0, dim=2), workers=1)
    plain = face_poset(res)
    assert plain.euler_characteristic() == 1
    real, merged = faces.region_vertices, _merged(faces.region_vertices)
    every = np.arange(len(res.patterns))
    assert len(merged(res, every)["vertex"]) < len(real(res, every)["vertex"])
    monkeypatch.setattr(faces, "region_vertices", merged)
    forced = face_poset(res)
    assert forced.f_vector().tolist() == plain.f_vector().tolist()
    assert sorted(r.tobytes() for r in forced.keys) == sorted(r.tobytes() for r in plain.keys)
    assert np.array_equal(np.sort(forced.points[forced.dim == 0], axis=0), np.sort(plain.points[plain.dim == 0], axis=0))
    assert forced.euler_characteristic() == 1


def test_merged_vertices_in_three_dimensions_are_still_refused(monkeypatch):
    """The exact polygon is a 2-D fallback: elsewhere a missing vertex is refused, as before."""
    net = Network([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0]], [[1.0, 1.0, 1.0]]],
                  [[-0.5, -0.5, -1.0 - EPS], [0.0]])
    res = enumerate_regions(net, Box(-1.0, 1.0, dim=3), workers=1)
    assert face_poset(res).euler_characteristic() == 1
    monkeypatch.setattr(faces, "region_vertices", _merged(faces.region_vertices))
    with pytest.raises(NNCellsError):
        face_poset(res)


def test_clip_against_fractions():
    """`_polygon.clip` by random integer half-planes: each vertex on two of the lines and inside
    all of them, exactly."""
    rng = np.random.default_rng(0)
    for _ in range(20):
        poly, lines = _polygon.square(4), {}
        for k in range(6):
            a0, a1 = (int(v) for v in rng.integers(-9, 10, size=2))
            line = (a0, a1, int(rng.integers(0, 30)))     # the origin inside: c >= 0
            lines[k] = line
            if a0 or a1:
                poly = _polygon.clip(poly, line, k, lines)
        assert poly is not None and len(poly) >= 3
        for i, (v, e) in enumerate(poly):
            assert all(_polygon.value(line, v) >= 0 for line in lines.values())
            w = poly[(i + 1) % len(poly)][0]
            if e >= 0:
                assert _polygon.value(lines[e], v) == 0 == _polygon.value(lines[e], w)


def test_a_sliver_below_the_threshold_is_named_missing_and_a_smaller_tol_keeps_it():
    """A triangle thinner than the contract's threshold is not enumerated: its sides have one
    region each, refused as a missing region (where it is); a smaller ``tol`` keeps it."""
    net = Network([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [[1.0, 1.0, 1.0]]], [[-0.5, -0.5, -1.0 - 1e-10], [0.0]])
    res = enumerate_regions(net, Box(-1.0, 1.0, dim=2), workers=1)
    with pytest.raises(NNCellsError, match=r"region is missing"):
        face_poset(res)
    fine = enumerate_regions(net, Box(-1.0, 1.0, dim=2), workers=1, tol=1e-13)
    assert len(fine.patterns) == len(res.patterns) + 1
    assert face_poset(fine).euler_characteristic() == 1
