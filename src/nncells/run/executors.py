"""Executors: where tasks run. Serial (in this process), a pool of local worker processes, or
Dask distributed. One small interface, used by `nncells.run.driver`:

    start(problem)          make the problem known to the workers (once)
    capacity() -> int       how many more tasks it wants now
    submit(tasks)           run ``run_task(problem, tasks, budget_s)`` somewhere (a list of tasks)
    wait(timeout) -> list   finished ``(tasks, (batch, pending, stats))`` pairs (at least one if busy)
    in_flight() -> list     submitted tasks without a result yet (flattened)
    close()

A worker that dies takes no result with it: its task is still in flight and is submitted again;
a task that killed ``max_failures`` workers is reported as an error instead of looping forever.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from collections import deque
from typing import TYPE_CHECKING
from multiprocessing.connection import wait as mp_wait

from threadpoolctl import threadpool_limits

from nncells import _config
from nncells.engine.tasks import run_task
from nncells.errors import RunError
from nncells.geometry import solvers
from nncells.run.lifeline import die_with_parent

if TYPE_CHECKING:
    from typing import TypeAlias

    Executor: TypeAlias = "SerialExecutor | ProcessExecutor | DaskExecutor"   # what `make_executor` returns



def process_context() -> mp.context.BaseContext:
    """The one process policy of nncells: fork where the platform has it (workers start in
    milliseconds and share the network read-only), spawn elsewhere. A forked worker never uses
    its parent's HiGHS instance: `worker_setup` drops it, so HiGHS starts fresh in the child.
    Workers are started from the thread that runs the pool (the parent-death signal of
    `nncells.run.lifeline` fires when the forking thread ends)."""
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def _one_blas_thread():
    """Use one BLAS thread in this (worker) process: the engine's matrices are small, and BLAS
    threads of several workers only compete for the cores."""
    threadpool_limits(limits=1, user_api="blas")


def worker_setup(driver_pid: int):
    """Run first in every worker process: end with the driver (`nncells.run.lifeline`), forget
    the parent's solver instances, use one BLAS thread (measured: 2-worker efficiency 0.62 with
    OpenBLAS's own threads, 0.92 without), and leave SIGINT and SIGTERM to the driver.

    ``driver_pid``: the pid of the process that started the pool, passed from there."""
    die_with_parent(driver_pid)
    solvers.reset()
    _one_blas_thread()
    # Ctrl-C reaches the whole process group, and a batch scheduler about to preempt a job sends
    # SIGTERM to all its processes: the driver handles both (checkpoint, one line, exit 130 or
    # 143) and closes the workers itself, so a worker neither prints a traceback nor dies in the
    # middle of a task the driver still counts as in flight. A worker never outlives the driver
    # (the parent-death signal above), so ignoring these signals cannot leave it behind.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def stop_pool(pool) -> None:
    """Stop a `concurrent.futures.ProcessPoolExecutor` now: cancel the calls not yet started and
    kill its workers (they ignore SIGINT and SIGTERM), instead of waiting, as leaving its ``with``
    block does, for every call submitted. For a driver stopped by Ctrl-C, SIGTERM or an error.

    Before 3.14 the pool's manager thread is then waited for (it ends once it sees the workers
    gone): left running, it can close its wake-up pipe while the interpreter's exit writes to
    it, and that race printed a traceback after the one line of an interrupted command."""
    if hasattr(pool, "kill_workers"):  # Python >= 3.14
        pool.kill_workers()
        return
    procs = list((pool._processes or {}).values())  # before 3.14 there is no public way to them
    manager = pool._executor_manager_thread
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.kill()
    if manager is not None:
        manager.join(timeout=10)


def available_cores() -> int:
    """The default worker count: the cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class _Failures:
    def __init__(self, max_failures):
        self.max_failures = max_failures
        self.counts = {}

    def record(self, tasks, why):
        n = self.counts.get(id(tasks), 0) + 1
        self.counts[id(tasks)] = n
        if n >= self.max_failures:
            t = tasks[0]
            raise RunError(
                f"a task (layer {t.layer}, pattern prefix of {len(t.pattern)} bits) killed a worker "
                f"{n} times ({why}); giving up instead of retrying forever")


class SerialExecutor:
    """Runs each task in this process when results are asked for."""

    name = "serial"
    workers = 1

    def __init__(self, budget_s=float("inf")):
        self.budget_s = budget_s
        self.queue = deque()

    def start(self, problem):
        self.problem = problem

    def capacity(self):
        return 0 if self.queue else 1

    def submit(self, task):
        self.queue.append(task)

    def wait(self, timeout=None):
        if not self.queue:
            return []
        task = self.queue.popleft()
        return [(task, run_task(self.problem, task, self.budget_s))]

    def in_flight(self):
        return [t for tasks in self.queue for t in tasks]

    def close(self) -> None:
        self.queue.clear()


def _worker_main(conn, problem, budget_s, driver_pid):
    worker_setup(driver_pid)  # a fresh HiGHS instance in every worker; it ends with the driver
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        conn.send(run_task(problem, task, budget_s))


