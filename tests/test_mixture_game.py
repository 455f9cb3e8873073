"""The mixtures' game played on after columns come in (`geometry.mixture_game.MixtureGame`,
native/lp_mix.hpp): each solve has the game's value (against HiGHS), the compiled game follows
its numpy twin step for step, a game played on starts from its last optimum and pivots less
than played afresh, and new columns outside the first game's units are played afresh."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from nncells import kernels
from nncells.geometry.mixture_game import MixtureGame, best_mixture
from test_witness_balls import _games, _value_by_highs


def _numpy_rounds(M, batches):
    game, out, k = MixtureGame(len(M)), [], 0
    for upto in batches:
        game.add(M[:, k:upto])
        k = upto
        got = game.solve()
        out.append(None if got is None else (*got, game.warm, game.iterations))
    return out


def _solvers():
    out = [("numpy", _numpy_rounds)]
    if kernels.native_available():
        from nncells.kernels import _native
        out.append(("native", _native.mixture_rounds))
    return out


def _batches(P, draw):
    cuts = draw(st.lists(st.integers(1, P), min_size=1, max_size=5))
    return sorted(set(cuts) | {P})


@pytest.mark.parametrize("name,rounds", _solvers(), ids=[n for n, _ in _solvers()])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(game=_games(), data=st.data())
def test_a_game_played_on_has_its_value(name, rounds, game, data):
    """After each batch of columns, the game over the columns so far: never above its value
    (the strategies are mixtures), at it on generic games (the two strategies prove it)."""
    kind, M = game
    if not np.max(np.abs(M)) > 0:
        return
    batches = _batches(M.shape[1], data.draw)
    for upto, got in zip(batches, rounds(M, batches)):
        assert got is not None or kind != "generic"
        if got is None:
            continue
        sub = M[:, :upto]
        value, lam, y = got[:3]
        scale = float(np.max(np.abs(sub)))
        best = _value_by_highs(sub)
        assert len(lam) == upto and np.all(lam >= 0) and np.all(y >= 0)
        assert abs(lam.sum() - 1) < 1e-12 and abs(y.sum() - 1) < 1e-12
        assert abs(value - (sub @ lam).min()) <= 1e-12 * scale
        assert value <= best + 1e-7 * scale and (y @ sub).max() >= best - 1e-7 * scale
        if kind == "generic":
            assert (y @ sub).max() - value <= 1e-9 * scale and abs(best - value) <= 1e-7 * scale
        else:
            assert best - value <= 1e-6 * scale


@pytest.mark.skipif(not kernels.native_available(), reason="the compiled core is not built")
def test_the_compiled_game_played_on_follows_its_twin():
    """Generic games in batches: the same strategies, warm starts and pivots in C++ and numpy."""
    from nncells.kernels import _native
    rng = np.random.default_rng(7)
    for _ in range(100):
        R, P = int(rng.integers(2, 16)), int(rng.integers(10, 60))
        M = rng.normal(size=(R, P))
        batches = sorted({5, *rng.integers(6, P + 1, size=4).tolist()})
        for a, b in zip(_native.mixture_rounds(M, batches), _numpy_rounds(M, batches)):
            assert (a is None) == (b is None)
            if a is not None:
                assert abs(a[0] - b[0]) < 1e-12 and np.allclose(a[1], b[1], atol=1e-12)
                assert np.allclose(a[2], b[2], atol=1e-12) and a[3:] == b[3:]


@pytest.mark.parametrize("name,rounds", _solvers(), ids=[n for n, _ in _solvers()])
def test_playing_on_starts_from_the_last_optimum(name, rounds):
    """Every solve after the first starts from the last optimum, and the pivots of all of them
    together are fewer than those of the same games played afresh (a pure function of the
    seeded games: no timing)."""
    rng = np.random.default_rng(3)
    on = afresh = 0
    for _ in range(40):
        R, P = int(rng.integers(4, 16)), int(rng.integers(30, 60))
        M = rng.normal(size=(R, P))
        batches = list(range(6, P, 8)) + [P]
        got = rounds(M, batches)
        assert [g[3] for g in got] == [False] + [True] * (len(batches) - 1)
        on += sum(g[4] for g in got[1:])
        afresh += sum(rounds(M[:, :k], [k])[0][4] for k in batches[1:])
        assert all(not rounds(M[:, :k], [k])[0][3] for k in batches[1:])
    assert on < afresh / 2


@pytest.mark.parametrize("name,rounds", _solvers(), ids=[n for n, _ in _solvers()])
def test_columns_outside_the_first_units_are_played_afresh(name, rounds):
    """A column a thousand times larger than the first game's entries does not fit its units:
    the game is played afresh (not from the last optimum), with the value of `best_mixture`."""
    rng = np.random.default_rng(11)
    M = np.hstack([rng.normal(size=(4, 6)), 1e3 * rng.normal(size=(4, 1)), rng.normal(size=(4, 3))])
    got = rounds(M, [6, 7, 10])
    assert [g[3] for g in got] == [False, False, True]
    for k, g in zip([6, 7, 10], got):
        assert abs(g[0] - best_mixture(M[:, :k])[0]) <= 1e-12 * np.max(np.abs(M[:, :k]))
