"""The nncells command line with workers that get stuck, for tests/test_signals.py.

    python stuck_workers.py BUSY_DIR REAL_CALLS [--no-prctl] -- ARGUMENTS OF nncells

Each worker process of ``nncells enumerate`` (its tasks) or ``nncells local --exact`` (its balls)
does its first REAL_CALLS calls for real; at the next one it writes its pid into BUSY_DIR (a file
``busy-PID``) and waits forever, ignoring nothing the real worker does not ignore. So a test knows
when every worker is inside a call, whatever the machine's speed, and can signal the driver at
that moment. The driver itself runs unchanged (its warm-up runs for real, with no time budget
beyond its first step, so the workers always get work). ``--no-prctl`` hides the parent-death
signal, so the workers fall back to watching their parent's pid.
"""
import os
import sys
import time
from pathlib import Path


def _stuck_after(real, calls):
    done = [0]

    def call(*args, **kwargs):
        if done[0] < calls:
            done[0] += 1
            return real(*args, **kwargs)
        tmp = BUSY / f".busy-{os.getpid()}"
        tmp.write_text(str(os.getpid()))
        tmp.rename(BUSY / f"busy-{os.getpid()}")
        while True:
            time.sleep(3600)

    return call


if __name__ == "__main__":
    sep = sys.argv.index("--")
    BUSY, calls, options = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:sep]
    import nncells.local
    from nncells import _config
    from nncells.cli.main import main
    from nncells.run import executors
    _config.WARMUP_S = 0.0
    executors.run_task = _stuck_after(executors.run_task, calls)
    nncells.local.count_in_ball = _stuck_after(nncells.local.count_in_ball, calls)
    if "--no-prctl" in options:
        from nncells.run import lifeline
        lifeline._set_pdeathsig = lambda signum: False
    sys.argv = [sys.argv[0], *sys.argv[sep + 1:]]   # as `python -m nncells ARGS` runs it (a program)
    sys.exit(main())
