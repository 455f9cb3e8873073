"""Test fixtures for exact topology: small ReLU networks whose decision regions have known Betti numbers,
and a voxel oracle that recomputes those Betti numbers (over GF(2)) from a grid of forward passes.

Every network has two outputs (logits) ``f_0, f_1``; ``g = f_0 - f_1`` and the closed region of class 0 is
``{x in box : g(x) >= 0}``, of class 1 ``{g(x) <= 0}``, the decision boundary ``{g(x) = 0}``. Every weight
and bias is an exact dyadic rational (``|t| = relu(t) + relu(-t)``), and the class-0 region lies strictly
inside the box ``[lo, hi]^d`` (g < 0 on the box's boundary), so the decision boundary is a closed
curve/surface away from the box. Many hyperplanes of these networks meet in one point on purpose (every
``|x_i|`` bends at ``x_i = 0``, through the corners of the diamonds/octahedra): the degenerate arrangements
that exact code has to survive.

The voxel oracle (`grid_betti`, `grid_boundary_betti`, `complex_betti`) works on cubical complexes stored in a
*doubled grid*: a grid of ``n^d`` voxels has ``(2n+1)^d`` cells (vertices, edges, squares, cubes), the cell
with doubled index ``k`` being the product over the axes of the vertex ``k_i / 2`` (``k_i`` even) or the
edge ``[(k_i - 1)/2, (k_i + 1)/2]`` (``k_i`` odd); its dimension is the number of odd ``k_i``, and voxel ``i``
is the cell ``2i + 1``. A closed voxel union is the set of cells lying in the closure of one of its voxels
(a 3^d maximum filter), which makes two voxels that share only a corner share that vertex cell: connected,
as closed sets are. In the doubled grid a cell and each of its facets are face neighbours, so

* the components of a complex (closed under faces) are the components of its cells under face
  connectivity (4 in 2-D, 6 in 3-D): equivalent, on voxels, to *full* connectivity (8 / 26) of the
  closed voxels;
* the components of its complement (open, closed under cofaces) are the components of the remaining
  cells under face connectivity as well: equivalent, on voxels, to *face* connectivity (4 / 6) of the
  empty voxels (two empty voxels that share only an edge or a corner are separated there unless the
  other voxels around it are empty too, which connects them through faces anyway).

``b_0`` is the number of components; ``b_{d-1}`` the number of *bounded* components of the complement in
R^d (Alexander duality: the grid is padded with an outside layer, and a component touching it is the
unbounded one); the Euler characteristic ``chi = sum over cells of (-1)^dim`` is exact, and gives the
remaining one (``b_1 = b_0 + b_2 - chi`` in 3-D; in 2-D ``b_1 = b_0 - chi`` is cross-checked against the
complement count). ``b_d = 0`` always (a compact subset of R^d). Homology of subsets of R^d (d <= 3) has no
torsion, so these are the Betti numbers over GF(2) as over Q.
"""
import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from nncells import Network


@dataclass(frozen=True)
class Shape:
    """A network and the Betti numbers of one class's closed region in the box ``[lo, hi]^d``.

    ``betti`` = [b_0, ..., b_d] of ``{x in box : f_cls(x) >= f_j(x) for all j}`` (b_d = 0);
    ``boundary_betti`` = [b_0, ..., b_d] of the decision boundary ``{f_0 = f_1}`` in the box (b_d = 0).
    """

    name: str
    net: Network
    lo: float
    hi: float
    cls: int
    betti: list
    boundary_betti: list

    @property
    def dim(self) -> int:
        return self.net.input_dim

    def __repr__(self):
        return f"Shape({self.name}, {self.net!r}, [{self.lo}, {self.hi}]^{self.dim}, cls={self.cls})"


# ------------------------------------------------------------------ building blocks
def _abs_layer(d):
    """First layer ``relu(x_1), relu(-x_1), ..., relu(x_d), relu(-x_d)`` (2d units): ``|x_i|`` = unit 2i + unit 2i+1."""
    W = np.zeros((2 * d, d))
    for i in range(d):
        W[2 * i, i], W[2 * i + 1, i] = 1.0, -1.0
    return W, np.zeros(2 * d)


