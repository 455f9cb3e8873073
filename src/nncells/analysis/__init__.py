"""Analyses of enumerated regions: how layers refine regions, scaling fits, global bounds
(`measures`), connected components of decision regions (`components`), estimates of a run before
it runs (`estimate`), faces and Betti numbers of decision regions (`topology`, over GF(2) by
`homology`), and their figures (`figures`, needs matplotlib)."""
from __future__ import annotations

from nncells.analysis.components import decision_components
from nncells.analysis.estimate import dry_run
from nncells.analysis.homology import betti_numbers, persistence
from nncells.analysis.measures import (arrangement_max, bounds_row, concat_tables, fit_line, global_bounds,
                                       montufar_max_lower_bound, montufar_upper_bound, rank_children,
                                       rank_summary, scaling_fits, serra_upper_bound)
from nncells.analysis.topology import (betti, decision_network, decision_topology, output_persistence,
                                       unit_persistence)

__all__ = ["arrangement_max", "betti", "betti_numbers", "decision_components", "decision_network",
           "decision_topology", "output_persistence", "persistence", "unit_persistence", "dry_run", "bounds_row", "concat_tables", "fit_line", "global_bounds",
           "montufar_max_lower_bound", "montufar_upper_bound", "rank_children", "rank_summary",
           "scaling_fits", "serra_upper_bound"]
