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
