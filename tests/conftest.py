"""Fixtures shared by the test files."""
import pytest


@pytest.fixture
def saved_figures(monkeypatch):
    """Every matplotlib figure the CLI saves (still inspectable after it is closed)."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    figs, original = [], Figure.savefig

    def savefig(self, *args, **kwargs):
        figs.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return figs


@pytest.fixture
def small_shards(monkeypatch):
    """Many small tasks and shards of about 7 rows, so that a sharded run writes many shards."""
    import functools

    from nncells import _config
    from nncells.run import checkpoint
    from nncells.results.store import ShardSink
    monkeypatch.setattr(checkpoint, "ShardSink", functools.partial(ShardSink, shard_rows=7))
    monkeypatch.setattr(_config, "WARMUP_S", 0.0)
    monkeypatch.setattr(_config, "TASK_BUDGET_S", 1e-4)