class ProcessExecutor:
    """A pool of local worker processes (fork where available), one task each at a time."""

    name = "processes"

    def __init__(self, workers=None, budget_s=None, max_failures=None):
        self.workers = workers or available_cores()
        self.budget_s = _config.TASK_BUDGET_S if budget_s is None else budget_s
        self.failures = _Failures(_config.MAX_FAILURES if max_failures is None else max_failures)
        self.ctx = process_context()
        self.procs = []  # [process, conn, task or None]

    def start(self, problem):
        self.problem = problem
        for _ in range(self.workers):
            self.procs.append(self._spawn())

    def _spawn(self):
        parent, child = self.ctx.Pipe()
        p = self.ctx.Process(target=_worker_main, args=(child, self.problem, self.budget_s, os.getpid()),
                             daemon=True)
        p.start()
        child.close()
        return [p, parent, None]

    def capacity(self):
        return sum(1 for w in self.procs if w[2] is None)

    def submit(self, task):
        for w in self.procs:
            if w[2] is None:
                w[2] = task
                w[1].send(task)
                return
        raise RuntimeError("no idle worker")  # the scheduler respects capacity()

    def wait(self, timeout=None):
        busy = [w for w in self.procs if w[2] is not None]
        if not busy:
            return []
        handles = {}
        for w in busy:
            handles[w[1]] = w
            handles[w[0].sentinel] = w
        out, lost = [], []
        for h in mp_wait(list(handles), timeout):
            w = handles[h]
            if w[2] is None or any(w is x for x in lost):
                continue
            if h is w[1] or w[1].poll():  # a result, possibly sent just before the worker died
                try:
                    out.append((w[2], w[1].recv()))
                    w[2] = None
                    continue
                except (EOFError, OSError):
                    pass
            lost.append(w)
        for w in lost:
            task = w[2]
            w[0].join(timeout=1)
            code = w[0].exitcode
            self.procs.remove(w)
            w[1].close()
            self.procs.append(self._spawn())
            self.failures.record(task, f"worker exit code {code}")
            self.submit(task)
        return out

    def in_flight(self):
        return [t for w in self.procs if w[2] is not None for t in w[2]]

    def close(self) -> None:
        """Ask every worker to stop, give them `_config.WORKER_CLOSE_S` seconds together to finish
        the task at hand, then kill those still running."""
        for p, conn, _ in self.procs:
            try:
                conn.send(None)
            except (OSError, BrokenPipeError):
                pass
        deadline = time.monotonic() + _config.WORKER_CLOSE_S
        for p, conn, _ in self.procs:
            p.join(timeout=max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
            conn.close()
        self.procs = []


_dask_ready = False


def _dask_run(problem, task, budget_s):
    global _dask_ready
    if not _dask_ready:  # once per Dask worker process (its HiGHS and signals stay as Dask set them)
        _one_blas_thread()
        _dask_ready = True
    return run_task(problem, task, budget_s)


class DaskExecutor:
    """Tasks on a Dask distributed cluster: an existing scheduler (``address``) or a
    ``LocalCluster`` of ``local_workers`` processes started here."""

    name = "dask"

    def __init__(self, address=None, local_workers=None, budget_s=None, max_failures=None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise RunError("Dask is not installed: pip install 'nncells[dask]'") from None
        self.budget_s = _config.DASK_TASK_BUDGET_S if budget_s is None else budget_s
        self.max_failures = _config.MAX_FAILURES if max_failures is None else max_failures
        self.cluster = None
        if address:
            try:
                self.client = Client(address, timeout=10)
            except (OSError, TimeoutError) as e:
                raise RunError(f"cannot reach the Dask scheduler at {address}: {e}") from None
        else:
            n = local_workers or available_cores()
            self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                        dashboard_address=None)
            self.client = Client(self.cluster)
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        self.futures = {}

    def start(self, problem):
        self.problem_future = self.client.scatter(problem, broadcast=True)

    def capacity(self):
        return max(0, 2 * self.workers - len(self.futures))

    def submit(self, task):
        fut = self.client.submit(_dask_run, self.problem_future, task, self.budget_s, pure=False,
                                 retries=self.max_failures - 1)
        self.futures[fut] = task

    def wait(self, timeout=None):
        from distributed import wait as dwait
        from distributed.scheduler import KilledWorker
        if not self.futures:
            return []
        try:
            done, _ = dwait(list(self.futures), timeout=timeout, return_when="FIRST_COMPLETED")
        except TimeoutError:  # distributed.wait raises where concurrent.futures would return
            return []
        out = []
        for fut in done:
            task = self.futures.pop(fut)
            try:
                out.append((task, fut.result()))
            except KilledWorker as e:
                raise RunError(f"a task keeps killing Dask workers; giving up ({e})") from None
        return out

    def in_flight(self):
        return [t for tasks in self.futures.values() for t in tasks]

    def close(self) -> None:
        for fut in self.futures:
            fut.cancel()
        self.futures = {}
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(workers: int | None = None, dask_scheduler: str | None = None, dask_local: int | None = None,
                  budget_s: float | None = None) -> Executor:
    """The executor the options ask for: Dask if an address or a local cluster size is given,
    otherwise processes (``workers`` > 1, default all cores) or serial (``workers == 1``)."""
    if dask_scheduler or dask_local:
        return DaskExecutor(dask_scheduler, dask_local, budget_s or 2.0)
    n = available_cores() if workers in (None, 0) else int(workers)
    if n < 1:
        raise RunError(f"--workers must be at least 1, got {workers}")
    if n == 1:
        return SerialExecutor(budget_s or float("inf"))
    return ProcessExecutor(n, budget_s or 1.0)
