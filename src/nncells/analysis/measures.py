"""Analyses of enumerations: region rank against further partitioning, runtime against the
number of regions, and global upper bounds on the number of regions.

All functions take plain numbers, `EnumerationResult` objects or lists of run records (dicts)
and return plain Python / numpy data (tables are dicts of equal-length numpy arrays), so they
can be written to CSV or JSON directly.

References
----------
Drammis et al., Parallel Algorithms for Exact Enumeration of Deep Neural Network Activation
Regions, arXiv:2403.00860, 2024 (region rank and further partitioning; runtime linear in regions).
Serra, Tjandraatmadja, Ramalingam, Bounding and Counting Linear Regions of Deep Neural Networks,
ICML 2018, arXiv:1711.02114 (Theorem 1).
Montufar, Pascanu, Cho, Bengio, On the Number of Linear Regions of Deep Neural Networks,
NeurIPS 2014; Montufar, Notes on the number of linear regions of deep neural networks, 2017.
"""
from __future__ import annotations

from math import comb
from typing import TYPE_CHECKING, Any

import numpy as np

from nncells.errors import NNCellsError
from nncells.local import arrangement_regions as _zaslavsky
from nncells.network import Network

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    import numpy.typing as npt

    from nncells.results.result import EnumerationResult

RANK_COLUMNS = ("layer", "parent", "rank", "children", "width", "max_children")


def arrangement_max(k: int, d: int) -> int:
    """Most regions that ``k`` hyperplanes cut ``R^d`` into: ``sum_{j<=d} C(k, j)`` (Zaslavsky 1975).

    Parameters
    ----------
    k : number of hyperplanes (non-negative).
    d : dimension (non-negative).

    Returns
    -------
    int, reached by hyperplanes in general position.

    Examples
    --------
    >>> from nncells.analysis.measures import arrangement_max
    >>> arrangement_max(3, 2)  # three lines in general position: 7 regions
    7
    >>> arrangement_max(4, 1), arrangement_max(2, 5)  # 4 points on a line; 2 hyperplanes: 4
    (5, 4)
    """
    if k < 0 or d < 0:
        raise NNCellsError(f"k and d must be non-negative, got k={k}, d={d}")
    return _zaslavsky(int(k), int(d))


def _int_column(values: Iterable[int]) -> np.ndarray:
    """Exact ints as int64 when they fit, else float64 (huge bounds only)."""
    values = list(values)
    if values and max(values) >= 2 ** 62:
        return np.array([float(v) for v in values])
    return np.array(values, dtype=np.int64)


# ------------------------------------------------------------------ rank vs children
def rank_children(result: EnumerationResult) -> dict[str, np.ndarray]:
    """Rank of each parent region's affine map against its number of child regions.

    For every hidden layer ``l >= 1`` and every region ``p`` of layer ``l - 1``'s partition:
    ``rank`` is the rank of the map from the input to layer ``l - 1``'s output on ``p``,
    ``children`` the number of regions of layer ``l`` inside ``p``, and ``max_children``
    ``sum_{j <= rank} C(k, j)`` with ``k`` the number of ReLU units of layer ``l``: on a rank-r
    region the layer's ``k`` neurons are ``k`` hyperplanes of an r-dimensional image, so they cut
    it like an r-dimensional arrangement (Drammis et al. 2024). Linear (pass-through) units cut
    nothing: ``width`` counts the ReLU units only (`Network.relu_widths`); the rank counts every
    unit of layer ``l - 1``'s output.

    Parameters
    ----------
    result : EnumerationResult

    Returns
    -------
    dict of numpy arrays with keys ``layer``, ``parent`` (index in layer ``l - 1``'s
    canonical numbering), ``rank``, ``children``, ``width`` (k) and ``max_children``; one row
    per parent region.

    Examples
    --------
    >>> import nncells
    >>> from nncells.analysis.measures import rank_children
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> table = rank_children(res)
    >>> sorted(table)
    ['children', 'layer', 'max_children', 'parent', 'rank', 'width']
    >>> len(table["parent"]) == res.per_layer[0]  # one row per region of the first layer
    True
    >>> int(table["children"].sum()) == res.count
    True
    >>> bool((table["children"] <= table["max_children"]).all())
    True
    """
    widths = result.network.relu_widths
    cols: dict[str, list[int]] = {c: [] for c in RANK_COLUMNS}
    if result.count == 0:
        return {c: np.zeros(0, dtype=np.int64) for c in RANK_COLUMNS}
    for layer in range(1, len(widths)):
        up = result.layer_ids(layer - 1)            # parent of each final region
        n_par = int(up.max()) + 1
        rank = np.zeros(n_par, dtype=np.int64)
        rank[up] = result.ranks[:, layer - 1]       # every descendant carries the same rank
        children = np.bincount(result.parents(layer), minlength=n_par)
        cols["layer"] += [layer] * n_par
        cols["parent"] += list(range(n_par))
        cols["rank"] += rank.tolist()
        cols["children"] += children.tolist()
        cols["width"] += [widths[layer]] * n_par
        cols["max_children"] += [arrangement_max(widths[layer], r) for r in rank.tolist()]
    return {c: _int_column(v) for c, v in cols.items()}


