"""The LPs of the redundancy proofs of `nncells.results._redundancy`: for each row of a region,
the largest value of that row over the other rows, and the duals that make its certificate.

One warm-started HiGHS model per region (the rows stay, each solve changes the cost and the
bounds); an answer is only a guess: the caller checks every certificate in float64 with a rigorous
bound or exactly.

Examples
--------
>>> import numpy as np
>>> Au = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.6, 0.8]])  # square, a cut
>>> su = np.array([1.0, 1.0, 1.0, 1.0, 2.0])
>>> status, opt, duals, u = RowLPs(Au, su).solve(4)      # max 0.6 u1 + 0.8 u2 over the square
>>> status, round(float(opt), 9), duals.round(9).tolist()
('optimal', 1.4, [0.6, 0.0, 0.8, 0.0, 0.0])
"""
from __future__ import annotations

import os

import highspy
import numpy as np

from nncells import _config
from nncells.geometry import solvers


class RowLPs:
    """``max Au[r] u`` over the other rows ``Au u <= su`` (unit rows, centred at the region's
    point), for the rows ``r`` of one region: one HiGHS model, each solve from the last basis.
    Row ``r`` itself stays in the model, moved out to ``2 su[r]`` (so the LP is bounded and the
    row's dual is 0 when it is redundant). The LP is only a guess of the certificate: every
    answer is checked (`nncells.results._redundancy`)."""

    _owner = _h = None                # one HiGHS instance per process (none inherited by a fork)

    def __init__(self, Au, su):
        if RowLPs._owner != os.getpid():
            h = solvers.new_highs()
            h.setOptionValue("presolve", "off")
            h.setOptionValue("solver", "simplex")
            h.setOptionValue("primal_feasibility_tolerance", _config.LP_FEASIBILITY_TOL)
            h.setOptionValue("dual_feasibility_tolerance", _config.LP_FEASIBILITY_TOL)
            RowLPs._h, RowLPs._owner = h, os.getpid()
        self.h, self.Au, self.su = RowLPs._h, Au, su
        m, d = Au.shape
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = d, m
        lp.col_cost_ = np.zeros(d)
        lp.col_lower_, lp.col_upper_ = np.full(d, -highspy.kHighsInf), np.full(d, highspy.kHighsInf)
        lp.row_lower_, lp.row_upper_ = np.full(m, -highspy.kHighsInf), su.copy()
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.arange(0, m * d + 1, d, dtype=np.int32)
        lp.a_matrix_.index_ = np.tile(np.arange(d, dtype=np.int32), m)
        lp.a_matrix_.value_ = np.ascontiguousarray(Au).ravel()
        self.h.clearModel()
        self.h.passModel(lp)
        self.cols = np.arange(d, dtype=np.int32)
        self.rows = np.arange(m, dtype=np.int32)

    def solve(self, r):
        """``(status, optimum, duals (>= 0, one per row; row r's is 0), u)``, the LP solved in
        units of row ``r``'s slack (HiGHS's tolerances are absolute)."""
        h, m = self.h, len(self.su)
        scale = self.su[r]
        up = self.su / scale
        up[r] = 2.0
        h.changeColsCost(len(self.cols), self.cols, -self.Au[r])
        h.changeRowsBounds(m, self.rows, np.full(m, -highspy.kHighsInf), up)
        h.run()
        status = h.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            unb = status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible)
            return ("unbounded" if unb else "failed"), np.inf, None, None
        sol = h.getSolution()
        duals = np.maximum(-np.array(sol.row_dual), 0.0)
        duals[r] = 0.0
        return "optimal", -h.getInfo().objective_function_value * scale, duals, np.array(sol.col_value) * scale


__all__ = ["RowLPs"]
