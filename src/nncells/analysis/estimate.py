"""Know before you wait: how many regions a run may find and how long it may take, without running it.

Three measurements, each cheap and each honest about what it is:

- `upper_bound`: a proven upper bound on the number of regions, the smallest of the global bounds
  (Serra et al. 2018, Montufar et al. 2014, ``2^units``; `nncells.analysis.measures`) and, for a
  box or a ball, the local bound of `nncells.local.upper_bound_in_ball` (a box is the unit
  ``inf``-ball of the network composed with the box's affine map, so the bound is the box's own);
- `sampled_regions`: distinct activation patterns among random points of the domain, each checked
  against the numerical contract (`nncells.geometry.contract`: a point deeper than
  ``tol * ||x||_inf`` in its region and in the domain), so their number is a lower bound of the
  exact count;
- `measure_rate`: regions per second of the real enumeration (`nncells.api.count_regions`, one
  worker), stopped after a few seconds.

`dry_run` puts them together; `run_note` is the cheap check made before a run starts, and
`slow_run_note` its decision, a pure function.
"""
from __future__ import annotations

import math
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, NoReturn, cast

import numpy as np

from nncells import _config
from nncells.analysis.measures import global_bounds, montufar_upper_bound
from nncells.domains import Ball, Box, Space

if TYPE_CHECKING:
    from nncells.domains import Domain
    from nncells.network import Network

#: Regions per second assumed by `run_note` (fast: the note speaks only when even a fast run of
#: the proven bound would take longer than an hour).
NOTE_RATE = 1e5
#: Seconds above which `run_note` warns.
NOTE_SECONDS = 3600.0
#: Fraction of the samples that must land in distinct regions for the note (a sample that sees
#: few regions says the count is small, whatever the bound).
NOTE_SATURATION = 0.5
#: Points whose region depth is checked, at most: their cost (pulled-back normals) grows with the
#: widths; the budget below is in multiply-adds (about half a second).
VERIFY_BUDGET = 5e9
VERIFY_MIN = 16
#: Checked points must be deeper than this many times the contract's threshold (float rounding).
SAFETY = 4.0


def _div(count: int, rate: float) -> int | float:
    """``count / rate`` as a float, or an int when it is beyond float range (JSON has no infinity).

    Examples
    --------
    >>> _div(10, 4.0), _div(10 ** 400, 0.5) == 2 * 10 ** 400
    (2.5, True)
    """
    try:
        q = count / rate
    except OverflowError:
        q = math.inf
    return q if math.isfinite(q) else int(count) * 1000 // max(1, round(rate * 1000))


def _box_network(network: Network, box: Box) -> Network:
    """The network on the unit ``inf``-ball: ``y -> f(c + h * y)`` for the box ``c +- h``."""
    return network.compose_input(np.diag((box.hi - box.lo) / 2.0), (box.hi + box.lo) / 2.0)


def upper_bound(network: Network, domain: Domain | None = None, method: str = "crown") -> tuple[int, str]:
    """The tightest proven upper bound on the number of regions of ``network`` in ``domain``.

    Parameters
    ----------
    network : `Network`
    domain : `Box`, `Ball`, `Polytope` or `Space` (default: the whole space), resolved.
    method : the bound propagation of the local bound, ``"crown"`` or ``"interval"``.

    Returns
    -------
    (int, str)
        The bound (an exact Python int, possibly huge) and its name: ``"serra"``, ``"montufar"``,
        ``"trivial"`` or ``"local"``.

    Examples
    --------
    >>> import nncells
    >>> from nncells.analysis.estimate import upper_bound
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> upper_bound(net, nncells.Space(2))
    (484, 'serra')
    >>> upper_bound(net, nncells.Box(-0.5, 0.5).resolve(2))
    (11, 'local')
    """
    from nncells.local import upper_bound_in_ball
    g = global_bounds(network)
    best = (g["serra"], "serra")
    for k in ("montufar", "trivial"):
        if g[k] < best[0]:
            best = (g[k], k)
    local = None
    if isinstance(domain, Box) and network.widths:
        local = cast(int, upper_bound_in_ball(_box_network(network, domain), np.zeros(network.input_dim), 1.0, "inf",
                                              method))  # (one centre: an int)
    elif isinstance(domain, Ball) and network.widths:
        local = cast(int, upper_bound_in_ball(network, domain.center, domain.radius, domain.norm, method))
    if local is not None and local < best[0]:
        best = (int(local), "local")
    return int(best[0]), best[1]


