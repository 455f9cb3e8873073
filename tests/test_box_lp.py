"""The box LP of LP mode (`nncells.geometry.box_lp`): the compiled dual simplex against HiGHS on
random and degenerate instances, warm starts against cold solves, and the float64 checks of its
answers (witness margins, Farkas bounds) against their numpy twins and exact rationals."""
from fractions import Fraction

import highspy
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nncells import _config
from nncells.errors import NNCellsError
from nncells.geometry import box_lp, solvers

native = box_lp._core() is not None
needs_core = pytest.mark.skipif(not native, reason="the compiled core is not built")


def highs(A, c, lo, hi, zcap):
    """The reference: the same LP (`box_lp._highs_lp`) solved by a fresh HiGHS; (status, z)."""
    h = solvers.new_highs()
    for name, v in (("presolve", "off"), ("solver", "simplex"),
                    ("primal_feasibility_tolerance", 1e-10), ("dual_feasibility_tolerance", 1e-10)):
        h.setOptionValue(name, v)
    h.passModel(box_lp._highs_lp(A, c, lo, hi, zcap))
    h.run()
    s = h.getModelStatus()
    if s == highspy.HighsModelStatus.kInfeasible:
        return "infeasible", None
    assert s == highspy.HighsModelStatus.kOptimal, s
    return "optimal", -h.getInfo().objective_function_value


def unit(A):
    return A / np.linalg.norm(A, axis=1)[:, None]


