"""The shrunk-box LPs of LP mode at 784 inputs, solved one by one: the compiled core's dual
simplex against HiGHS, cold and warm-started from the same basis.

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_box_lp.py --width 12 --capture 20 --every 10

The LPs are those LP mode solves on ``random_network([784, w, w, 10], seed=0)`` in ``[0, 1]^784``:
the numpy twin of the splits (``_config.COMPILED_LP = False``, its box LPs still compiled) runs
depth-first from the root for ``--capture`` seconds and every ``--every``-th LP is kept with the
basis it was started from and its cutoff. Each kept LP is then solved by

* the core, as LP mode solves it (warm, with its cutoff), and cold without a cutoff;
* HiGHS (highspy, dual simplex, presolve off), cold, and warm from the same basis
  (``setBasis``), to optimality (HiGHS has no cutoff on this form).

Times are per LP, the solver's call only (the model built beforehand), median and mean over
the LPs, all in one process one after another. The optimal ``z`` of the four must agree (HiGHS
is the reference; the script checks it within the LP tolerance where both reached optimality).
"""
from __future__ import annotations

import argparse
import statistics
import time

import highspy
import numpy as np

from nncells import Box, _config, random_network
from nncells.engine.tasks import Problem, run_task
from nncells.geometry import box_lp, solvers


def capture(width: int, seconds: float, every: int):
    """The LPs of LP mode's first ``seconds``: ``(A, c, lo, hi, zcap, basis, cutoff)`` tuples."""
    _config.COMPILED_LP = False
    kept, calls, solve = [], [0], box_lp.solve_shrunk

    def recording(A, c, lo, hi, zcap, basis=None, **kw):
        calls[0] += 1
        if calls[0] % every == 0:
            kept.append((np.array(A), np.array(c), np.array(lo), np.array(hi), float(zcap),
                         None if basis is None else np.array(basis), kw.get("cutoff")))
        return solve(A, c, lo, hi, zcap, basis, **kw)

    box_lp.solve_shrunk = recording
    try:
        p = Problem.make(random_network([784, width, width, 10], seed=0), Box(0.0, 1.0))
        t0, stack = time.perf_counter(), [p.root_task()]
        while stack and time.perf_counter() - t0 < seconds:
            _, pending, _ = run_task(p, stack.pop(), 1.0)
            stack += pending
    finally:
        box_lp.solve_shrunk = solve
        _config.COMPILED_LP = True
    return kept


def _highs(A, c, lo, hi, zcap):
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("presolve", "off")
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("simplex_strategy", 1)  # dual
    for name in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
        h.setOptionValue(name, _config.LP_FEASIBILITY_TOL)
    h.passModel(box_lp._highs_lp(A, c, lo, hi, zcap))
    return h


def _highs_basis(basis, d):
    """The core's column statuses as a HiGHS basis (columns x then z; rows' slacks)."""
    S = highspy.HighsBasisStatus
    b = highspy.HighsBasis()
    col = [S.kBasic if s == box_lp.BASIC else S.kUpper if s == box_lp.AT_UPPER else S.kLower for s in basis[:d + 1]]
    if basis[d] != box_lp.BASIC:
        col[d] = S.kUpper  # z nonbasic sits at zcap
    b.col_status = col
    b.row_status = [S.kBasic if s == box_lp.BASIC else S.kUpper for s in basis[d + 1:]]
    b.valid = True
    return b


def solve_all(lps):
    """Per LP: (core warm with cutoff, core cold, HiGHS cold, HiGHS warm) seconds, and checks."""
    core = box_lp._core()
    tol = float(_config.LP_FEASIBILITY_TOL)
    rows, disagree = [], 0
    for A, c, lo, hi, zcap, basis, cutoff in lps:
        m, d = A.shape
        cut = -1e300 if cutoff is None else float(cutoff)
        t = time.perf_counter()
        w = core.box_lp_solve(A, c, lo, hi, zcap, basis, -1, cut, tol, tol, False)
        t_warm = time.perf_counter() - t
        t = time.perf_counter()
        cold = core.box_lp_solve(A, c, lo, hi, zcap, None, -1, -1e300, tol, tol, False)
        t_cold = time.perf_counter() - t
        h = _highs(A, c, lo, hi, zcap)
        t = time.perf_counter()
        h.run()
        t_hc = time.perf_counter() - t
        z_h = h.getInfo().objective_function_value * -1.0
        ok_h = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
        if not ok_h:
            raise SystemExit(f"HiGHS did not solve an LP: {h.getModelStatus()}")
        hw = _highs(A, c, lo, hi, zcap)
        t_hw = float("nan")
        if basis is not None:
            hw.setBasis(_highs_basis(basis, d))
            t = time.perf_counter()
            hw.run()
            t_hw = time.perf_counter() - t
        if ok_h and cold[0] == 0 and abs(float(cold[2]) - z_h) > 1e-6 * max(1.0, abs(z_h)):
            disagree += 1
        rows.append((t_warm, t_cold, t_hc, t_hw, int(w[5]), int(cold[5]), h.getInfo().simplex_iteration_count,
                     hw.getInfo().simplex_iteration_count if basis is not None else -1, int(w[0]), m))
    return rows, disagree


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=12)
    ap.add_argument("--capture", type=float, default=20.0, help="seconds of LP mode whose LPs are kept")
    ap.add_argument("--every", type=int, default=10, help="keep every k-th LP")
    args = ap.parse_args(argv)
    solvers.lp_highs()  # (HiGHS loaded before timing)
    lps = capture(args.width, args.capture, args.every)
    rows, disagree = solve_all(lps)
    warm = [r for r in rows if not np.isnan(r[3])]
    print(f"784-{args.width}-{args.width}-10 in [0, 1]^784: {len(rows)} LPs ({len(warm)} with a warm basis), "
          f"rows per LP median {statistics.median(r[9] for r in rows):.0f}, max {max(r[9] for r in rows)}; "
          f"stopped at the cutoff: {sum(r[8] == 4 for r in rows)}; optimal z disagreeing with HiGHS: {disagree}")
    print()
    print("| solver | LPs | median us | mean us | median iterations | mean iterations |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, k, it, rs in (("core, warm, with the cutoff (as LP mode)", 0, 4, rows),
                            ("core, cold, to optimality", 1, 5, rows),
                            ("HiGHS dual simplex, cold", 2, 6, rows),
                            ("HiGHS dual simplex, warm from the same basis", 3, 7, warm)):
        ts = [r[k] * 1e6 for r in rs]
        its = [r[it] for r in rs]
        print(f"| {name} | {len(rs):,} | {statistics.median(ts):,.0f} | {statistics.mean(ts):,.0f} | "
              f"{statistics.median(its):.0f} | {statistics.mean(its):.1f} |")


if __name__ == "__main__":
    main()