def rank_summary(table: Mapping[str, npt.ArrayLike], by: Sequence[str] = ("layer", "rank")) -> dict[str, np.ndarray]:
    """Aggregate a `rank_children` table (or several concatenated) by the columns ``by``.

    Returns
    -------
    dict of numpy arrays: the ``by`` columns, ``parents`` (how many), ``mean_children``,
    ``max_observed``, ``max_children`` (the bound; the largest in the group when tables of
    different widths were concatenated) and ``fill`` (mean of children / bound).

    Examples
    --------
    >>> import nncells
    >>> from nncells.analysis.measures import rank_children, rank_summary
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> summary = rank_summary(rank_children(res))
    >>> summary["rank"].tolist(), summary["parents"].tolist()
    ([0, 1, 2], [1, 4, 3])
    >>> summary["mean_children"].tolist(), summary["max_children"].tolist()
    ([1.0, 2.0, 3.0], [1.0, 7.0, 22.0])
    """
    keys_cols = [np.asarray(table[c]) for c in by]
    ch, mx = np.asarray(table["children"], dtype=float), np.asarray(table["max_children"], dtype=float)
    keys = sorted(set(zip(*(k.tolist() for k in keys_cols))))
    out: dict[str, list[Any]] = {k: [] for k in (*by, "parents", "mean_children", "max_observed", "max_children", "fill")}
    for key in keys:
        m = np.ones(len(ch), dtype=bool)
        for col, v in zip(keys_cols, key):
            m &= col == v
        for c, v in zip(by, key):
            out[c].append(v)
        out["parents"].append(int(m.sum()))
        out["mean_children"].append(float(ch[m].mean()))
        out["max_observed"].append(int(ch[m].max()))
        out["max_children"].append(float(mx[m].max()))
        out["fill"].append(float(np.mean(ch[m] / mx[m])))
    return {k: np.asarray(v) for k, v in out.items()}


def concat_tables(tables: Iterable[Mapping[str, np.ndarray | Sequence[Any]]],
                  **constants: Sequence[object]) -> dict[str, np.ndarray]:
    """Concatenate tables (dicts of equal-length arrays); ``constants`` maps a new column name to
    one value per table (e.g. ``arch=["2-8-8", ...]``).

    Returns
    -------
    dict of numpy arrays (the first table's columns, plus the ``constants``); ``{}`` for no
    tables.

    Examples
    --------
    >>> from nncells.analysis.measures import concat_tables
    >>> a = {"rank": [0, 1], "children": [1, 3]}
    >>> b = {"rank": [2], "children": [5]}
    >>> t = concat_tables([a, b], arch=["2-4", "2-8"])
    >>> t["rank"].tolist(), t["children"].tolist(), t["arch"].tolist()
    ([0, 1, 2], [1, 3, 5], ['2-4', '2-4', '2-8'])
    """
    tables = list(tables)
    if not tables:
        return {}
    keys = list(tables[0])
    out = {k: np.concatenate([np.asarray(t[k]) for t in tables]) for k in keys}
    for name, values in constants.items():
        out[name] = np.concatenate([np.repeat(np.asarray([v]), len(t[keys[0]]))
                                    for v, t in zip(values, tables)])
    return out


