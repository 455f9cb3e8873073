"""LP mode in the compiled core: a thin layer over ``_native.refine_lp``.

A task is a tuple ``(layer, pattern, ranks, cuts, point, radius, basis)`` of arrays (a *light*
cell: its rows are rebuilt from the network, the pattern and the mask ``cuts`` of the neurons
that bound it; ``basis`` a shrunk-box LP's final basis over those rows, a warm start, or empty);
the box ``[lo, hi]`` is the domain, kept once as bounds. Finished regions come back as flat
arrays, with the tasks left at the time budget, the splits deferred to the numpy twin (a side the
shrunk-box LP could not settle), and counters of how each (sub-cell, side) was decided.

Examples
--------
>>> import numpy as np
>>> from nncells import kernels
>>> from nncells.kernels.vertex import core_network
>>> if kernels.native_available():
...     W = np.eye(8)[:2]                                  # x1 = 0 and x2 = 0 cut [-1, 1]^8
...     net = core_network([W], [np.zeros(2)])
...     task = (0, np.zeros(0, np.uint8), np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(8), 1.0,
...             np.zeros(0, np.int8))
...     P, X, r, ranks, per_layer, pending, deferred, counts = refine(net, 1e-9, -np.ones(8), np.ones(8), [task], 1.0)
...     print(sorted(map(tuple, P.tolist())), per_layer.tolist(), counts["deferred"])
... else:
...     print([(0, 0), (0, 1), (1, 0), (1, 1)], [4], 0)
[(0, 0), (0, 1), (1, 0), (1, 1)] [4] 0
"""
from __future__ import annotations

import numpy as np

from nncells import _config
from nncells.kernels import _native

# Tests only: bits that switch a way of deciding off in the core (its answers become "unsure":
# the side is left to the LP, or the split deferred to the numpy twin). None is needed for the
# right answer; each must be used.
OFF_BALLS, OFF_RAYS, OFF_CERTIFICATES, OFF_WITNESS, OFF_FARKAS = 1, 2, 4, 8, 16
# (and: an LP never stopped at its cutoff; the certificate of an LP so stopped taken as unverified)
OFF_CUTOFF, OFF_CUTOFF_PROOF = 32, 64
# (and: every rank from the k x d map, not from the pattern's small matrix: lp_ranks.hpp)
OFF_REDUCED_RANKS = 128
# (and: no side proved by a mixture of witness balls: lp_split.hpp `mix`, witness_balls.mix_witness)
OFF_MIX = 256
_OFF = 0


def refine(net, tol: float, lo, hi, tasks: list, budget_s: float):
    """Refine LP-mode ``tasks`` of the box ``[lo, hi]`` depth-first through all remaining layers.

    Parameters
    ----------
    net : from `nncells.kernels.vertex.core_network`.
    tol : the contract's threshold.
    lo, hi : (d,) the box.
    tasks : tuples ``(layer, pattern uint8, ranks int64, cuts uint8, point float64, radius, basis int8)``.
    budget_s : seconds; at least one task is processed whatever the budget.

    Returns
    -------
    ``(patterns, points, radii, ranks, per_layer, pending, deferred, counts)``: finished regions
    (uint8 patterns), regions created per layer, tasks left at the budget and splits deferred to
    the numpy twin (tuples as given), and a dict of counters (``lp_solves``, ``iterations``,
    ``lp_yes``, ``lp_no``, ``by_ball``, ``by_ray``, ``by_mix``, ``by_certificate``, ``deferred``,
    ``mixes``: mixtures of witness balls certified, and ``ranks_reduced``: ranks read from the
    pattern's small matrix, not the ``k x d`` map).
    """
    return _native.refine_lp(net, float(tol), float(_config.BORDERLINE), float(_config.LP_FEASIBILITY_TOL),
                             np.ascontiguousarray(lo, dtype=np.float64), np.ascontiguousarray(hi, dtype=np.float64),
                             tasks, float(budget_s), int(_OFF))
