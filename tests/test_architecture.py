"""The layout keeps its promises: layers as drawn, no import cycles, small modules, and every
public name documented with an example that runs (the examples are run here as doctests)."""
import doctest
import importlib
import pkgutil
from pathlib import Path

import networkx as nx
import pytest

import nncells

ROOT = Path(nncells.__file__).parent
PYPROJECT = ROOT.parents[1] / "pyproject.toml"
MODULES = sorted(m.name for m in pkgutil.walk_packages([str(ROOT)], "nncells.") if m.name != "nncells.__main__")
# modules whose names make up the public API (with nncells itself)
PUBLIC = ["nncells", "nncells.models", "nncells.local", "nncells.analysis", "nncells.planar.partition",
          "nncells.planar.slices", "nncells.planar.plot", "nncells.api", "nncells.errors"]


def test_import_contracts_are_kept():
    from importlinter import cli
    assert cli.lint_imports(config_filename=str(PYPROJECT), no_cache=True, no_logo=True) == 0


def test_no_import_cycles():
    """Function-level imports count: a module never imports itself back through others."""
    import grimp
    graph = grimp.build_graph("nncells")
    g = nx.DiGraph()
    for m in graph.modules:
        for dep in graph.find_modules_directly_imported_by(m):
            # a package's __init__ handing names on is not a cycle with its own modules
            if not (dep.startswith(m + ".") or m.startswith(dep + ".")):
                g.add_edge(m, dep)
    cycles = list(nx.simple_cycles(g))
    assert cycles == [], cycles[:5]


def test_modules_are_small():
    big = {str(p.relative_to(ROOT)): n for p in ROOT.rglob("*.py")
           if (n := len(p.read_text().splitlines())) > 500}
    assert big == {}


def _public_names(modname):
    mod = importlib.import_module(modname)
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n, v in vars(mod).items() if not n.startswith("_") and callable(v)
                 and getattr(v, "__module__", None) == modname]
    return mod, [n for n in names if n != "__version__"]


@pytest.mark.parametrize("modname", PUBLIC)
def test_every_public_name_has_an_example(modname):
    mod, names = _public_names(modname)
    missing = []
    for n in names:
        obj = getattr(mod, n)
        if isinstance(obj, type(nncells)):  # a subpackage: its docstring is enough
            continue
        if isinstance(obj, type) and issubclass(obj, Exception):  # errors: nncells.errors has one
            continue
        if "Examples" not in (obj.__doc__ or "") and ">>>" not in (obj.__doc__ or ""):
            missing.append(n)
    assert missing == [], f"{modname}: no example in {missing}"


@pytest.mark.parametrize("modname", MODULES)
def test_docstring_examples_run(modname):
    mod = importlib.import_module(modname)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
