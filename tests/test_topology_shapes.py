"""The topology fixtures (tests/topology_shapes.py): the voxel oracle on known voxel sets, and every shape's
Betti numbers recomputed by that oracle."""
from fractions import Fraction

import numpy as np
import pytest

from topology_shapes import (SHAPES_2D, SHAPES_3D, all_shapes, box_boundary_points, classify_grid,
                             complex_betti, disk, grid_betti, grid_boundary_betti, scaled, voxel_betti,
                             voxel_closure)

# Grid resolutions: odd, so that no cell centre lies on a dyadic level set of these networks (no ties).
N_2D = 63
N_3D = 45
N = {2: N_2D, 3: N_3D}

SHAPES = all_shapes()
IDS = [shape.name for shape in SHAPES]


def reduced_sum(a, b):
    """Mayer-Vietoris for A u B contractible: reduced Betti numbers of A n B = those of A plus those of B."""
    return [a[0] + b[0] - 1] + [x + y for x, y in zip(a[1:], b[1:])]


# ------------------------------------------------------------------ the oracle on explicit voxel sets
def test_hollow_square():
    v = np.ones((3, 3), bool)
    v[1, 1] = False
    assert voxel_betti(v) == [1, 1, 0]


def test_filled_square_and_empty():
    assert voxel_betti(np.ones((4, 5), bool)) == [1, 0, 0]
    assert voxel_betti(np.zeros((4, 5), bool)) == [0, 0, 0]


def test_two_voxels_touching_at_a_corner_are_connected():
    assert voxel_betti(np.array([[1, 0], [0, 1]], bool)) == [1, 0, 0]
    v = np.zeros((2, 2, 2), bool)
    v[0, 0, 0] = v[1, 1, 1] = True
    assert voxel_betti(v) == [1, 0, 0, 0]


def test_two_voxels_apart_are_two_components():
    assert voxel_betti(np.array([[1, 0, 1]], bool)) == [2, 0, 0]


def test_ring_of_corner_touching_voxels_encloses_a_hole():
    # four closed squares around an empty one, touching only at corners: the empty square's interior is a hole
    v = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], bool)
    assert voxel_betti(v) == [1, 1, 0]
    # the same in a 3-D slab: a loop (the hole's interior is open in R^3 above and below)
    assert voxel_betti(v[:, :, None]) == [1, 1, 0, 0]


def test_two_holes_and_a_figure_eight():
    v = np.ones((3, 5), bool)
    v[1, 1] = v[1, 3] = False
    assert voxel_betti(v) == [1, 2, 0]
    # two hollow squares sharing a corner: one component, two loops
    w = np.zeros((6, 6), bool)
    w[:3, :3] = True
    w[1, 1] = False
    w[3:, 3:] = True
    w[4, 4] = False
    assert voxel_betti(w) == [1, 2, 0]


def test_hollow_cube():
    v = np.ones((3, 3, 3), bool)
    v[1, 1, 1] = False
    assert voxel_betti(v) == [1, 0, 1, 0]


def test_solid_torus_and_hollow_torus_of_voxels():
    ring = np.ones((3, 3, 1), bool)
    ring[1, 1, 0] = False
    assert voxel_betti(ring) == [1, 1, 0, 0]
    # a hollow torus: a thick 7x7x3 ring around a 1x1 column, with a closed ring-shaped cavity inside its walls
    outer = np.ones((7, 7, 3), bool)
    outer[3, 3, :] = False            # the hole through the middle
    outer[1:6, 1:6, 1] = False        # the cavity: the 5x5 ring of width 1 in the middle layer ...
    outer[2:5, 2:5, 1] = True         # ... leaving a wall around the hole
    outer[3, 3, 1] = False
    assert voxel_betti(outer) == [1, 2, 1, 0]


def test_two_cubes_sharing_an_edge_around_a_tunnel():
    # a 2x2x1 block minus one voxel is a solid L: contractible
    v = np.ones((2, 2, 1), bool)
    v[1, 1, 0] = False
    assert voxel_betti(v) == [1, 0, 0, 0]


def test_one_dimensional():
    assert voxel_betti(np.array([1, 1, 0, 1, 0, 0, 1], bool)) == [3, 0]


def test_complex_betti_rejects_a_set_not_closed_under_faces():
    cells = voxel_closure(np.ones((2, 2), bool))
    cells[0, 0] = False               # drop a vertex of a remaining edge
    with pytest.raises(ValueError):
        complex_betti(cells)


def test_voxel_closure_counts():
    # one voxel: 4 vertices, 4 edges, 1 square in 2-D
    cells = voxel_closure(np.ones((1, 1), bool))
    assert cells.shape == (3, 3) and cells.all()
    # two voxels touching at a corner share exactly the middle vertex
    cells = voxel_closure(np.array([[1, 0], [0, 1]], bool))
    assert cells[2, 2] and cells.sum() == 2 * 9 - 1