# ------------------------------------------------------------------ runtime vs regions
def fit_line(x: npt.ArrayLike, y: npt.ArrayLike) -> dict[str, float]:
    """Least-squares line ``y = slope x + intercept`` and its coefficient of determination.

    Returns
    -------
    dict with ``slope``, ``intercept``, ``r2`` and ``n``; ``r2`` is NaN when ``y`` is constant.

    Examples
    --------
    >>> from nncells.analysis.measures import fit_line
    >>> fit = fit_line([0, 1, 2, 3], [1, 3, 5, 7])
    >>> round(fit["slope"], 6), round(fit["intercept"], 6), round(fit["r2"], 6), fit["n"]
    (2.0, 1.0, 1.0, 4)
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise NNCellsError(f"x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    if len(x) < 2 or np.ptp(x) == 0:
        raise NNCellsError("a line needs at least two distinct x values")
    slope, intercept = np.polyfit(x, y, 1)
    ss_res = float(np.sum((y - (slope * x + intercept)) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")
    return {"slope": float(slope), "intercept": float(intercept), "r2": r2, "n": int(len(x))}


def _run_value(run: EnumerationResult | dict[str, Any], key: str) -> Any:
    if isinstance(run, dict):
        return run[key]
    return run.count if key == "regions" else getattr(run, key)


def scaling_fits(runs: Iterable[EnumerationResult | dict[str, Any]],
                 keys: Sequence[str] = ("seconds", "lp_solves")) -> dict[str, dict[str, float]]:
    """Fit each of ``keys`` against the number of regions over a set of runs.

    Parameters
    ----------
    runs : iterable of `EnumerationResult` or dicts with ``regions`` and the ``keys``.

    Returns
    -------
    dict: key -> `fit_line` result, plus ``exponent`` (the slope of the log-log fit over runs
    with positive values; 1 means linear growth) and its ``exponent_r2``.

    Examples
    --------
    >>> from nncells.analysis.measures import scaling_fits
    >>> runs = [{"regions": n, "seconds": 0.01 * n, "lp_solves": 3 * n} for n in (10, 100, 1000)]
    >>> fits = scaling_fits(runs)
    >>> round(fits["seconds"]["slope"], 6), round(fits["lp_solves"]["slope"], 6)
    (0.01, 3.0)
    >>> round(fits["seconds"]["exponent"], 6)  # linear growth
    1.0
    """
    runs = list(runs)
    n = np.array([_run_value(r, "regions") for r in runs], dtype=np.float64)
    out = {}
    for key in keys:
        y = np.array([_run_value(r, key) for r in runs], dtype=np.float64)
        fit = fit_line(n, y)
        pos = (n > 0) & (y > 0)
        if pos.sum() >= 2 and np.ptp(n[pos]) > 0:
            lf = fit_line(np.log(n[pos]), np.log(y[pos]))
            fit["exponent"], fit["exponent_r2"] = lf["slope"], lf["r2"]
        else:
            fit["exponent"], fit["exponent_r2"] = float("nan"), float("nan")
        out[key] = fit
    return out


# ------------------------------------------------------------------ global bounds
def _dims(network_or_input_dim: Network | int, widths: Iterable[int] | None,
          linear: Iterable[int] | None = None) -> tuple[int, list[int], list[int]]:
    """``(n_0, widths, linear)``: the input dimension, the hidden widths (every unit) and the
    number of linear (pass-through) units of each hidden layer."""
    if isinstance(network_or_input_dim, Network):
        net = network_or_input_dim
        return net.input_dim, list(net.widths), [w - k for w, k in zip(net.widths, net.relu_widths)]
    if widths is None:
        raise NNCellsError("give a Network or an input dimension and the hidden widths")
    n0, widths = int(network_or_input_dim), [int(w) for w in widths]
    if n0 < 1 or any(w < 1 for w in widths):
        raise NNCellsError(f"dimensions must be positive, got input {n0} and widths {widths}")
    linear = [0] * len(widths) if linear is None else [int(k) for k in linear]
    if len(linear) != len(widths) or any(not 0 <= k <= w for k, w in zip(linear, widths)):
        raise NNCellsError(f"linear units must be one count per hidden layer, at most its width: got {linear} "
                           f"for widths {widths}")
    return n0, widths, linear


def montufar_upper_bound(network_or_input_dim: Network | int, widths: Iterable[int] | None = None,
                         linear: Iterable[int] | None = None) -> int:
    """``prod_l sum_{j <= d_l} C(k_l, j)`` with ``d_l = min(n_0, n_1, ..., n_{l-1})``.

    Each layer's ``k_l`` ReLU units cut every region of the previous layers like hyperplanes in
    the image of that region, whose dimension is at most ``d_l``. This is the upper bound that
    Serra et al. (2018) attribute to Montufar et al. (2014; stated in Montufar 2017); it holds
    for the whole input space and so for any domain. Exact Python int. Without linear units
    ``k_l = n_l``; a linear (pass-through) unit cuts nothing but carries a dimension on, so it
    counts in ``n_l`` and not in ``k_l``.

    Parameters
    ----------
    network_or_input_dim : a `Network`, or the input dimension ``n_0``.
    widths : the hidden widths ``n_1, ..., n_L``, every unit (with an input dimension only).
    linear : the number of linear units of each hidden layer (with an input dimension only;
        default none).

    Examples
    --------
    >>> import nncells
    >>> from nncells.analysis.measures import montufar_upper_bound
    >>> montufar_upper_bound(2, [6, 6])  # (1 + 6 + 15) ** 2
    484
    >>> montufar_upper_bound(nncells.random_network([2, 6, 6, 3], seed=0))
    484
    >>> montufar_upper_bound(2, [1, 6])  # the width-1 layer leaves a 1-dimensional image: 2 * 7
    14
    >>> montufar_upper_bound(2, [8, 6], linear=[2, 0])  # 6 ReLU units, then 6: 22 * 22
    484
    """
    n0, widths, linear = _dims(network_or_input_dim, widths, linear)
    total, d = 1, n0
    for n, lin in zip(widths, linear):
        total *= arrangement_max(n - lin, d)
        d = min(d, n)
    return total


def montufar_max_lower_bound(network_or_input_dim: Network | int, widths: Iterable[int] | None = None) -> int | None:
    """Montufar et al. (2014, Corollary 6): *some* network of this architecture has at least
    ``prod_{l<L} floor(n_l / n_0)^{n_0} * sum_{j <= n_0} C(n_L, j)`` regions (needs every
    ``n_l >= n_0``; None otherwise). A lower bound on the maximum, not a bound for a given network.
    None for a network with linear (pass-through) units too: the construction is for ReLU units.

    Examples
    --------
    >>> from nncells.analysis.measures import montufar_max_lower_bound
    >>> montufar_max_lower_bound(2, [6, 6])  # (6 // 2) ** 2 * (1 + 6 + 15)
    198
    >>> montufar_max_lower_bound(3, [2, 4]) is None  # a layer narrower than the input
    True
    """
    n0, widths, linear = _dims(network_or_input_dim, widths)
    if any(n < n0 for n in widths) or any(linear):
        return None
    total = 1
    for n in widths[:-1]:
        total *= (n // n0) ** n0
    return total * arrangement_max(widths[-1], n0)


def serra_upper_bound(network_or_input_dim: Network | int, widths: Iterable[int] | None = None,
                      linear: Iterable[int] | None = None) -> int:
    """Serra, Tjandraatmadja, Ramalingam (2018), Theorem 1:
    ``sum_{(j_1..j_L) in J} prod_l C(n_l, j_l)`` with
    ``J = {0 <= j_l <= min(n_0, n_1 - j_1, ..., n_{l-1} - j_{l-1}, n_l)}``.

    Computed exactly by dynamic programming over the running minimum ``min(n_0, n_1 - j_1, ...)``,
    so the cost is polynomial rather than the size of J. Exact Python int; never above
    `montufar_upper_bound`.

    With linear (pass-through) units (``linear``: their number per hidden layer, or a `Network`
    that has some) a layer has ``k_l = n_l - lin_l`` ReLU units: ``C(k_l, j_l)`` with
    ``j_l <= min(d, k_l)``, and the running minimum becomes ``min(d, k_l - j_l + lin_l)`` (a region
    counted by ``j_l`` has at most ``k_l - j_l`` active ReLU units, the image of its map at most
    that many dimensions plus the linear units').

    Examples
    --------
    >>> from nncells.analysis.measures import montufar_upper_bound, serra_upper_bound
    >>> serra_upper_bound(2, [6, 6])
    484
    >>> serra_upper_bound(4, [3, 3, 3]), montufar_upper_bound(4, [3, 3, 3])
    (211, 512)
    >>> serra_upper_bound(2, [8, 6], linear=[2, 0]), serra_upper_bound(2, [6, 6])
    (484, 484)
    """
    n0, widths, linear = _dims(network_or_input_dim, widths, linear)
    states = {n0: 1}  # running min -> sum of products over the prefixes reaching it
    for n, lin in zip(widths, linear):
        k = n - lin
        nxt: dict[int, int] = {}
        for d, v in states.items():
            for j in range(min(d, k) + 1):
                key = min(d, k - j + lin)
                nxt[key] = nxt.get(key, 0) + v * comb(k, j)
        states = nxt
    return sum(states.values())


def global_bounds(network_or_input_dim: Network | int, widths: Iterable[int] | None = None,
                  linear: Iterable[int] | None = None) -> dict[str, Any]:
    """All global bounds of an architecture: ``montufar``, ``serra``, ``trivial`` (2^ReLU units)
    and ``montufar_max_lower`` (None when it does not apply). ``linear``: the number of linear
    (pass-through) units of each hidden layer, with an input dimension and widths (a `Network`
    knows its own); they cut nothing, so only ReLU units count in the bounds.

    Examples
    --------
    >>> import nncells
    >>> from nncells.analysis.measures import global_bounds
    >>> global_bounds(nncells.random_network([2, 6, 6, 3], seed=0))
    {'montufar': 484, 'serra': 484, 'trivial': 4096, 'montufar_max_lower': 198}
    >>> global_bounds(4, [3, 3, 3])["serra"]
    211
    >>> global_bounds(2, [4, 2], linear=[2, 0])   # 2 ReLU units carried beside 2 linear, then 2
    {'montufar': 16, 'serra': 16, 'trivial': 16, 'montufar_max_lower': None}
    """
    n0, widths, linear = _dims(network_or_input_dim, widths, linear)
    return {"montufar": montufar_upper_bound(n0, widths, linear), "serra": serra_upper_bound(n0, widths, linear),
            "trivial": 2 ** (sum(widths) - sum(linear)),
            "montufar_max_lower": None if any(linear) else montufar_max_lower_bound(n0, widths)}


def bounds_row(result: EnumerationResult) -> dict[str, Any]:
    """The exact count of an enumeration beside the global bounds of its network's architecture
    (meaningful against the bounds for the whole space, `nncells.Space`; the bounds hold in any
    domain). Adds ``serra_ratio`` = exact / serra.

    Examples
    --------
    >>> import nncells
    >>> from nncells.analysis.measures import bounds_row
    >>> net = nncells.random_network([2, 4, 4, 1], seed=0)
    >>> row = bounds_row(nncells.enumerate_regions(net, nncells.Space(), workers=1))
    >>> row["arch"], row["exact"], row["serra"], row["trivial"]
    ('2-4-4', 28, 121, 256)
    >>> row["exact"] <= row["serra"] <= row["montufar"] <= row["trivial"]
    True
    >>> round(row["serra_ratio"], 4)
    0.2314
    """
    net = result.network
    row: dict[str, Any] = {"arch": "-".join(map(str, [net.input_dim] + net.widths)), "exact": int(result.count)}
    row.update(global_bounds(net))
    row["serra_ratio"] = row["exact"] / row["serra"]
    return row