def instance(rng, d, m, kind="random"):
    """Rows through a random point of the box, offsets spread around it (some shrunk cells empty)."""
    A = rng.normal(size=(m, d))
    lo, hi = -rng.uniform(0.1, 1.0, d), rng.uniform(0.1, 1.0, d)
    if kind == "duplicated" and m > 1:
        A[m // 2:] = A[rng.integers(0, max(m // 2, 1), size=m - m // 2)]
    elif kind == "faces":  # half the rows parallel to a face of the box
        for i in range(0, m, 2):
            A[i] = 0.0
            A[i, rng.integers(d)] = rng.choice([-1.0, 1.0])
    elif kind == "fixed":  # zero-width coordinates
        fixed = rng.random(d) < 0.4
        hi[fixed] = lo[fixed]
    elif kind == "point":  # the box is a point
        hi = lo.copy()
    elif kind == "parallel" and m > 1:  # nearly parallel rows
        A[1:] = A[0] + 1e-9 * rng.normal(size=(m - 1, d))
    elif kind == "unbounded":  # some infinite bounds
        lo[rng.random(d) < 0.3] = -np.inf
        hi[rng.random(d) < 0.3] = np.inf
    A = unit(A)
    x0 = rng.uniform(np.maximum(lo, -1), np.minimum(hi, 1))
    c = A @ x0 + rng.normal(0.0, 0.3, m)
    return A, c, lo, hi


def check_answer(A, c, lo, hi, zcap, answer, z_ref):
    """An optimal answer agrees with HiGHS's value, its point and duals are what they claim."""
    status, x, z, y, basis = answer
    m, d = A.shape
    assert status == "optimal"
    assert abs(z - z_ref) <= 1e-7 * max(1.0, abs(z_ref)), (z, z_ref)
    assert np.all(x >= lo) and np.all(x <= hi)
    size = max(1.0, float(np.max(np.abs(c) + np.abs(A) @ np.abs(x), initial=0.0)))
    assert z == pytest.approx(min(zcap, np.min(c - A @ x, initial=np.inf)), abs=1e-13 * size)
    assert basis.shape == (d + 1 + m,) and np.count_nonzero(basis == box_lp.BASIC) == m
    assert np.all(y >= 0)
    if z < zcap - 1e-7 and np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
        assert np.sum(y) == pytest.approx(1.0, abs=1e-9)
        value, err = box_lp.farkas_bound(A, c, lo, hi, y)   # strong duality: the bound is z
        assert z - 1e-9 <= value + err and value <= z + 1e-7 * max(1.0, abs(z))


def test_random_instances_match_highs():
    rng = np.random.default_rng(1)
    for _ in range(300):
        d = int(np.exp(rng.uniform(np.log(2), np.log(800))))
        m = int(rng.integers(1, 41))
        A, c, lo, hi = instance(rng, d, m)
        zcap = float(rng.choice([1e-3, 1.0, 100.0]))
        ref_status, z_ref = highs(A, c, lo, hi, zcap)
        assert ref_status == "optimal"
        check_answer(A, c, lo, hi, zcap, box_lp.solve_shrunk(A, c, lo, hi, zcap), z_ref)


@pytest.mark.parametrize("kind", ["duplicated", "faces", "fixed", "point", "parallel", "unbounded"])
def test_degenerate_instances_match_highs(kind):
    rng = np.random.default_rng(abs(hash(kind)) % 2 ** 32)
    for k in range(60):
        d = int(rng.choice([1, 2, 3, 7, 40, 300, 784]))
        m = int(rng.integers(1, 41))
        A, c, lo, hi = instance(rng, d, m, kind)
        zcap = float(rng.choice([1e-3, 1.0, 100.0]))
        check_answer(A, c, lo, hi, zcap, box_lp.solve_shrunk(A, c, lo, hi, zcap), highs(A, c, lo, hi, zcap)[1])


@needs_core
def test_perturbed_costs_and_the_primal_cleanup_give_the_same_answers():
    rng = np.random.default_rng(13)
    n = box_lp.counts()["perturbed"]
    for k in range(80):
        d, m = int(rng.choice([1, 4, 60, 784])), int(rng.integers(1, 30))
        A, c, lo, hi = instance(rng, d, m, ["random", "duplicated", "faces", "fixed"][k % 4])
        zcap = float(rng.choice([1e-3, 100.0]))
        out = box_lp.solve_shrunk(A, c, lo, hi, zcap, perturb=True)
        check_answer(A, c, lo, hi, zcap, out, highs(A, c, lo, hi, zcap)[1])
    assert box_lp.counts()["perturbed"] - n >= 60     # (a box of fixed coordinates has nothing to perturb)


def test_the_primal_cleanup_undoes_what_the_perturbation_changed():
    # x2's true reduced cost (1e-8) is below the perturbation and of the other sign: the perturbed
    # optimum keeps x2 at -1e4 and loses 2e-4 of z, until the primal simplex moves it to 1e4
    A = unit(np.array([[1.0, -1e-8], [0.6, 0.8]]))
    c, lo, hi = np.array([0.0, 1e5]), np.array([-1.0, -1e4]), np.array([1.0, 1e4])
    for perturb in (False, True):
        out = box_lp.solve_shrunk(A, c, lo, hi, 100.0, perturb=perturb)
        check_answer(A, c, lo, hi, 100.0, out, highs(A, c, lo, hi, 100.0)[1])
        assert out[1][1] == 1e4


def test_one_dimension_and_more_rows_than_columns():
    A = np.array([[1.0], [-1.0], [1.0], [-1.0]])
    c = np.array([0.5, 0.5, 0.25, 0.75])               # -1/2 <= x <= 1/4
    status, x, z, y, _ = box_lp.solve_shrunk(A, c, np.array([-1.0]), np.array([1.0]), 10.0)
    assert status == "optimal" and z == pytest.approx(0.375) and x[0] == pytest.approx(-0.125)
    assert y.tolist() == pytest.approx([0.0, 0.5, 0.5, 0.0])
    status, x, z, y, _ = box_lp.solve_shrunk(A, c, np.array([0.5]), np.array([0.9]), 10.0)
    assert status == "optimal" and z == pytest.approx(-0.25) and x[0] == 0.5   # the box misses the rows


def test_infeasible_exactly_when_highs_says_so():
    rng = np.random.default_rng(2)
    for _ in range(20):
        d, m = int(rng.integers(1, 30)), int(rng.integers(1, 10))
        A, c, lo, hi = instance(rng, d, m)
        if rng.random() < 0.5:
            j = rng.integers(d)
            lo[j], hi[j] = hi[j] + 0.1, lo[j]
        status = box_lp.solve_shrunk(A, c, lo, hi, 1.0)[0]
        assert status == highs(A, c, lo, hi, 1.0)[0]
        assert (status == "infeasible") == bool(np.any(lo > hi))


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 2 ** 32 - 1))
@settings(max_examples=150, deadline=None)
def test_small_instances_match_highs(d, m, seed):
    rng = np.random.default_rng(seed)
    kind = ["random", "duplicated", "faces", "fixed"][seed % 4]
    A, c, lo, hi = instance(rng, d, m, kind)
    A = np.round(A * 4) / 4                         # small integers: ties and degenerate vertices
    A[np.all(A == 0, axis=1), 0] = 1.0
    A, c = unit(A), np.round(c * 4) / 4
    check_answer(A, c, lo, hi, 1.0, box_lp.solve_shrunk(A, c, lo, hi, 1.0), highs(A, c, lo, hi, 1.0)[1])


