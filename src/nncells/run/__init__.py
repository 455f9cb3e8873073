"""Running an enumeration: the driver (scheduling, checkpoints, resume: `driver`) and the
executors that run tasks (serial, process pool, Dask: `executors`)."""