def _net(layers):
    return Network([W for W, _ in layers], [b for _, b in layers])


def _l1_shell_net(d, r_in, r_out):
    """``g = w - | |x|_1 - c |`` with c = (r_in + r_out)/2, w = (r_out - r_in)/2: two hidden layers (2d, 2)."""
    c, w = (r_in + r_out) / 2, (r_out - r_in) / 2
    W1, b1 = _abs_layer(d)
    W2 = np.vstack([np.ones(2 * d), -np.ones(2 * d)])       # relu(s - c), relu(c - s), s = |x|_1
    b2 = np.array([-c, c])
    W3 = np.array([[-1.0, -1.0], [0.0, 0.0]])
    b3 = np.array([w, 0.0])
    return _net([(W1, b1), (W2, b2), (W3, b3)])


# ------------------------------------------------------------------ 2-D
def disk():
    """Diamond ``|x1| + |x2| <= 1`` in [-2, 2]^2, with ``f_0 = 1 - |x1|``, ``f_1 = |x2|`` (one hidden layer of 4)."""
    W1, b1 = _abs_layer(2)
    W2 = np.array([[-1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    b2 = np.array([1.0, 0.0])
    return Shape("disk", _net([(W1, b1), (W2, b2)]), -2.0, 2.0, 0, [1, 0, 0], [1, 1, 0])


def disk_complement():
    """Class 1 of `disk`: the box minus the open diamond ``|x1| + |x2| < 1`` (an annulus)."""
    return dataclasses.replace(disk(), name="disk_complement", cls=1, betti=[1, 1, 0])


def annulus():
    """``0.5 <= |x1| + |x2| <= 1`` in [-2, 2]^2: ``g = 1/4 - | |x|_1 - 3/4 |`` (hidden layers 4, 2)."""
    return Shape("annulus", _l1_shell_net(2, 0.5, 1.0), -2.0, 2.0, 0, [1, 1, 0], [2, 2, 0])


def annulus_complement():
    """Class 1 of `annulus`: the closed inner diamond ``|x|_1 <= 1/2`` plus the frame ``|x|_1 >= 1``."""
    return dataclasses.replace(annulus(), name="annulus_complement", cls=1, betti=[2, 1, 0])


def two_disks():
    """Two diamonds ``| |x1| - 1 | + |x2| <= 1/2`` (centres (+-1, 0)) in [-2, 2]^2 (hidden layers 4, 3)."""
    W1, b1 = _abs_layer(2)
    W2 = np.array([[1.0, 1.0, 0.0, 0.0],       # relu(|x1| - 1)
                   [-1.0, -1.0, 0.0, 0.0],     # relu(1 - |x1|)
                   [0.0, 0.0, 1.0, 1.0]])      # relu(|x2|) = |x2|
    b2 = np.array([-1.0, 1.0, 0.0])
    W3 = np.array([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0]])
    b3 = np.array([0.5, 0.0])
    return Shape("two_disks", _net([(W1, b1), (W2, b2), (W3, b3)]), -2.0, 2.0, 0, [2, 0, 0], [2, 2, 0])


def two_holes():
    """A diamond with two diamond holes, in [-3, 3]^2: ``min(o, h) >= 0`` with ``o = 5/2 - |x1| - |x2|``,
    ``h = | |x1| - 1 | + |x2| - 1/2``; ``f_0 = relu(o) - relu(o - h)``, ``f_1 = relu(-o)`` (hidden 4, 4, 3)."""
    W1, b1 = _abs_layer(2)
    W2 = np.array([[1.0, 1.0, 0.0, 0.0],       # p = relu(|x1| - 1)
                   [-1.0, -1.0, 0.0, 0.0],     # q = relu(1 - |x1|)
                   [0.0, 0.0, 1.0, 1.0],       # c = |x2|
                   [1.0, 1.0, 0.0, 0.0]])      # m = |x1|
    b2 = np.array([-1.0, 1.0, 0.0, 0.0])
    # o = 5/2 - m - c;  h = p + q + c - 1/2;  o - h = 3 - m - 2c - p - q
    W3 = np.array([[0.0, 0.0, -1.0, -1.0],     # relu(o)
                   [0.0, 0.0, 1.0, 1.0],       # relu(-o)
                   [-1.0, -1.0, -2.0, -1.0]])  # relu(o - h)
    b3 = np.array([2.5, -2.5, 3.0])
    W4 = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    b4 = np.zeros(2)
    net = _net([(W1, b1), (W2, b2), (W3, b3), (W4, b4)])
    return Shape("two_holes", net, -3.0, 3.0, 0, [1, 2, 0], [3, 3, 0])


# ------------------------------------------------------------------ 3-D
def ball3():
    """Octahedron ``|x1| + |x2| + |x3| <= 1`` in [-2, 2]^3, ``f_0 = 1 - |x|_1``, ``f_1 = 0`` (one hidden layer of 6)."""
    W1, b1 = _abs_layer(3)
    W2 = np.vstack([-np.ones(6), np.zeros(6)])
    b2 = np.array([1.0, 0.0])
    return Shape("ball3", _net([(W1, b1), (W2, b2)]), -2.0, 2.0, 0, [1, 0, 0, 0], [1, 0, 1, 0])


def ball3_complement():
    """Class 1 of `ball3`: the cube minus the open octahedron (a thick sphere)."""
    return dataclasses.replace(ball3(), name="ball3_complement", cls=1, betti=[1, 0, 1, 0])


def shell3():
    """``1/2 <= |x|_1 <= 1`` in [-2, 2]^3: ``g = 1/4 - | |x|_1 - 3/4 |`` (hidden layers 6, 2)."""
    return Shape("shell3", _l1_shell_net(3, 0.5, 1.0), -2.0, 2.0, 0, [1, 0, 1, 0], [2, 0, 2, 0])


def solid_torus3():
    """``| |x1| + |x2| - 1 | + |x3| <= 3/8`` in [-2, 2]^3: a tube of L1 radius 3/8 around the diamond
    ``|x1| + |x2| = 1`` of the plane x3 = 0 (hidden layers 6, 3). (3/8 rather than 0.4: exactly dyadic.)"""
    W1, b1 = _abs_layer(3)
    W2 = np.array([[1.0, 1.0, 1.0, 1.0, 0.0, 0.0],      # relu(|x1| + |x2| - 1)
                   [-1.0, -1.0, -1.0, -1.0, 0.0, 0.0],  # relu(1 - |x1| - |x2|)
                   [0.0, 0.0, 0.0, 0.0, 1.0, 1.0]])     # |x3|
    b2 = np.array([-1.0, 1.0, 0.0])
    W3 = np.array([[-1.0, -1.0, -1.0], [0.0, 0.0, 0.0]])
    b3 = np.array([0.375, 0.0])
    net = _net([(W1, b1), (W2, b2), (W3, b3)])
    return Shape("solid_torus3", net, -2.0, 2.0, 0, [1, 1, 0, 0], [1, 2, 1, 0])


def solid_torus3_complement():
    """Class 1 of `solid_torus3`: the cube minus an open solid torus: a loop around the tube (b_1) and the
    cube's surface, which no longer bounds (b_2): [1, 1, 1, 0]."""
    return dataclasses.replace(solid_torus3(), name="solid_torus3_complement", cls=1, betti=[1, 1, 1, 0])


SHAPES_2D = (disk, disk_complement, annulus, annulus_complement, two_disks, two_holes)
SHAPES_3D = (ball3, ball3_complement, shell3, solid_torus3, solid_torus3_complement)


def all_shapes():
    """Every shape, freshly built: 2-D then 3-D."""
    return [make() for make in SHAPES_2D + SHAPES_3D]


def scaled(shape, s):
    """The same shape with its inputs scaled by ``s``: ``x -> x / s`` in the first layer, box ``[s lo, s hi]``
    (s > 0). Betti numbers unchanged; exact for a power of two, otherwise up to rounding of ``W_1 / s``."""
    if not s > 0:
        raise ValueError(f"scale must be positive, got {s}")
    net = shape.net
    weights = [net.weights[0] / s, *net.weights[1:]]
    return dataclasses.replace(shape, name=f"{shape.name}*{s:g}", net=Network(weights, list(net.biases)),
                               lo=shape.lo * s, hi=shape.hi * s)


# ------------------------------------------------------------------ grid oracle
def grid_centres(d, lo, hi, n):
    """Centres of the n^d cells of [lo, hi]^d, shape (n^d, d), in C order of the index (i_1, ..., i_d)."""
    t = lo + (np.arange(n) + 0.5) * ((hi - lo) / n)
    mesh = np.meshgrid(*([t] * d), indexing="ij")
    return np.stack([m.ravel() for m in mesh], axis=1)


def classify_grid(net, lo, hi, n, tol=1e-12):
    """Argmax class at the centres of the n^d grid cells of [lo, hi]^d: int array shaped (n,) * d (axis i =
    coordinate i). Raises AssertionError if the top two logits at a centre are within ``tol`` (a tie: pick
    another n)."""
    d = net.input_dim
    Y = net.forward(grid_centres(d, lo, hi, n))
    top2 = np.sort(Y, axis=1)[:, -2:]
    gap = top2[:, 1] - top2[:, 0]
    if not np.all(gap > tol):
        i = int(np.argmin(gap))
        raise AssertionError(f"tie at a grid centre (n={n}): logits {Y[i].tolist()}; choose another n")
    return np.argmax(Y, axis=1).reshape((n,) * d)


def voxel_closure(voxels):
    """The closed union of the True voxels (any shape (n_1, ..., n_d)) as a cubical complex in the doubled
    grid: a bool array shaped (2 n_i + 1) with True at every cell in the closure of a True voxel."""
    voxels = np.asarray(voxels, dtype=bool)
    cells = np.zeros(tuple(2 * m + 1 for m in voxels.shape), dtype=bool)
    cells[tuple(slice(1, None, 2) for _ in voxels.shape)] = voxels
    return ndimage.maximum_filter(cells, size=3, mode="constant", cval=False)


def _cell_dims(shape):
    """Dimension of every cell of a doubled grid: the number of odd indices."""
    dims = np.zeros(shape, dtype=np.int64)
    for axis, m in enumerate(shape):
        odd = (np.arange(m) % 2).reshape([-1 if a == axis else 1 for a in range(len(shape))])
        dims = dims + odd
    return dims


def euler_characteristic(cells):
    """chi = #vertices - #edges + #squares - #cubes ... of a complex in the doubled grid (exact)."""
    cells = np.asarray(cells, dtype=bool)
    dims = _cell_dims(cells.shape)[cells]
    return int(np.sum(np.where(dims % 2 == 0, 1, -1)))


def _bounded_complement_components(cells):
    """Number of bounded components of R^d minus the complex (face connectivity in the doubled grid, padded
    with an outside layer)."""
    d = cells.ndim
    free = np.pad(~cells, 1, constant_values=True)           # the outside layer: the unbounded part
    labels, count = ndimage.label(free, structure=ndimage.generate_binary_structure(d, 1))
    border = np.zeros_like(free)
    for axis in range(d):
        idx = [slice(None)] * d
        idx[axis] = 0
        border[tuple(idx)] = True
        idx[axis] = -1
        border[tuple(idx)] = True
    outer = set(np.unique(labels[border]).tolist()) - {0}
    assert len(outer) == 1 or d == 1          # (R minus an interval has two unbounded components)
    return count - len(outer)


def complex_betti(cells):
    """[b_0, ..., b_d] of a cubical complex given as a bool array of its cells in the doubled grid (must be
    closed under faces; d = 1, 2 or 3)."""
    cells = np.asarray(cells, dtype=bool)
    d = cells.ndim
    if d not in (1, 2, 3):
        raise ValueError(f"dimension {d} not supported (1, 2 or 3)")
    if not _closed_under_faces(cells):
        raise ValueError("cells are not closed under faces")
    b0 = int(ndimage.label(cells, structure=ndimage.generate_binary_structure(d, 1))[1])
    holes = _bounded_complement_components(cells)           # b_{d-1}
    chi = euler_characteristic(cells)
    if d == 1:
        assert b0 == chi and holes == max(b0 - 1, 0)
        return [b0, 0]
    if d == 2:
        b1 = b0 - chi
        assert b1 == holes, (b0, chi, holes)
        return [b0, b1, 0]
    b2 = holes
    b1 = b0 + b2 - chi
    assert b1 >= 0, (b0, b2, chi)
    return [b0, b1, b2, 0]


def _closed_under_faces(cells):
    """Every facet of every cell is present: for a cell with an odd index along an axis, both neighbours
    along that axis (its facets) are cells too."""
    d = cells.ndim
    for axis in range(d):
        idx_odd = [slice(None)] * d
        idx_odd[axis] = slice(1, None, 2)
        odd = cells[tuple(idx_odd)]
        for start in (0, 2):
            idx = [slice(None)] * d
            idx[axis] = slice(start, None, 2)
            even = cells[tuple(idx)]
            facet = even[tuple(slice(0, m) for m in odd.shape)]
            if np.any(odd & ~facet):
                return False
    return True


def voxel_betti(voxels):
    """[b_0, ..., b_d] of the closed union of the True voxels (unit cubes), with two voxel-level cross-checks:
    b_0 = components under full connectivity (8 / 26) of the voxels, and the bounded holes = bounded
    components under face connectivity (4 / 6) of the empty voxels."""
    voxels = np.asarray(voxels, dtype=bool)
    d = voxels.ndim
    betti = complex_betti(voxel_closure(voxels))
    full = ndimage.generate_binary_structure(d, d)
    assert betti[0] == ndimage.label(voxels, structure=full)[1], "closed voxels: full connectivity"
    if d >= 2:
        empty = np.pad(~voxels, 1, constant_values=True)
        labels, count = ndimage.label(empty, structure=ndimage.generate_binary_structure(d, 1))
        assert labels[(0,) * d] != 0
        assert betti[d - 1] == count - 1, "empty voxels: face connectivity"
    return betti


def grid_betti(net, lo, hi, cls, n):
    """Betti numbers [b_0, ..., b_d] of the closed region of class ``cls`` in [lo, hi]^d, approximated by the
    closed union of the voxels of an n^d grid whose centre has argmax ``cls`` (see the module docstring)."""
    return voxel_betti(classify_grid(net, lo, hi, n) == cls)


def grid_boundary_betti(net, lo, hi, n):
    """Betti numbers of the decision boundary of a two-class network in [lo, hi]^d, approximated by the
    interface of the grid: the cells lying in the closure of a class-0 voxel and of a class-1 voxel (the
    intersection of the two closed voxel unions)."""
    if net.output_dim != 2:
        raise ValueError("grid_boundary_betti: two outputs only")
    labels = classify_grid(net, lo, hi, n)
    return complex_betti(voxel_closure(labels == 0) & voxel_closure(labels == 1))


def box_boundary_points(d, lo, hi, m):
    """Points on the boundary of [lo, hi]^d: an m^(d-1) grid (ends included) on each of the 2d facets."""
    t = np.linspace(lo, hi, m)
    face = np.stack([g.ravel() for g in np.meshgrid(*([t] * (d - 1)), indexing="ij")], axis=1)
    out = []
    for axis in range(d):
        for value in (lo, hi):
            out.append(np.insert(face, axis, value, axis=1))
    return np.vstack(out)
