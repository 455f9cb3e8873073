"""Tests of nncells.analysis (rank vs children, fits, global bounds) and its plots."""
import itertools
from math import comb

import numpy as np
import pytest

from nncells import Box, Network, NNCellsError, Space, enumerate_regions, random_network
from nncells.analysis import measures as an


def _enum(net, domain):
    return enumerate_regions(net, domain, workers=1, method="cells")


# ------------------------------------------------------------------ rank vs children
def hand_network():
    """h = relu(x, y); layer 2 (k = 3): h1 + h2 - 1, h1 - h2, h1 + 2 h2 - 4.

    Layer-1 regions (quadrants) and their layer-2 children, counted by hand:
    x<0,y<0: h = 0, rank 0, every neuron constant -> 1 child;
    x>0,y<0: h = (x, 0), rank 1, cuts at x = 1 and x = 4 (h1 - h2 = x > 0 never cuts) -> 3;
    x<0,y>0: h = (0, y), rank 1, cuts at y = 1 and y = 2 (h1 - h2 = -y < 0) -> 3;
    x>0,y>0: rank 2, lines x+y=1, x=y, x+2y=4 meet inside the quadrant at (1/2, 1/2) and
    (4/3, 4/3) but not at (-2, 3): 1 + 3 lines + 2 crossings = 6 children.
    """
    W1, b1 = np.eye(2), np.zeros(2)
    W2, b2 = np.array([[1.0, 1.0], [1.0, -1.0], [1.0, 2.0]]), np.array([-1.0, 0.0, -4.0])
    return Network([W1, W2, np.ones((1, 3))], [b1, b2, np.zeros(1)])


@pytest.mark.parametrize("domain", [Space(), Box(-5, 5)])
def test_rank_children_hand_built(domain):
    res = _enum(hand_network(), domain)
    assert res.count == 13
    t = an.rank_children(res)
    assert set(t) == set(an.RANK_COLUMNS)
    got = sorted(zip(t["rank"].tolist(), t["children"].tolist(), t["max_children"].tolist()))
    # bounds for k = 3: rank 0 -> 1, rank 1 -> 1 + 3, rank 2 -> 1 + 3 + 3
    assert got == [(0, 1, 1), (1, 3, 4), (1, 3, 4), (2, 6, 7)]
    assert np.all(t["layer"] == 1) and np.all(t["width"] == 3)
    assert sorted(t["parent"].tolist()) == [0, 1, 2, 3]
    s = an.rank_summary(t)
    assert s["rank"].tolist() == [0, 1, 2]
    assert s["parents"].tolist() == [1, 2, 1]
    assert s["mean_children"].tolist() == [1.0, 3.0, 6.0]
    assert np.allclose(s["fill"], [1.0, 0.75, 6 / 7])


def test_rank_children_random_networks_are_consistent():
    net = random_network([3, 6, 5, 4, 1], seed=3)
    res = _enum(net, Box(-2, 2, 3))
    t = an.rank_children(res)
    for layer in (1, 2):
        m = t["layer"] == layer
        assert t["children"][m].sum() == res.per_layer[layer]      # children partition the layer
        assert m.sum() == res.per_layer[layer - 1]                 # one row per parent
        assert np.all(t["width"][m] == net.widths[layer])
    assert np.all(t["children"] <= t["max_children"])
    assert np.all(t["children"][t["rank"] == 0] == 1)
    assert np.all(t["rank"] <= 3)


def test_rank_children_one_layer_is_empty():
    res = _enum(random_network([2, 4, 1], seed=0), Box(-1, 1, 2))
    t = an.rank_children(res)
    assert all(len(v) == 0 for v in t.values())


def test_concat_tables_adds_constant_columns():
    a = {"x": np.array([1, 2])}
    b = {"x": np.array([3])}
    out = an.concat_tables([a, b], name=["a", "b"])
    assert out["x"].tolist() == [1, 2, 3] and out["name"].tolist() == ["a", "a", "b"]


# ------------------------------------------------------------------ fits
def test_fit_line_exact_and_noisy():
    x = np.array([1.0, 2.0, 5.0, 10.0])
    f = an.fit_line(x, 3 * x + 2)
    assert f["slope"] == pytest.approx(3) and f["intercept"] == pytest.approx(2)
    assert f["r2"] == pytest.approx(1.0) and f["n"] == 4
    g = an.fit_line(x, 3 * x + np.array([0.0, 4.0, -4.0, 1.0]))
    assert 0 < g["r2"] < 1
    with pytest.raises(NNCellsError):
        an.fit_line([1.0, 1.0], [2.0, 3.0])
    with pytest.raises(NNCellsError):
        an.fit_line([1.0, 2.0], [2.0])