def test_classify_grid_refuses_ties():
    # the disk's boundary |x1| + |x2| = 1 passes through centres of the 64^2 grid (odd multiples of 1/32)
    shape = disk()
    with pytest.raises(AssertionError, match="tie"):
        classify_grid(shape.net, shape.lo, shape.hi, 64)


# ------------------------------------------------------------------ the shapes
def test_catalogue():
    names = [shape.name for shape in SHAPES]
    assert len(set(names)) == len(names)
    assert {shape.dim for shape in SHAPES} == {2, 3}
    assert any(shape.cls == 1 for shape in SHAPES)
    assert [make().dim for make in SHAPES_2D] == [2] * len(SHAPES_2D)
    assert [make().dim for make in SHAPES_3D] == [3] * len(SHAPES_3D)


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_small_exact_dyadic_network(shape):
    net = shape.net
    assert net.output_dim == 2
    assert 1 <= len(net.weights) - 1 <= 3
    assert all(W.shape[0] <= 6 for W in net.weights[:-1])
    for A in (*net.weights, *net.biases):
        for a in np.asarray(A).ravel():
            assert Fraction(float(a)).denominator <= 8, a
    assert len(shape.betti) == len(shape.boundary_betti) == shape.dim + 1
    assert shape.betti[-1] == shape.boundary_betti[-1] == 0


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_class_zero_strictly_inside_the_box(shape):
    m = 201 if shape.dim == 2 else 41
    P = box_boundary_points(shape.dim, shape.lo, shape.hi, m)
    Y = shape.net.forward(P)
    g = Y[:, 0] - Y[:, 1]
    assert g.max() < 0, g.max()
    cls = np.argmax(Y, axis=1)
    if shape.cls == 0:
        assert np.all(cls != shape.cls)
    else:
        assert np.all(cls == shape.cls)
    # also on the grid: no class-0 voxel touches the box
    labels = classify_grid(shape.net, shape.lo, shape.hi, N[shape.dim])
    inner = labels[(slice(1, -1),) * shape.dim]
    assert (labels == 0).sum() == (inner == 0).sum() > 0


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_grid_betti(shape):
    assert grid_betti(shape.net, shape.lo, shape.hi, shape.cls, N[shape.dim]) == shape.betti


@pytest.mark.parametrize("shape", SHAPES, ids=IDS)
def test_grid_boundary_betti(shape):
    n = N[shape.dim]
    boundary = grid_boundary_betti(shape.net, shape.lo, shape.hi, n)
    assert boundary == shape.boundary_betti
    # Mayer-Vietoris on the grid: the two closed voxel unions cover the (contractible) box
    b0 = grid_betti(shape.net, shape.lo, shape.hi, 0, n)
    b1 = grid_betti(shape.net, shape.lo, shape.hi, 1, n)
    assert boundary == reduced_sum(b0, b1)


def test_declared_complements_satisfy_mayer_vietoris():
    by_name = {shape.name: shape for shape in SHAPES}
    pairs = [(name, name + "_complement") for name in by_name if name + "_complement" in by_name]
    assert len(pairs) >= 3
    for a, b in pairs:
        A, B = by_name[a], by_name[b]
        assert (A.cls, B.cls) == (0, 1) and A.net == B.net and (A.lo, A.hi) == (B.lo, B.hi)
        assert A.boundary_betti == B.boundary_betti == reduced_sum(A.betti, B.betti)


@pytest.mark.parametrize("s", [2.0 ** -20, 1e-3, 3.0, 1e3, 2.0 ** 20])
@pytest.mark.parametrize("name", ["disk_complement", "two_holes", "solid_torus3"])
def test_scaled_shapes_keep_their_betti_numbers(name, s):
    shape = next(shape for shape in SHAPES if shape.name == name)
    big = scaled(shape, s)
    assert big.name != shape.name and big.betti == shape.betti and big.boundary_betti == shape.boundary_betti
    assert (big.lo, big.hi) == (shape.lo * s, shape.hi * s)
    n = N[shape.dim]
    assert grid_betti(big.net, big.lo, big.hi, big.cls, n) == shape.betti
    # the grid classes themselves agree with the unscaled network's
    np.testing.assert_array_equal(classify_grid(big.net, big.lo, big.hi, n),
                                  classify_grid(shape.net, shape.lo, shape.hi, n))
    # and the scaled network is the same function of x / s
    x = np.random.default_rng(0).uniform(shape.lo, shape.hi, size=(50, shape.dim))
    np.testing.assert_allclose(big.net.forward(x * s), shape.net.forward(x), rtol=1e-12, atol=1e-12)


def test_scaled_power_of_two_is_exact():
    shape = next(shape for shape in SHAPES if shape.name == "ball3")
    big = scaled(shape, 2.0 ** 30)
    x = np.random.default_rng(1).uniform(-2, 2, size=(20, 3))
    np.testing.assert_array_equal(big.net.forward(x * 2.0 ** 30), shape.net.forward(x))
    with pytest.raises(ValueError):
        scaled(shape, 0.0)
