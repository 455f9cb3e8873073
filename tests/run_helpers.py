"""A sharded run stopped part-way, as by Ctrl-C, for tests of resume and of reading runs back."""
import functools

import pytest

from nncells import Box, _config, enumerate_to_dir
from nncells.results.store import ShardSink, read_manifest
from nncells.run import checkpoint
from nncells.run.executors import SerialExecutor


def interrupt_run(net, out, after=40):
    """Enumerate ``net`` in [-1, 1]^d into ``out`` (shards of 7 rows, a checkpoint after every
    task) and stop it with KeyboardInterrupt once more than ``after`` regions are reported; the
    run's manifest (unfinished)."""
    mp = pytest.MonkeyPatch()
    mp.setattr(checkpoint, "ShardSink", functools.partial(ShardSink, shard_rows=7))
    mp.setattr(_config, "WARMUP_S", 0.0)

    def progress(count, text):
        if count > after:
            raise KeyboardInterrupt

    try:
        with pytest.raises(KeyboardInterrupt):
            enumerate_to_dir(net, Box(-1, 1), out, executor=SerialExecutor(1e-4), progress=progress)
    finally:
        mp.undo()
    man = read_manifest(out)
    assert not man["finished"]
    return man