def test_warm_starts_give_the_cold_answers():
    rng = np.random.default_rng(3)
    for _ in range(60):
        d, m = int(rng.choice([5, 50, 784])), int(rng.integers(2, 33))
        A, c, lo, hi = instance(rng, d, m, ["random", "duplicated", "faces", "fixed"][_ % 4])
        zcap = float(rng.choice([1e-3, 100.0]))
        cold = box_lp.solve_shrunk(A, c, lo, hi, zcap)
        parent = box_lp.solve_shrunk(A[:-1], c[:-1], lo, hi, zcap)
        child = box_lp.solve_shrunk(A, c, lo, hi, zcap, box_lp.extend_basis(parent[4]))
        again = box_lp.solve_shrunk(A, c, lo, hi, zcap, cold[4])
        for warm in (child, again):
            assert warm[0] == "optimal" and warm[2] == pytest.approx(cold[2], rel=1e-9, abs=1e-9)
        # a basis of the wrong size, or not a basis at all, is replaced by the cold start
        for bad in (parent[4], np.full(d + 1 + m, box_lp.BASIC, dtype=np.int8)):
            out = box_lp.solve_shrunk(A, c, lo, hi, zcap, bad)
            assert out[0] == "optimal" and out[2] == pytest.approx(cold[2], rel=1e-9, abs=1e-9)


@needs_core
def test_warm_start_from_the_parent_takes_fewer_iterations():
    rng = np.random.default_rng(4)
    cold_its = warm_its = 0
    for _ in range(10):
        A, c, lo, hi = instance(rng, 784, 17)
        parent = box_lp.solve_shrunk(A[:-1], c[:-1], lo, hi, 100.0)
        n = box_lp.counts()["iterations"]
        box_lp.solve_shrunk(A, c, lo, hi, 100.0)
        cold_its += box_lp.counts()["iterations"] - n
        n = box_lp.counts()["iterations"]
        box_lp.solve_shrunk(A, c, lo, hi, 100.0, box_lp.extend_basis(parent[4]))
        warm_its += box_lp.counts()["iterations"] - n
    assert warm_its < 0.75 * cold_its


def test_cutoff_stops_with_a_certificate():
    rng = np.random.default_rng(5)
    stopped = 0
    for _ in range(40):
        A, c, lo, hi = instance(rng, 300, 20)
        c = c - (highs(A, c, lo, hi, 1.0)[1] + rng.uniform(-0.1, 0.5))   # mostly empty at margin 0
        status, x, z, y, _ = box_lp.solve_shrunk(A, c, lo, hi, 1.0, cutoff=0.0)
        z_ref = highs(A, c, lo, hi, 1.0)[1]
        if status == "cutoff":
            stopped += 1
            value, err = box_lp.farkas_bound(A, c, lo, hi, y)
            assert z_ref < 0 and value < 0 and value >= z_ref - 1e-9
        else:
            check_answer(A, c, lo, hi, 1.0, (status, x, z, y, _), z_ref)
    assert not native or stopped > 0


@needs_core
def test_iteration_limit():
    rng = np.random.default_rng(6)
    A, c, lo, hi = instance(rng, 784, 32)
    status, x, z, y, basis = box_lp.solve_shrunk(A, c, lo, hi, 100.0, max_iter=1)
    assert status == "iteration_limit" and np.all(y >= 0) and np.all(x >= lo) and np.all(x <= hi)


def test_the_counters_count():
    A, c, lo, hi = instance(np.random.default_rng(7), 10, 3)
    n, f = box_lp.solve_count(), box_lp.counts()["fallbacks"]
    for _ in range(3):
        box_lp.solve_shrunk(A, c, lo, hi, 1.0)
    assert box_lp.solve_count() - n == 3
    assert box_lp.counts()["fallbacks"] - f == (0 if native else 3)


