"""Worker processes that die with their driver.

A forked worker holds copies of its driver's pipe ends, so it never sees end-of-file when the
driver is killed; a worker busy with a task, or blocked sending its result to a driver that no
longer reads, would live on for minutes with its parent pid 1. `die_with_parent` ties a worker's
life to its driver's:

- On Linux: the parent-death signal, ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel kills the
  worker the moment its parent ends, whatever the worker is doing. The signal is armed after the
  fork, so a parent that died in between is caught by comparing ``os.getppid()`` with the
  expected parent afterwards. The kernel sends it when the *thread* that forked the worker ends:
  nncells starts its workers from the thread that runs the pool, which outlives them.
- Elsewhere (no ``prctl``): a daemon thread of the worker polls ``os.getppid()`` every
  ``_config.PARENT_POLL_S`` seconds and ends the process when its parent changes (within a
  task too, as long as the task releases the GIL now and then).
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

from nncells import _config

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _set_pdeathsig(signum: int) -> bool:
    """Arm the parent-death signal ``signum`` for this process; False where there is no ``prctl``."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # libc's, from the symbols already loaded
        return prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int, every_s: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(every_s)
    os._exit(1)  # the driver is gone: nobody waits for this worker's results


def die_with_parent(parent_pid: int) -> str:
    """End this process as soon as the process ``parent_pid`` (its parent, the driver) ends.

    Call it first thing in a worker process, with the driver's pid passed from the driver (a
    child cannot learn it once the parent may have died). A worker whose parent is already gone
    ends at once.

    Returns
    -------
    str
        ``"prctl"`` (the kernel's parent-death signal is armed) or ``"poll"`` (a thread watches
        the parent pid: platforms without ``prctl``).

    Examples
    --------
    >>> import multiprocessing as mp, os
    >>> def child(pid, q):
    ...     q.put(die_with_parent(pid))
    >>> ctx = mp.get_context("fork")
    >>> q = ctx.Queue()
    >>> p = ctx.Process(target=child, args=(os.getpid(), q))
    >>> p.start(); how = q.get(); p.join()
    >>> how in ("prctl", "poll"), p.exitcode
    (True, 0)
    """
    if _set_pdeathsig(signal.SIGKILL):
        how = "prctl"
    else:
        threading.Thread(target=_watch, args=(parent_pid, _config.PARENT_POLL_S), daemon=True,
                         name="nncells-lifeline").start()
        how = "poll"
    if os.getppid() != parent_pid:  # the parent died before the signal was armed: it never comes
        os._exit(1)
    return how


__all__ = ["die_with_parent"]
