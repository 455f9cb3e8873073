"""Every tolerance and tunable of nncells, in one place, read at call time.

Modules read these as ``_config.NAME`` when they run (never copied at import), so a test or a
user can change one for a session: ``nncells._config.VERTEX_MAX_DIM = 4``. Each says what it
governs; docs/numerics.md explains the numerical ones.

Examples
--------
>>> from nncells import _config
>>> _config.DEFAULT_TOL
1e-09
"""

# ---------------------------------------------------------------- the numerical contract
DEFAULT_TOL = 1e-9        # a region counts iff it holds a point x deeper than DEFAULT_TOL * |x|_inf
ERROR_FACTOR = 8.0        # safety factor of the first-order error bounds (contract.gamma)
BORDERLINE = 100.0        # regions within BORDERLINE x the threshold are reported as borderline
LP_FEASIBILITY_TOL = 1e-9  # HiGHS's primal and dual feasibility tolerances (LPs run in own units)

# ---------------------------------------------------------------- engine
VERTEX_MAX_DIM = 6        # bounded cells of up to this dimension use vertex mode (measured faster);
#                           lifted cells (the whole space, huge boxes) one more: inputs up to this
VERTEX_ACTIVE_REL = 1e-9  # qhull vertices lie on a half-space within this relative distance
LIFT_BOX_RATIO = 2.0 ** 10  # a box reaching farther than this times the network's length is lifted
REDUCE = True             # enumerate in the first layer's row space where the domain allows it
#                           (the whole space, polytopes along it: engine.reduction); False: in R^d
COMPILED_LP = True        # LP mode of a box runs in the compiled core (engine.lp_core) when it is
#                           built; False: in its numpy twin (engine.split), e.g. to compare them

# ---------------------------------------------------------------- running
WARMUP_S = 1.0            # the root task runs in the driver first: runs under a second start no pool
TASKS_PER_MESSAGE = 32    # most tasks sent to a worker at once
TASK_BUDGET_S = 0.25      # a task hands its frontier back after this many seconds (processes)
DASK_TASK_BUDGET_S = 2.0  # ... on a Dask cluster (more latency per task)
CHECKPOINT_EVERY_S = 30.0  # sharded runs write a checkpoint this often (and once right after the warm-up)
LOCK_WAIT_S = 5.0         # how long a run waits for an output directory's lock (the workers of a
#                           killed driver hold it until they end, at once: run.lifeline)
MAX_FAILURES = 3          # a task that kills this many workers is reported, not retried
WORKER_CLOSE_S = 2.0      # a closing pool waits this long for its workers to finish, then kills them
PARENT_POLL_S = 0.5       # without prctl, a worker checks this often whether its driver is alive

# ---------------------------------------------------------------- models
MAX_DENSE_ENTRIES = 200_000_000  # largest dense matrix a convolution may become

# ---------------------------------------------------------------- kernels
BACKEND = "auto"          # "auto" (the compiled core when built), "native" or "numpy" (reference)