def test_without_the_core_highs_and_the_numpy_twins_answer(monkeypatch):
    rng = np.random.default_rng(8)
    A, c, lo, hi = instance(rng, 200, 12)
    with_core = box_lp.solve_shrunk(A, c, lo, hi, 100.0)
    monkeypatch.setattr(_config, "BACKEND", "numpy")
    monkeypatch.delenv("NNCELLS_BACKEND", raising=False)
    assert box_lp._core() is None
    f = box_lp.counts()["fallbacks"]
    out = box_lp.solve_shrunk(A, c, lo, hi, 100.0, box_lp.extend_basis(with_core[4][:-1]))
    assert box_lp.counts()["fallbacks"] == f + 1
    check_answer(A, c, lo, hi, 100.0, out, with_core[2])
    x, y = out[1], out[3]
    assert box_lp.certified_margin(A, c, lo, hi, x) == box_lp._certified_margin_numpy(A, c, lo, hi, x)
    assert box_lp.farkas_bound(A, c, lo, hi, y) == box_lp._farkas_bound_numpy(A, c, lo, hi, y)


def test_bad_input_is_one_clear_error():
    A, c, lo, hi = np.eye(2), np.ones(2), np.zeros(2), np.ones(2)
    with pytest.raises(NNCellsError, match="box LP"):
        box_lp.solve_shrunk(A, np.ones(3), lo, hi, 1.0)
    with pytest.raises(NNCellsError, match="box LP"):
        box_lp.solve_shrunk(A, np.array([1.0, np.nan]), lo, hi, 1.0)
    with pytest.raises(NNCellsError, match="zcap"):
        box_lp.solve_shrunk(A, c, lo, hi, np.inf)
    with pytest.raises(NNCellsError, match="box LP"):
        box_lp.certified_margin(A, c, lo, hi, np.zeros(3))
    with pytest.raises(NNCellsError, match="box LP"):
        box_lp.farkas_bound(A, c, lo, hi, np.zeros(3))


# ------------------------------------------------------------------ the checks of the answers

def exact_margin(A, c0, lo0, hi0, x):
    """The margin of x clamped into the box, in exact rationals."""
    xs = [min(max(Fraction(v), Fraction(a)), Fraction(b)) for v, a, b in zip(x, lo0, hi0)]
    box = min((min(v - Fraction(a), Fraction(b) - v) for v, a, b in zip(xs, lo0, hi0)), default=None)
    rows = [Fraction(ci) - sum(Fraction(a) * v for a, v in zip(row, xs)) for row, ci in zip(A, c0)]
    return min([r for r in rows] + ([box] if box is not None else []))


def exact_farkas(A, c0, lo0, hi0, y):
    """U(y) in exact rationals, for y as the checks normalise it (in float64, as they do)."""
    y = np.maximum(y, 0.0)
    y = y / np.sum(y)
    yq = [Fraction(v) for v in y]
    g = [sum(yi * Fraction(a) for yi, a in zip(yq, col)) for col in A.T]
    return (sum(yi * Fraction(ci) for yi, ci in zip(yq, c0))
            - sum(min(gj * Fraction(a), gj * Fraction(b)) for gj, a, b in zip(g, lo0, hi0))), sum(yq)


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_certified_margin_is_rigorous_and_agrees_with_its_twin(scale):
    rng = np.random.default_rng(9)
    for k in range(30):
        d, m = int(rng.choice([1, 3, 20, 200])), int(rng.integers(1, 8))
        A, c, lo, hi = instance(rng, d, m)
        c, lo, hi = c * scale, lo * scale, hi * scale
        x = rng.uniform(lo - 0.1 * scale, hi + 0.1 * scale)     # some coordinates clamped
        if k % 3 == 0:                                           # near the rows: cancellation
            x = np.clip(x, lo, hi)
            c = A @ x + rng.uniform(0, 1e-12, m) * scale
        got = box_lp.certified_margin(A, c, lo, hi, x)
        twin = box_lp._certified_margin_numpy(A, c, lo, hi, x)
        exact = exact_margin(A, c, lo, hi, x)
        assert Fraction(got) <= exact and Fraction(twin) <= exact
        xc = np.clip(x, lo, hi)
        size = np.abs(c).max() + (np.abs(A) @ np.abs(xc)).max() + np.abs(np.concatenate([lo, hi])).max()
        slack = 4 * _config.ERROR_FACTOR * (d + 2) * np.finfo(float).eps * size
        assert abs(got - twin) <= slack and exact - Fraction(got) <= Fraction(slack)
    assert box_lp.certified_margin(np.eye(2), np.ones(2), -np.ones(2), np.ones(2), np.array([np.nan, 0])) == -np.inf


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
def test_farkas_bound_is_rigorous_and_agrees_with_its_twin(scale):
    rng = np.random.default_rng(10)
    for k in range(30):
        d, m = int(rng.choice([1, 3, 20, 200])), int(rng.integers(1, 8))
        A, c, lo, hi = instance(rng, d, m)
        c, lo, hi = c * scale, lo * scale, hi * scale
        y = rng.exponential(size=m) * (rng.random(m) < 0.7)
        y[rng.integers(m)] += 0.5
        if k % 2:
            y[rng.integers(m)] = -1.0                            # negatives are clipped
        value, err = box_lp.farkas_bound(A, c, lo, hi, y)
        if not np.any(y > 0):
            assert (value, err) == (np.inf, 0.0) == box_lp._farkas_bound_numpy(A, c, lo, hi, y)
            continue
        tvalue, terr = box_lp._farkas_bound_numpy(A, c, lo, hi, y)
        exact, total = exact_farkas(A, c, lo, hi, y)
        assert abs(Fraction(value) - exact) <= Fraction(err) and abs(Fraction(tvalue) - exact) <= Fraction(terr)
        assert abs(value - tvalue) <= err + terr and err == pytest.approx(terr, rel=1e-6)
        # the bound on the margin: exact U / sum(y) <= value + err
        assert exact / total <= Fraction(value) + Fraction(err)
    zero = box_lp.farkas_bound(np.eye(2), np.ones(2), -np.ones(2), np.ones(2), np.array([0.0, -1.0]))
    assert zero == (np.inf, 0.0)