def test_scaling_fits_exponent():
    runs = [{"regions": n, "seconds": 1e-3 * n, "lp_solves": 2 * n * n} for n in (10, 100, 1000)]
    f = an.scaling_fits(runs)
    assert f["seconds"]["slope"] == pytest.approx(1e-3)
    assert f["seconds"]["exponent"] == pytest.approx(1.0)
    assert f["lp_solves"]["exponent"] == pytest.approx(2.0)
    res = [_enum(random_network([2, w, 1], seed=w), Box(-1, 1, 2)) for w in (3, 6, 9)]
    f = an.scaling_fits(res)  # EnumerationResults are accepted too
    assert f["seconds"]["n"] == 3


# ------------------------------------------------------------------ bounds
def serra_brute(n0, widths):
    """Theorem 1 of Serra et al. by enumerating J directly."""
    total = 0
    for js in itertools.product(*(range(n + 1) for n in widths)):
        ok, cap = True, n0
        for j, n in zip(js, widths):
            if j > min(cap, n):
                ok = False
                break
            cap = min(cap, n - j)
        if ok:
            total += np.prod([comb(n, j) for n, j in zip(widths, js)], dtype=object)
    return int(total)


@pytest.mark.parametrize("n0,widths", [(1, [1, 1]), (1, [2, 3]), (2, [3, 3]), (3, [3, 3]),
                                       (2, [2, 2, 2]), (3, [4, 2, 3]), (4, [3, 5]), (2, [5, 1, 4])])
def test_serra_matches_brute_force_and_is_below_montufar(n0, widths):
    s = an.serra_upper_bound(n0, widths)
    assert s == serra_brute(n0, widths)
    assert s <= an.montufar_upper_bound(n0, widths) <= 2 ** sum(widths)


def test_bounds_known_values():
    assert an.serra_upper_bound(1, [1, 1]) == 3      # a 1-1-1 net cuts the line into 3
    assert an.serra_upper_bound(3, [3, 3]) == 42     # 1*8 + 3*7 + 3*4 + 1*1
    assert an.montufar_upper_bound(3, [3, 3]) == 64
    assert an.montufar_max_lower_bound(2, [4, 4]) == (4 // 2) ** 2 * 11
    assert an.montufar_max_lower_bound(3, [2, 4]) is None
    for n0, n1 in [(1, 5), (2, 6), (3, 5), (4, 3)]:   # one layer: Zaslavsky
        z = sum(comb(n1, j) for j in range(min(n0, n1) + 1))
        assert an.serra_upper_bound(n0, [n1]) == an.montufar_upper_bound(n0, [n1]) == z
        assert an.arrangement_max(n1, n0) == z
    with pytest.raises(NNCellsError):
        an.serra_upper_bound(0, [3])
    with pytest.raises(NNCellsError):
        an.global_bounds(2)


@pytest.mark.parametrize("dims", [[2, 6, 1], [3, 5, 1]])
def test_one_layer_exact_count_equals_serra(dims):
    net = random_network(dims, seed=1)  # Gaussian weights: general position
    row = an.bounds_row(_enum(net, Space()))
    assert row["exact"] == row["serra"] == row["montufar"]
    assert row["serra_ratio"] == 1.0


@pytest.mark.parametrize("dims,seed", [([2, 3, 3, 1], 0), ([2, 4, 4, 1], 1), ([3, 3, 3, 1], 2),
                                       ([2, 2, 2, 2, 1], 3), ([3, 4, 2, 1], 4), ([2, 5, 5, 1], 5)])
def test_bounds_never_below_exact(dims, seed):
    net = random_network(dims, seed=seed, bias_scale=0.5)
    res = _enum(net, Space())
    b = an.global_bounds(net)
    assert res.count <= b["serra"] <= b["montufar"] <= b["trivial"]
    assert an.bounds_row(res)["arch"] == "-".join(map(str, dims[:-1]))


# ------------------------------------------------------------------ plots
def test_plots_write_png_and_svg(tmp_path):
    pytest.importorskip("matplotlib")
    from nncells.analysis import figures as ap
    res = _enum(random_network([2, 5, 5, 1], seed=0), Box(-2, 2, 2))
    t = an.rank_children(res)
    runs = [{"regions": n, "seconds": 1e-3 * n, "lp_solves": n, "input_dim": 2, "domain": "box"}
            for n in (10, 50, 200)]
    rows = [{"arch": "2-5-5", **an.global_bounds(2, [5, 5]), "exact": res.count, "trained": False}]
    figs = [ap.plot_rank_children(t, tmp_path / "rank"),
            ap.plot_scaling(runs, {"box": an.scaling_fits(runs)}, tmp_path / "scaling"),
            ap.plot_bounds(rows, tmp_path / "bounds.png"),
            ap.plot_speedup([{"arch": "2-5-5", "regions": 9, "speedup": 1.5}], tmp_path / "speed")]
    for stem in ("rank", "scaling", "bounds", "speed"):
        for ext in (".png", ".svg"):
            assert (tmp_path / (stem + ext)).stat().st_size > 1000
    assert len(figs[0].axes) >= 1
    with pytest.raises(NNCellsError):
        ap.plot_rank_children(an.rank_children(_enum(random_network([2, 3, 1]), Box(-1, 1, 2))))
