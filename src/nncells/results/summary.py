"""The words and numbers a result reports of itself: its JSON summary and its repr's domain."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from typing import Protocol

    import numpy.typing as npt

    from nncells.domains import Domain
    from nncells.engine.cells import Stats
    from nncells.network import Network

    class _RunCounters(Protocol):
        """What `run_summary` reads of a run's counters: a `nncells.results.result.RunInfo`
        (not imported here: `result` imports this module)."""

        regions: int
        stats: Stats
        seconds: float
        executor: str
        workers: int
        method: str
        shards: list[dict[str, Any]]
        tol: float | None
        backend: str


def brief_domain(domain: Domain) -> str:
    """A short description of a domain for `EnumerationResult`'s repr.

    Examples
    --------
    >>> from nncells.domains import Ball, Box, Polytope, Space
    >>> brief_domain(Box(-1.0, [1.0, 2.0])), brief_domain(Box(0.0, 1.0, dim=3)), brief_domain(Space(4))
    ('Box(lo=[-1, -1], hi=[1, 2])', 'Box(0, 1, dim=3)', 'Space(dim=4)')
    >>> brief_domain(Ball([0.0, 0.0], 2.0)), brief_domain(Polytope([[1.0, 1.0]], [1.0]))
    ('Ball(center=[0, 0], radius=2, norm=2)', 'Polytope(1 row, dim=2)')
    """
    def vec(v: npt.ArrayLike) -> str:
        return np.array2string(np.asarray(v), separator=", ", threshold=8, edgeitems=3,
                               formatter={"float_kind": lambda x: f"{x:g}"})
    name = type(domain).__name__
    d = domain.to_dict()
    if d.get("type") == "box":
        lo, hi = np.asarray(d["lo"]), np.asarray(d["hi"])
        if (lo == lo[0]).all() and (hi == hi[0]).all():
            return f"{name}({lo[0]:g}, {hi[0]:g}, dim={lo.size})"
        return f"{name}(lo={vec(lo)}, hi={vec(hi)})"
    if d.get("type") == "ball":
        return f"{name}(center={vec(d['center'])}, radius={d['radius']:g}, norm={d.get('norm', 2)})"
    if d.get("type") == "polytope":
        m = len(d["b"])
        return f"{name}({m} row{'' if m == 1 else 's'}, dim={domain.dim})"
    return repr(domain)


def certificate_summary(cert: dict[str, Any]) -> dict[str, Any]:
    """The part of a certificate (`nncells.results.certify.certify`) the JSON summary reports."""
    keys = ("exist", "of", "closed", "open_facets", "exact_fallbacks", "complete_regions", "unproven_rows",
            "missed_facets", "thin_facets", "redundancy", "failures", "failures_total")
    return {k: cert[k] for k in keys if k in cert}


def run_summary(network: Network, domain: Domain, info: _RunCounters) -> dict[str, Any]:
    """The JSON summary of a run."""
    return {
        "network": repr(network),
        "linear_units": int(network.n_hidden - network.n_relu),
        "ignored_output_ops": list(network.ignored_output_ops),
        "domain": domain.to_dict(),
        "regions": int(info.regions),
        "per_layer": list(info.stats.per_layer),
        "tol": info.tol,
        "lp_solves": int(info.stats.lp_solves),
        "lp_per_region": info.stats.lp_solves / max(info.regions, 1),
        "lp_fallbacks": int(info.stats.lp_fallbacks),
        "borderline": int(info.stats.borderline),
        "repaired_points": int(info.stats.repaired),
        "seconds": info.seconds,
        "regions_per_second": info.regions / info.seconds if info.seconds > 0 else None,
        "method": info.method,
        "reduced_dim": getattr(info, "reduced_dim", None),
        "backend": info.backend,
        "executor": info.executor,
        "workers": info.workers,
        "tasks": info.stats.tasks,
        "shards": len(info.shards),
    }
