"""Mixtures of witness balls (`geometry.witness_balls`, native/lp_mix.hpp): the game's value
against HiGHS and against the two strategies that prove it, the compiled solver against its
numpy twin, and the mixed point of `mix_witness` against the rows it must satisfy."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import linprog

from nncells import kernels
from nncells.geometry.contract import certified_depth
from nncells.geometry.mixture_game import best_mixture
from nncells.geometry.witness_balls import mix_witness


def _value_by_highs(M):
    """max over lambda in the simplex of min_r (M lambda)_r, as an LP solved by HiGHS (in units
    of the largest entry: its tolerances are absolute)."""
    scale = float(np.max(np.abs(M)))
    M = M / scale
    R, P = M.shape
    res = linprog(np.r_[np.zeros(P), -1.0], A_ub=np.hstack([-M, np.ones((R, 1))]), b_ub=np.zeros(R),
                  A_eq=np.r_[np.ones(P), 0.0][None], b_eq=[1.0], bounds=[(0, None)] * P + [(None, None)],
                  method="highs")
    assert res.status == 0
    return res.x[-1] * scale


def _solvers():
    out = [("numpy", best_mixture)]
    if kernels.native_available():
        from nncells.kernels import _native
        out.append(("native", _native.best_mixture))
    return out


def _games():
    """Random games ``(kind, M)``: generic (continuous entries), or degenerate: integer entries
    (ties), repeated columns, a constant row, entries of very different sizes."""
    shapes = st.tuples(st.integers(1, 10), st.integers(1, 30))

    @st.composite
    def game(draw):
        R, P = draw(shapes)
        kind = draw(st.sampled_from(["generic", "integer", "repeated", "constant row", "mixed sizes"]))
        M = draw(arrays(np.float64, (R, P), elements=st.floats(-1e3, 1e3, allow_nan=False, width=64)))
        if kind == "generic":
            M = M + np.random.default_rng(int(np.abs(M).sum()) % 2**32).normal(size=M.shape)
        elif kind == "integer":
            M = np.round(M / 300.0)
        elif kind == "repeated":
            M = np.hstack([M, M[:, :1], M[:, :1]])
        elif kind == "constant row":
            M[0] = 2.5
        else:
            M = np.where(np.abs(M) < 500, M * 1e-10, M)
        return kind, M
    return game()


@pytest.mark.parametrize("name,solve", _solvers(), ids=[n for n, _ in _solvers()])
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(game=_games())
def test_the_game_has_its_value(name, solve, game):
    """Generic games: the value of HiGHS, proved by the two strategies (min_r (M lam)_r = v =
    max_b (y M)_b). Degenerate ones: mixtures near the value, or None (the caller then asks
    its LP); never more than the value (the strategies are mixtures whatever happened)."""
    kind, M = game
    if not np.max(np.abs(M)) > 0:
        assert solve(M) is None  # (a zero game: nothing to mix)
        return
    got = solve(M)
    assert got is not None or kind != "generic"
    if got is None:
        return
    value, lam, y = got
    scale = float(np.max(np.abs(M)))
    best = _value_by_highs(M)
    assert np.all(lam >= 0) and np.all(y >= 0)
    assert abs(lam.sum() - 1) < 1e-12 and abs(y.sum() - 1) < 1e-12
    assert abs(value - (M @ lam).min()) <= 1e-12 * scale  # (the value of lam, as computed)
    # (HiGHS is right to its tolerances, about 1e-7 of the largest entry)
    assert value <= best + 1e-7 * scale and (y @ M).max() >= best - 1e-7 * scale
    if kind == "generic":  # the strategies prove each other optimal
        assert (y @ M).max() - value <= 1e-9 * scale and abs(best - value) <= 1e-7 * scale
    else:
        assert best - value <= 1e-6 * scale


@pytest.mark.skipif(not kernels.native_available(), reason="the compiled core is not built")
def test_the_compiled_game_follows_its_twin():
    """The same dual simplex in C++ and numpy: on generic games, the same strategies, not just
    the same value."""
    from nncells.kernels import _native
    rng = np.random.default_rng(5)
    for _ in range(100):
        M = rng.normal(size=(rng.integers(1, 14), rng.integers(1, 40)))
        (v1, l1, y1), (v2, l2, y2) = _native.best_mixture(M), best_mixture(M)
        assert abs(v1 - v2) < 1e-12 and np.allclose(l1, l2, atol=1e-12) and np.allclose(y1, y2, atol=1e-12)


# ------------------------------------------------------------------------------- mix_witness
def _balls_in_square(rng, n):
    P = rng.uniform(0.1, 0.9, size=(n, 2))
    R = np.min(np.minimum(P, 1 - P), axis=1) * rng.uniform(0.2, 1.0, size=n)
    return P, R


BOX = (np.zeros(2), np.ones(2))


def test_a_mixture_reaches_a_side_no_ball_reaches_alone():
    """The band |x_2 - 0.5| <= 0.05 right of x_1 = 0.5, from two balls: one in the band left of
    x_1 = 0.5, one right of it below the band. Neither is there; a mixture of them is."""
    P = np.array([[0.45, 0.5], [0.9, 0.35]])
    R = np.array([0.04, 0.04])
    A = np.array([[0.0, 1.0], [0.0, -1.0]])
    c = np.array([0.55, -0.45])
    n, g = np.array([1.0, 0.0]), -0.5
    x, r = mix_witness(P, R, P @ n + g, A, c, [0], (A, c), n, g, True, BOX)
    assert x is not None and x[0] > 0.5 and abs(x[1] - 0.5) < 0.05
    assert r > 0 and r <= certified_depth(A, c, x, BOX) and r <= x[0] - 0.5
    # neither ball alone: the first is left of the hyperplane, the second outside the band
    assert P[0] @ n + g < 0 and np.any(A @ P[1] > c)


@pytest.mark.parametrize("seed", range(6))
def test_a_mixture_is_certified_or_none(seed):
    rng = np.random.default_rng(seed)
    P, R = _balls_in_square(rng, 12)
    A = rng.normal(size=(3, 2))
    A /= np.linalg.norm(A, axis=1)[:, None]
    c = A @ np.array([0.5, 0.5]) + rng.uniform(-0.1, 0.2, size=3)
    n = rng.normal(size=2)
    n /= np.linalg.norm(n)
    g = -float(n @ np.array([0.6, 0.4]))
    for side in (True, False):
        x, r = mix_witness(P, R, P @ n + g, A, c, [0, 1], (A, c), n, g, side, BOX)
        if x is None:
            continue
        s = 1.0 if side else -1.0
        assert np.all(A @ x + r <= c + 1e-15) and s * (n @ x + g) >= r > 0
        assert np.all(x - r >= 0) and np.all(x + r <= 1)


def test_no_ball_beyond_the_hyperplane_no_mixture():
    rng = np.random.default_rng(1)
    P, R = _balls_in_square(rng, 8)
    n, g = np.array([1.0, 0.0]), -0.95  # every centre left of x_1 = 0.95
    empty = np.zeros((0, 2)), np.zeros(0)
    assert mix_witness(P, R, P @ n + g, *empty, [0], empty, n, g, True, BOX) == (None, -np.inf)
    x, r = mix_witness(P, R, P @ n + g, *empty, [0], empty, n, g, False, BOX)
    assert x is not None and r > 0


def test_a_mixture_deep_enough_stops_the_search():
    """The game starts from a ball barely right of x_1 = 0.5; deeper balls are further right.
    Asked for any depth above 0.001, the first game (that ball alone) is enough; asked for
    nothing less than the best, the search takes the deeper balls in."""
    P = np.array([[0.503, 0.5], [0.7, 0.5], [0.75, 0.4], [0.3, 0.5]])
    R = np.array([0.1, 0.2, 0.2, 0.2])
    n, g = np.array([1.0, 0.0]), -0.5
    empty = np.zeros((0, 2)), np.zeros(0)
    first = mix_witness(P, R, P @ n + g, *empty, [0], empty, n, g, True, BOX, enough=0.001)
    best = mix_witness(P, R, P @ n + g, *empty, [0], empty, n, g, True, BOX)
    assert np.array_equal(first[0], P[0]) and 0.001 < first[1] <= 0.003
    assert best[1] >= 0.19 and best[0][0] > 0.6
    for x, r in (first, best):
        assert x[0] - 0.5 >= r and certified_depth(*empty, x, BOX) >= r