def _sample(network: Network, domain: Domain | None, n: int,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray] | None:
    """``n`` points of ``domain`` (a box of the network's own length for the whole space) and each
    one's distance to the domain's boundary; None for a domain that cannot be sampled."""
    from nncells.engine.tasks import network_length
    if isinstance(domain, Space) or domain is None:
        L = network_length(network)
        X = rng.uniform(-L, L, size=(n, network.input_dim))
        return X, np.full(n, np.inf)
    if isinstance(domain, Box):
        X = domain.sample(n, rng)
        return X, np.minimum((X - domain.lo).min(axis=1), (domain.hi - X).min(axis=1))
    if isinstance(domain, Ball):
        X = domain.sample(n, rng)
        dev = X - domain.center
        r = np.max(np.abs(dev), axis=1) if domain.norm == "inf" else np.linalg.norm(dev, axis=1)
        return X, domain.radius - r
    return None


def verify_budget(network: Network) -> int:
    """How many sampled points `sampled_regions` checks at most (a fixed cost model, no timing).

    Examples
    --------
    >>> import nncells
    >>> from nncells.analysis.estimate import verify_budget
    >>> verify_budget(nncells.random_network([784, 512, 512, 10], seed=0))
    37
    """
    w, d = network.widths, network.input_dim
    cost = d * (w[0] if w else 1) + sum(w[k] * w[k - 1] * min(d, w[0]) for k in range(1, len(w)))
    return max(VERIFY_MIN, int(VERIFY_BUDGET // max(cost, 1)))


def sampled_regions(network: Network, domain: Domain | None = None, n_samples: int = 1000, *, seed: int = 0, tol: float | None = None,
                    max_checked: int | None = None) -> dict[str, int]:
    """A lower bound of the number of regions: distinct patterns among ``n_samples`` random points
    of ``domain`` whose point is checked to lie deeper than ``SAFETY * tol * ||x||_inf`` in its
    region (`nncells.local.boundary_distance`) and in the domain.

    For each pattern the point farthest inside the domain is checked, for at most
    ``max_checked`` patterns (default `verify_budget`). The whole space is sampled in a box of
    the network's own length; a `Polytope` is not sampled (0 samples).

    Returns
    -------
    dict
        ``regions`` (the lower bound), ``patterns`` (distinct patterns seen, unchecked),
        ``samples`` and ``checked`` (points whose depth was computed).

    Examples
    --------
    >>> import nncells
    >>> from nncells.analysis.estimate import sampled_regions
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> s = sampled_regions(net, nncells.Box(-1, 1).resolve(2), 500)
    >>> s["regions"] <= s["patterns"] <= 500, s["regions"] <= nncells.count_regions(net, nncells.Box(-1, 1),
    ...                                                                            workers=1)["regions"]
    (True, True)
    """
    from nncells.local import boundary_distance
    tol = _config.DEFAULT_TOL if tol is None else float(tol)
    drawn = _sample(network, domain, int(n_samples), np.random.default_rng(seed))
    if drawn is None or n_samples < 1:
        return {"regions": 0, "patterns": 0, "samples": 0, "checked": 0}
    X, margin = drawn
    pats = network.pattern(X).reshape(len(X), -1)
    uniq, inv = np.unique(pats, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    order = np.lexsort((-margin, inv))            # by pattern, deepest in the domain first
    first = order[np.r_[True, inv[order][1:] != inv[order][:-1]]]
    cap = verify_budget(network) if max_checked is None else int(max_checked)
    idx = first[:cap]
    need = SAFETY * tol * np.max(np.abs(X[idx]), axis=1)
    deep = (np.minimum(margin[idx], boundary_distance(network, X[idx])) > need) if len(idx) else idx
    return {"regions": int(np.count_nonzero(deep)), "patterns": int(len(uniq)), "samples": int(len(X)),
            "checked": int(len(idx))}


class _Budget(KeyboardInterrupt):
    """The measurement's time is up (raised by its timer or its progress callback)."""


def measure_rate(network: Network, domain: Domain | None = None, seconds: float = 2.0, *, tol: float | None = None, method: str = "auto",
                 backend: str | None = None) -> dict[str, Any]:
    """Run the real enumeration (`nncells.api.count_regions`, one worker) for about ``seconds``.

    The run is stopped by a timer (``SIGALRM``, in the main thread; elsewhere only between tasks).
    Regions count when their task hands them back, so tasks hand back often while it runs (the
    root's warm-up and the task budget are cut to a twentieth of ``seconds``); a run whose tasks
    handed back no region in the time measured nothing: ``rate`` is then ``"not measured"`` and
    ``regions_per_second`` None (the work done inside an unfinished task is unknown: it is no
    bound either way). A run that finishes in the time gives the exact count (``finished``).

    Returns
    -------
    dict
        ``regions``, ``seconds``, ``finished``, ``regions_per_second`` (None when not measured),
        ``rate`` (``"measured"`` or ``"not measured"``), ``workers`` (1) and ``method``.

    Examples
    --------
    >>> import nncells
    >>> from nncells.analysis.estimate import measure_rate
    >>> m = measure_rate(nncells.random_network([2, 6, 1], seed=0), nncells.Space(2), 5.0)
    >>> m["finished"], m["regions"]
    (True, 22)
    """
    from nncells.api import count_regions
    from nncells.run.driver import RunInterrupted
    fired = []

    def stop(*_: object) -> NoReturn:
        fired.append(True)
        raise _Budget()

    def progress(found: int, extra: str = "") -> None:
        if time.perf_counter() - t0 >= seconds:
            stop()

    timer = threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
    old = signal.signal(signal.SIGALRM, stop) if timer else None
    t0 = time.perf_counter()
    finished, regions, used = False, 0, method
    budgets = _config.WARMUP_S, _config.TASK_BUDGET_S
    _config.WARMUP_S = _config.TASK_BUDGET_S = min(_config.TASK_BUDGET_S, max(float(seconds), 1e-3) / 20)
    try:
        if timer:
            signal.setitimer(signal.ITIMER_REAL, max(float(seconds), 1e-3))
        s = count_regions(network, domain, tol=tol, method=method, workers=1, progress=progress, backend=backend)
        finished, regions, used = True, int(s["regions"]), s["method"]
    except RunInterrupted as e:
        if not fired:
            raise  # Ctrl-C or SIGTERM: not ours
        regions = int(e.regions)
    except _Budget:
        pass
    finally:
        _config.WARMUP_S, _config.TASK_BUDGET_S = budgets
        if timer:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
    took = max(time.perf_counter() - t0, 1e-9)
    measured = regions > 0 or finished
    return {"regions": regions, "seconds": took, "finished": finished,
            "regions_per_second": max(regions, 1) / took if measured else None,
            "rate": "measured" if measured else "not measured", "workers": 1, "method": used}


def dry_run(network: Network, domain: Domain | None = None, *, samples: int = 1000, seconds: float = 2.0, seed: int = 0,
            tol: float | None = None, method: str = "auto", backend: str | None = None,
            bound_method: str = "crown") -> dict[str, Any]:
    """The estimate of ``nncells enumerate --dry-run``: a JSON-ready dict.

    Keys: ``regions_upper_bound`` (proven, an int) and ``upper_bound_kind``; ``sampled_regions``
    (a lower bound, an int); ``regions_per_second`` (a float); ``estimated_seconds``
    ``{"upper_bound": ..., "sampled": ...}`` (each count at that rate: a float, or an int beyond
    float range); ``measured`` (what was measured: ``samples``, ``patterns``, ``checked``,
    ``seconds``, ``regions``, ``finished``, ``rate``, ``workers``, ``method``); ``regions`` (the
    exact count, only when the measuring run finished).

    Examples
    --------
    >>> import nncells
    >>> from nncells.analysis.estimate import dry_run
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> e = dry_run(net, nncells.Box(-1, 1).resolve(2), samples=200, seconds=5.0)
    >>> e["sampled_regions"] <= e["regions"] <= e["regions_upper_bound"]
    True
    >>> sorted(e["estimated_seconds"])
    ['sampled', 'upper_bound']
    """
    ub, kind = upper_bound(network, domain, bound_method)
    s = sampled_regions(network, domain, samples, seed=seed, tol=tol)
    m = measure_rate(network, domain, seconds, tol=tol, method=method, backend=backend)
    rate = m["regions_per_second"]
    out = {"regions_upper_bound": ub, "upper_bound_kind": kind, "sampled_regions": s["regions"],
           "regions_per_second": rate,
           "estimated_seconds": {"upper_bound": None if rate is None else _div(ub, rate),
                                 "sampled": None if rate is None else _div(s["regions"], rate)},
           "measured": {"samples": s["samples"], "patterns": s["patterns"], "checked": s["checked"],
                        "seconds": m["seconds"], "regions": m["regions"], "finished": m["finished"],
                        "rate": m["rate"], "workers": m["workers"], "method": m["method"]}}
    if m["finished"]:
        out["regions"] = m["regions"]
    return out


def slow_run_note(upper: int, seen: int, samples: int, rate: float = NOTE_RATE,
                  limit_s: float = NOTE_SECONDS) -> str | None:
    """The one-line note printed before a run that may take hours, or None.

    It speaks when the proven bound at ``rate`` regions per second takes longer than ``limit_s``
    and the sample is saturated (at least `NOTE_SATURATION` of the ``samples`` fell in distinct
    regions, so the sample cannot tell that the count is small).

    Examples
    --------
    >>> from nncells.analysis.estimate import slow_run_note
    >>> print(slow_run_note(12 * 10**18, 998, 1000))
    nncells: note: this run may take hours: at most 1.2e+19 regions (proven), at least 998 seen in 1,000 samples; --dry-run estimates it
    >>> slow_run_note(12 * 10**18, 40, 1000) is None, slow_run_note(10**6, 1000, 1000) is None
    (True, True)
    """
    if samples <= 0 or _div(upper, rate) <= limit_s or seen < NOTE_SATURATION * samples:
        return None
    return (f"nncells: note: this run may take hours: at most {format_count(upper)} regions (proven), "
            f"at least {seen:,} seen in {samples:,} samples; --dry-run estimates it")


def format_count(n: int) -> str:
    """A count for people, never below it: exact with commas under a million, else two significant
    digits rounded up (also beyond float range), so a bound printed stays a bound.

    Examples
    --------
    >>> from nncells.analysis.estimate import format_count
    >>> format_count(3400), format_count(12 * 10**18), format_count(12_100_000), format_count(10 ** 400 - 1)
    ('3,400', '1.2e+19', '1.3e+07', '1.0e+400')
    """
    n = int(n)
    if n < 10 ** 6:
        return f"{n:,}"
    e = int(math.log10(n))
    while 10 ** e > n:
        e -= 1
    while 10 ** (e + 1) <= n:
        e += 1
    m = -(-n // 10 ** (e - 1))    # two digits, rounded up: 10 ... 100
    if m == 100:
        m, e = 10, e + 1
    return f"{m // 10}.{m % 10}e+{e:02d}"


def run_note(network: Network, domain: Domain | None = None, samples: int = 1000, seed: int = 0) -> tuple[str | None, int]:
    """The cheap check before a run: ``(note or None, proven upper bound)``.

    Small networks stop at the Montufar bound (a product of a few binomial sums); only when it
    allows more than an hour at `NOTE_RATE` are the tighter bounds (interval propagation for a
    box or a ball) and ``samples`` forward passes (patterns seen, unchecked) computed.

    Examples
    --------
    >>> import nncells
    >>> from nncells.analysis.estimate import run_note
    >>> run_note(nncells.random_network([3, 7, 5, 2], seed=8), nncells.Box(-1, 1).resolve(3))
    (None, 1664)
    """
    ub = montufar_upper_bound(network)
    if _div(ub, NOTE_RATE) <= NOTE_SECONDS:
        return None, int(ub)
    ub, _ = upper_bound(network, domain, "interval")
    if _div(ub, NOTE_RATE) <= NOTE_SECONDS:
        return None, ub
    drawn = _sample(network, domain, samples, np.random.default_rng(seed))
    if drawn is None:
        return None, ub
    seen = len(np.unique(network.pattern(drawn[0]).reshape(samples, -1), axis=0))
    return slow_run_note(ub, seen, samples), ub


__all__ = ["upper_bound", "sampled_regions", "verify_budget", "measure_rate", "dry_run", "slow_run_note",
           "run_note", "format_count"]