def test_farkas_bound_with_unbounded_sides():
    A, c = np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([-1.0, -1.0])  # x1 <= -1 and x1 >= 1
    lo, hi = np.array([-5.0, -np.inf]), np.array([5.0, np.inf])         # x2 unbounded: g2 = 0
    for farkas in (box_lp.farkas_bound, box_lp._farkas_bound_numpy):
        value, err = farkas(A, c, lo, hi, np.array([1.0, 1.0]))
        assert value == -1.0 and 0 < err < 1e-12
        # a g that cancels to 0 on an unbounded side proves nothing in float64 (its sign is unsure)
        assert farkas(A, c, np.full(2, -np.inf), np.full(2, np.inf), np.array([1.0, 1.0])) == (np.inf, 0.0)
        B = np.array([[0.6, 0.8], [-1.0, 0.0]])                          # g2 = 0.8 y1 > 0
        assert farkas(B, c, lo, hi, np.array([1.0, 1.0])) == (np.inf, 0.0)  # x2 -> -inf
        lo2 = np.array([-5.0, 2.0])                                       # x2 >= 2: g2 x2 >= 0.8
        value, err = farkas(B, c, lo2, hi, np.array([1.0, 1.0]))
        assert value == pytest.approx(-1.0 - (-0.2 * 5 + 0.4 * 2)) and value + err < 0  # g = (-0.2, 0.4)


def test_solver_duals_prove_clearly_empty_cells():
    rng = np.random.default_rng(11)
    for _ in range(40):
        d, m = int(rng.choice([2, 30, 784])), int(rng.integers(2, 30))
        A, c, lo, hi = instance(rng, d, m)
        status, x, z, y, _ = box_lp.solve_shrunk(A, c, lo, hi, 1.0)
        if status != "optimal" or z >= 1.0 - 1e-6:
            continue
        value, err = box_lp.farkas_bound(A, c - (z + 1e-3), lo, hi, y)   # rows moved in past the optimum
        assert value + err <= 0 and value == pytest.approx(-1e-3, abs=1e-7)
        # and its point is a witness at the optimum, rows moved in just short of it
        assert box_lp.certified_margin(A, c - (z - 1e-3), lo - 1e-3, hi + 1e-3, x) > 0.5e-3


def test_random_duals_never_prove_a_cell_with_an_interior_point_empty():
    rng = np.random.default_rng(12)
    for _ in range(100):
        d, m = int(rng.choice([1, 5, 100, 784])), int(rng.integers(1, 40))
        A = unit(rng.normal(size=(m, d)))
        lo, hi = -rng.uniform(0.1, 1, d), rng.uniform(0.1, 1, d)
        x0 = rng.uniform(lo, hi)
        c = A @ x0 + rng.uniform(1e-9, 1e-3, m)        # x0 inside every row, barely
        margin = np.min(c - A @ x0)
        for y in (rng.exponential(size=m), rng.random(m) < 0.3, np.eye(m)[rng.integers(m)]):
            value, err = box_lp.farkas_bound(A, c, lo, hi, np.asarray(y, dtype=float))
            assert value == np.inf or value + err >= margin - 1e-12
