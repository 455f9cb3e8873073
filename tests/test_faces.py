"""The face poset (`nncells.results.faces`) against independent oracles: vertices by brute force
over the rows of each region, the Euler characteristic of the box and of its boundary sphere,
the sign vectors at the faces' points by a forward pass, unit changes, and degenerate networks."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nncells
from nncells import Box, Network, Polytope, Space, enumerate_regions
from nncells.analysis.homology import betti_numbers
from nncells.errors import NNCellsError
from nncells.results.faces import face_poset

RANDOM = [([2, 6, 5, 2], 0), ([2, 8, 8, 3], 1), ([3, 6, 5, 2], 0), ([3, 5, 5, 1], 2), ([4, 5, 4, 1], 1)]


def _poset(dims, seed, lo=-1.0, hi=1.0):
    net = nncells.random_network(dims, seed=seed)
    return net, face_poset(enumerate_regions(net, Box(lo, hi, dim=dims[0]), workers=1))


def _brute_vertices(net, box_lo, box_hi, patterns):
    """Every vertex of every region: all d-subsets of a region's rows solved in float64, kept
    when the point satisfies all rows (1e-9): the distinct points (rounded to 1e-7)."""
    d = net.input_dim
    A_dom = np.vstack([np.eye(d), -np.eye(d)])
    b_dom = np.concatenate([np.full(d, box_hi), np.full(d, -box_lo)])
    found = set()
    for p in patterns:
        G, h = net.region_halfspaces(p)
        keep = np.linalg.norm(G, axis=1) > 0
        A, b = np.vstack([G[keep], A_dom]), np.concatenate([h[keep], b_dom])
        for rows in itertools.combinations(range(len(b)), d):
            M = A[list(rows)]
            if abs(np.linalg.det(M)) < 1e-12:
                continue
            x = np.linalg.solve(M, b[list(rows)])
            if np.all(A @ x <= b + 1e-9):
                found.add(tuple(np.round(x, 7) + 0.0))
    return found


@pytest.mark.parametrize("dims,seed", RANDOM)
def test_vertices_match_brute_force_and_euler_is_one(dims, seed):
    net, poset = _poset(dims, seed)
    res = enumerate_regions(net, Box(-1.0, 1.0, dim=dims[0]), workers=1)
    brute = _brute_vertices(net, -1.0, 1.0, res.patterns)
    mine = {tuple(np.round(x, 7) + 0.0) for x in poset.points[poset.dim == 0]}
    assert mine == brute
    assert poset.euler_characteristic() == 1
    f = poset.f_vector()
    assert len(f) == dims[0] + 1 and f[-1] == len(res.patterns)
    # every region is exactly one top face
    assert sorted(poset.region[poset.dim == dims[0]].tolist()) == list(range(len(res.patterns)))


@pytest.mark.parametrize("dims,seed", RANDOM)
def test_domain_boundary_is_a_sphere(dims, seed):
    _, poset = _poset(dims, seed)
    d = dims[0]
    on = poset.on_domain.any(axis=1)
    sphere = [1] + [0] * (d - 2) + [1] + [0]       # S^(d-1) over GF(2), then b_d = 0
    assert betti_numbers(poset.dim, poset.incidence, on).tolist() == sphere
    assert betti_numbers(poset.dim, poset.incidence).tolist() == [1] + [0] * d


@pytest.mark.parametrize("dims,seed", RANDOM[:3])
def test_incidences_and_signs(dims, seed):
    net, poset = _poset(dims, seed)
    d = dims[0]
    inc = poset.incidence
    assert np.all(poset.dim[inc[:, 1]] == poset.dim[inc[:, 0]] + 1)
    # a face's signs conform to its coface's; zeros only grow downward
    lo, hi = poset.signs[inc[:, 0]], poset.signs[inc[:, 1]]
    assert np.all((lo == hi) | (lo == 0))
    assert np.all(poset.on_domain[inc[:, 0]] >= poset.on_domain[inc[:, 1]])
    # (d-1)-faces: two regions beside an inner one, one beside one on the box
    up = np.bincount(inc[poset.dim[inc[:, 1]] == d, 0], minlength=len(poset))
    mid = poset.dim == d - 1
    assert np.all(up[mid] == np.where(poset.on_domain[mid].any(axis=1), 1, 2))
    ends = np.bincount(inc[poset.dim[inc[:, 1]] == 1, 1], minlength=len(poset))
    assert np.all(ends[poset.dim == 1] == 2)
    # the faces' points: signs by a forward pass (nonzero entries clear of rounding)
    Z = np.concatenate(net.preactivations(poset.points), axis=1)
    scale = np.abs(Z).max() + 1.0
    nz = poset.signs != 0
    assert np.all(np.sign(Z[nz]) == poset.signs[nz])
    assert np.all(np.abs(Z[~nz & ~net.linear_mask[None, :]]) <= 1e-9 * scale)
    # every face's points lie in the box, its vertices are dim-0 faces
    assert np.all(np.abs(poset.points) <= 1.0 + 1e-12)
    assert all(np.all(poset.dim[v] == 0) for v in poset.vertices)


@pytest.mark.parametrize("s", [1e-3, 1e5])
def test_unit_change_keeps_the_poset(s):
    net = nncells.random_network([3, 6, 5, 2], seed=0)
    W = [np.array(w) for w in net.weights]
    W[0] = W[0] / s
    scaled = Network(W, net.biases)
    a = face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=3), workers=1))
    b = face_poset(enumerate_regions(scaled, Box(-s, s, dim=3), workers=1))
    assert a.f_vector().tolist() == b.f_vector().tolist()
    key = lambda p: {(r.tobytes(), o.tobytes()) for r, o in zip(p.signs, p.on_domain)}  # noqa: E731
    assert key(a) == key(b)


def test_degenerate_network_lines_through_corners_and_a_point():
    # 2-D: x1 = 0, x2 = 0, x1 + x2 = 0, x1 - x2 = 0 (four lines through the origin, two through
    # corners), a duplicate of x1 = 0 and a zero neuron; a second layer bending on the first.
    W1 = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0], [2.0, 0.0], [0.0, 0.0]]
    W2 = [[1.0, -1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 1.0, -1.0, 1.0, 0.0, 0.0]]
    net = Network([W1, W2, [[1.0, 1.0]]], [[0.0] * 6, [-0.5, 0.25], [0.0]])
    res = enumerate_regions(net, Box(-1.0, 1.0, dim=2), workers=1)
    poset = face_poset(res)
    assert poset.euler_characteristic() == 1
    assert _brute_vertices(net, -1.0, 1.0, res.patterns) == {tuple(np.round(x, 7) + 0.0) for x in poset.points[poset.dim == 0]}
    origin = np.flatnonzero((poset.dim == 0) & (np.abs(poset.points).sum(axis=1) == 0))
    assert len(origin) == 1
    # at the origin the first layer's five nonzero neurons vanish (the zero neuron too: 0 = 0)
    assert np.all(poset.signs[origin[0], :6] == 0)


def test_polytope_domain():
    net = nncells.random_network([2, 6, 4, 1], seed=3)
    tri = Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [1.0, 1.0, 1.0])
    poset = face_poset(enumerate_regions(net, tri, workers=1))
    assert poset.euler_characteristic() == 1
    assert poset.on_domain.shape[1] == 3
    assert betti_numbers(poset.dim, poset.incidence, poset.on_domain.any(axis=1)).tolist() == [1, 1, 0]


def test_refuses_unbounded_and_high_dimensional_domains():
    net = nncells.random_network([2, 4, 1], seed=0)
    with pytest.raises(NNCellsError, match="bounded"):
        face_poset(enumerate_regions(net, Space(2), workers=1))
    big = nncells.random_network([8, 3, 1], seed=0)
    with pytest.raises(NNCellsError, match="inputs"):
        face_poset(enumerate_regions(big, Box(-1.0, 1.0, dim=8), workers=1))


@pytest.mark.parametrize("s", [2.0 ** 200, 2.0 ** -200, 1e150])
def test_hidden_layer_scaling_keeps_the_poset(s):
    # layer 1 times s, layer 2's weights over s: the same function and faces; the exact rows then
    # carry integers far beyond float64's exponent range when converted naively (a bug found on
    # the bundled digits network)
    net = nncells.random_network([3, 6, 5, 2], seed=1)
    W, b = [np.array(w) for w in net.weights], [np.array(v) for v in net.biases]
    W[0], b[0], W[1] = W[0] * s, b[0] * s, W[1] / s
    scaled = Network(W, b)
    a = face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=3), workers=1))
    c = face_poset(enumerate_regions(scaled, Box(-1.0, 1.0, dim=3), workers=1))
    assert a.f_vector().tolist() == c.f_vector().tolist()
    key = lambda p: {(r.tobytes(), o.tobytes()) for r, o in zip(p.signs, p.on_domain)}  # noqa: E731
    assert key(a) == key(c)


def test_a_weight_of_1e_minus_200_beside_weights_of_order_one():
    # the bundled digits network has one: exact rows then hold integers of over a thousand bits,
    # which overflow float64 when converted as they are (the rows chosen for a vertex were wrong)
    net = nncells.random_network([3, 6, 5, 2], seed=1)
    W = [np.array(w) for w in net.weights]
    W[1][0, 0] = 1.947820180060449e-200
    W[0][0, 0] = 3e-180
    tiny = Network(W, net.biases)
    W[1][0, 0], W[0][0, 0] = 0.0, 0.0
    zero = Network(W, net.biases)
    a = face_poset(enumerate_regions(tiny, Box(-1.0, 1.0, dim=3), workers=1))
    c = face_poset(enumerate_regions(zero, Box(-1.0, 1.0, dim=3), workers=1))
    assert a.f_vector().tolist() == c.f_vector().tolist() and a.euler_characteristic() == 1


def _canonical(p):
    keys = [(r.tobytes(), o.tobytes()) for r, o in zip(p.signs, p.on_domain)]
    inc = {(keys[a], keys[b]) for a, b in p.incidence}
    return dict(zip(keys, p.dim.tolist())), inc, {keys[i]: int(p.region[i]) for i in np.flatnonzero(p.region >= 0)}


@pytest.mark.parametrize("dims", [[2, 10, 10, 2], [3, 6, 6, 2]])
def test_parallel_faces_are_the_same_poset(dims, monkeypatch):
    from nncells.analysis import topology
    monkeypatch.setattr(topology, "_PARALLEL_MIN", 10)
    net = nncells.random_network(dims, seed=2)
    res = enumerate_regions(net, Box(-1.0, 1.0, dim=dims[0]), workers=1)
    one, two = face_poset(res), topology.faces(res, workers=2)
    assert _canonical(one) == _canonical(two)
    # each face's point and its vertices' points agree with its twin's
    where = {(r.tobytes(), o.tobytes()): i for i, (r, o) in enumerate(zip(two.signs, two.on_domain))}
    for i, (r, o) in enumerate(zip(one.signs, one.on_domain)):
        j = where[(r.tobytes(), o.tobytes())]
        assert np.array_equal(one.points[i], two.points[j])
        assert sorted(map(tuple, one.points[one.vertices[i]])) == sorted(map(tuple, two.points[two.vertices[j]]))


@pytest.mark.parametrize("dims,seed", [([3, 5, 4, 3, 2], 0), ([2, 6, 6, 1], 4)])
def test_one_unit_row_is_its_row_of_the_layer_maps(dims, seed):
    from nncells.results._exact import ExactNetwork
    net = nncells.random_network(dims, seed=seed)
    E = ExactNetwork(net)
    for pattern in enumerate_regions(net, Box(-1.0, 1.0, dim=dims[0]), workers=1).patterns[:5]:
        maps = E.layer_maps(pattern)
        M = np.concatenate([m for m, _ in maps])
        z = np.concatenate([c for _, c in maps])
        for k in range(net.n_hidden):
            a, c = E.unit_row(pattern, k)
            one, two = [int(v) for v in a] + [int(c)], [int(v) for v in M[k]] + [int(z[k])]
            j = next(i for i, v in enumerate(two) if v != 0)
            assert one[j] * two[j] > 0                                  # the same sign
            assert all(u * two[j] == w * one[j] for u, w in zip(one, two))   # proportional


@pytest.mark.parametrize("make", ["degenerate", "random3", "shape"])
def test_float_signs_at_vertices_change_nothing(make, monkeypatch):
    # a vertex's signs are decided in float64 where the error bound allows; exactly everywhere: the same poset
    from nncells.results import _face_builder
    if make == "degenerate":
        W1 = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0], [2.0, 0.0], [0.0, 0.0]]
        W2 = [[1.0, -1.0, 1.0, 0.0, 0.0, 0.0], [0.0, 1.0, -1.0, 1.0, 0.0, 0.0]]
        net, box = Network([W1, W2, [[1.0, 1.0]]], [[0.0] * 6, [-0.5, 0.25], [0.0]]), Box(-1.0, 1.0, dim=2)
    elif make == "random3":
        net, box = nncells.random_network([3, 7, 6, 2], seed=5), Box(-1.0, 1.0, dim=3)
    else:
        import topology_shapes
        shape = topology_shapes.solid_torus3()
        net, box = shape.net, Box(shape.lo, shape.hi, dim=3)
    res = enumerate_regions(net, box, workers=1)
    fast = face_poset(res)
    monkeypatch.setattr(_face_builder, "FLOAT_SIGNS", False)
    slow = face_poset(enumerate_regions(net, box, workers=1))
    assert _canonical(fast) == _canonical(slow)


@pytest.mark.parametrize("block", [1 << 18, 7])
def test_faces_to_parquet_round_trip(tmp_path, block):
    """Written whole or 7 faces a row group, the file reads back as the poset."""
    import pyarrow.parquet as pq
    net, poset = _poset([3, 5, 4, 2], 0)
    path = tmp_path / "faces.parquet"
    poset.to_parquet(path, block=block)
    assert pq.read_metadata(path).num_row_groups == -(-len(poset) // block)
    t = pq.read_table(path).to_pydict()
    assert t["face"] == list(range(len(poset))) and t["dim"] == poset.dim.tolist()
    assert np.array_equal(np.array(t["signs"], dtype=np.int8), poset.signs)
    assert np.array_equal(np.array(t["on_domain"]), poset.on_domain)
    assert np.array_equal(np.array(t["point"]), poset.points) and t["region"] == poset.region.tolist()
    inc = {(f, c) for c, fs in enumerate(t["faces"]) for f in fs}
    assert inc == set(map(tuple, poset.incidence.tolist()))
    assert [sorted(v) for v in t["vertices"]] == [sorted(v.tolist()) for v in poset.vertices]


def test_a_box_far_beyond_the_network_is_refused_in_one_line():
    # such a box is lifted (engine.lifting); its regions' facets come without qhull's vertices
    net = nncells.random_network([2, 8, 8, 3], seed=1)
    with pytest.raises(NNCellsError, match="whole space"):
        face_poset(enumerate_regions(net, Box(-1e12, 1e12, dim=2), workers=1))


def test_forgetting_the_memos_changes_nothing(monkeypatch):
    from nncells.results import _face_builder
    net = nncells.random_network([3, 7, 6, 2], seed=3)
    box = Box(-1.0, 1.0, dim=3)
    full = face_poset(enumerate_regions(net, box, workers=1))
    monkeypatch.setattr(_face_builder, "MEMO", 3)
    assert _canonical(face_poset(enumerate_regions(net, box, workers=1))) == _canonical(full)


def test_exact_determinant_against_fractions():
    from fractions import Fraction
    from nncells.results._exact import det
    rng = np.random.default_rng(0)
    for n in range(1, 6):
        for _ in range(50):
            M = rng.integers(-9, 10, size=(n, n)).tolist()
            if n > 1 and rng.random() < 0.3:
                M[-1] = [3 * v for v in M[0]]                 # singular
            F = [[Fraction(v) for v in row] for row in M]    # the reference: elimination in fractions
            ref = Fraction(1)
            for k in range(n):
                p = next((i for i in range(k, n) if F[i][k] != 0), None)
                if p is None:
                    ref = Fraction(0)
                    break
                if p != k:
                    F[k], F[p], ref = F[p], F[k], -ref
                ref *= F[k][k]
                for i in range(k + 1, n):
                    f = F[i][k] / F[k][k]
                    F[i] = [a - f * b for a, b in zip(F[i], F[k])]
            assert det(M) == ref


@settings(max_examples=400, deadline=None)
@given(st.integers(1, 5), st.sampled_from([9, 2 ** 70]), st.booleans(), st.data())
def test_nonsingular_is_det_nonzero(n, big, singular, data):
    """`nonsingular` (elimination modulo a prime, `det` where the residue is 0) against `det`,
    big entries and singular matrices included; a determinant that is a multiple of the prime
    is still found nonzero."""
    from nncells.results._exact import _PRIME, det, nonsingular
    M = [[data.draw(st.integers(-big, big)) for _ in range(n)] for _ in range(n)]
    if singular and n > 1:
        M[-1] = [3 * a - b for a, b in zip(M[0], M[1])]
    assert nonsingular(M) == (det(M) != 0)
    D = [[_PRIME * (i == j) if j == 0 else int(i == j) for j in range(n)] for i in range(n)]
    assert nonsingular(D) and det(D) == _PRIME


def test_linear_units_bound_nothing():
    # x1 passes through a linear unit; only x2 = 0 cuts the square
    net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]], linear=[[True, False]])
    poset = face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=2), workers=1))
    assert poset.f_vector().tolist() == [6, 7, 2]
    assert np.all(poset.signs[:, 0] == 0)


@pytest.mark.parametrize("dims", [[5, 4, 3, 1], [6, 3, 3, 1]])
def test_five_and_six_inputs(dims):
    net, poset = _poset(dims, 0)
    assert poset.euler_characteristic() == 1
    on = poset.on_domain.any(axis=1)
    assert betti_numbers(poset.dim, poset.incidence, on).tolist() == [1] + [0] * (dims[0] - 2) + [1, 0]


def test_a_polytope_in_three_dimensions():
    net = nncells.random_network([3, 6, 5, 2], seed=4)
    # the simplex x >= -1 (each), x1 + x2 + x3 <= 1
    simplex = Polytope([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 1.0, 1.0]], [1.0, 1.0, 1.0, 1.0])
    poset = face_poset(enumerate_regions(net, simplex, workers=1))
    assert poset.euler_characteristic() == 1
    assert betti_numbers(poset.dim, poset.incidence, poset.on_domain.any(axis=1)).tolist() == [1, 0, 1, 0]


@pytest.mark.parametrize("linear", [False, True])
def test_packed_keys_by_blocks(linear):
    """Signs and domain rows packed in one row of bytes per face come back the same, by blocks
    of any size, whole or a few units at a time (linear units: 0)."""
    from nncells.results._face_builder import bits
    from nncells.results._face_keys import key_domain, key_signs, pack_keys
    rng = np.random.default_rng(1)
    n_hidden = 12
    relu = np.flatnonzero(rng.random(n_hidden) < 0.7) if linear else np.arange(n_hidden)
    S = np.zeros((11, n_hidden), np.int64)
    S[:, relu] = rng.integers(-1, 2, size=(11, len(relu)))
    O = rng.random((11, 4)) < 0.3
    packed = pack_keys([(bits(s[relu] > 0), bits(s[relu] < 0), bits(o)) for s, o in zip(S, O)], len(relu), 4)
    assert packed.shape == (11, (2 * len(relu) + 4 + 7) // 8)
    for block in (1, 3, 100):
        assert np.array_equal(key_signs(packed, len(relu), relu, n_hidden, block=block), S)
        assert np.array_equal(key_signs(packed, len(relu), relu, n_hidden, [5, 0, 11], block=block), S[:, [5, 0, 11]])
    assert np.array_equal(key_domain(packed, len(relu), 4), O)


def test_the_merge_numbers_faces_where_they_first_appear():
    """Faces found by several parts are one face, numbered where it first appears in the parts'
    order, with the data of that first occurrence; the same parts give the same poset."""
    from nncells.results.faces import Merger, merge_parts, poset_part
    res = enumerate_regions(nncells.random_network([2, 6, 5, 2], seed=3), Box(-1.0, 1.0, dim=2), workers=1)
    parts = [poset_part(res, c) for c in np.array_split(np.arange(res.count), 5)]
    merged = merge_parts(res, parts)
    seen, order, points = set(), [], []
    for p in parts:
        for key, point in zip(p["keys"], p["points"]):
            if key.tobytes() not in seen:
                seen.add(key.tobytes())
                order.append(key.tobytes())
                points.append(point)
    assert [r.tobytes() for r in merged.keys] == order and np.array_equal(merged.points, np.array(points))
    assert sum(len(p["dim"]) for p in parts) > len(order)          # the parts did share faces
    one = face_poset(res)
    assert sorted(r.tobytes() for r in one.keys) == sorted(order)
    assert np.array_equal(one.f_vector(), merged.f_vector()) and len(one.incidence) == len(merged.incidence)
    again = merge_parts(res, parts)
    backwards = Merger(res)              # parts that finish out of order are merged in their order
    for i in reversed(range(len(parts))):
        backwards.add(parts[i], i)
    for other in (again, backwards.poset()):
        for k in ("dim", "keys", "points", "incidence", "region"):
            assert np.array_equal(getattr(merged, k), getattr(other, k))
        assert np.array_equal(merged.vertices.flat, other.vertices.flat)


def test_a_vertex_whose_nearest_rows_meet_off_the_region_is_found_from_the_next_ones(monkeypatch):
    """Where the d rows nearest to a float vertex meet outside the region (another row passes
    within float64's reach), the vertex comes from the next nearest: forced here by putting first
    a row whose hyperplane lies outside the box (x = 5): the same poset as without."""
    from nncells.results import _face_builder
    net = nncells.Network([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]], [[1.0, 1.0, 1.0, 1.0]]],
                          [[0.0, 0.0, -0.5, -5.0], [0.0]])
    res = enumerate_regions(net, Box(-1.0, 1.0, dim=2), workers=1)
    plain = face_poset(res)
    real = _face_builder.Builder._vertex
    calls = []

    def far_first(self, order, *a):
        calls.append(1)
        return real(self, [3] + [i for i in order if i != 3], *a)
    monkeypatch.setattr(_face_builder.Builder, "_vertex", far_first)
    forced = face_poset(res)
    assert calls and forced.f_vector().tolist() == plain.f_vector().tolist()
    assert sorted(r.tobytes() for r in forced.keys) == sorted(r.tobytes() for r in plain.keys)
    assert np.array_equal(np.sort(forced.points, axis=0), np.sort(plain.points, axis=0))
