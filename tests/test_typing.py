"""nncells ships ``py.typed``: every public function and method of the public modules says what it
returns (issue 24). Annotations are never evaluated at run time (``from __future__ import
annotations`` in each module), so this checks that they are there, not that they are right."""
import __future__
import functools
import importlib
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest

# the modules behind the names of ``nncells.__all__`` (see ``nncells._WHERE``) and the other
# public modules
MODULES = [
    "nncells", "nncells.api", "nncells.errors", "nncells.network",
    "nncells.domains", "nncells.domains.base", "nncells.domains.ball", "nncells.domains.polyhedra",
    "nncells.models", "nncells.models.torch", "nncells.models.onnx", "nncells.models.torch_files",
    "nncells.results.result", "nncells.results.store", "nncells.results.reader",
    "nncells.local",
    "nncells.analysis", "nncells.analysis.components", "nncells.analysis.estimate",
    "nncells.analysis.figures", "nncells.analysis.measures",
    "nncells.analysis.homology", "nncells.analysis.topology", "nncells.results.faces",
    "nncells.planar.slices", "nncells.planar.plot", "nncells.planar.partition",
]

# "module.qualname" -> why it has no return annotation. Only for names where an annotation is
# impossible or would mislead; empty today.
ALLOWED_WITHOUT_RETURN = {
}


def _functions(obj):
    """The plain functions behind ``obj`` (a function, a method wrapper or a property)."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        return [f for f in (obj.fget,) if f is not None]
    if isinstance(obj, functools.cached_property):
        return [obj.func]
    return [obj] if inspect.isfunction(obj) else []


def public_functions(modname):
    """``(qualified name, function)`` of the public functions defined in ``modname`` and of the
    public methods (properties' getters included) of the public classes defined there."""
    mod = importlib.import_module(modname)
    out = []
    for name, value in vars(mod).items():
        if name.startswith("_") or getattr(value, "__module__", None) != modname:
            continue  # private, or imported from elsewhere
        if inspect.isclass(value):
            for mname, member in vars(value).items():
                if not mname.startswith("_"):
                    out += [(f"{modname}.{name}.{mname}", f) for f in _functions(member)]
        else:
            out += [(f"{modname}.{name}", f) for f in _functions(value)]
    return out


def test_the_modules_have_public_functions():
    assert sum(len(public_functions(m)) for m in MODULES) > 100


@pytest.mark.parametrize("modname", MODULES)
def test_public_functions_have_return_annotations(modname):
    missing = [name for name, f in public_functions(modname)
               if "return" not in inspect.unwrap(f).__annotations__ and name not in ALLOWED_WITHOUT_RETURN]
    assert missing == [], f"public functions of {modname} without a return annotation: {missing}"


@pytest.mark.parametrize("modname", MODULES)
def test_annotations_are_not_evaluated(modname):
    mod = importlib.import_module(modname)
    assert getattr(mod, "annotations", None) is __future__.annotations, \
        f"{modname} lacks 'from __future__ import annotations'"


def test_the_allow_list_is_current():
    names = {name for m in MODULES for name, _ in public_functions(m)}
    assert set(ALLOWED_WITHOUT_RETURN) <= names, set(ALLOWED_WITHOUT_RETURN) - names


def test_mypy_strict_passes_on_the_public_modules():
    """``mypy --strict`` on the modules listed in pyproject.toml (``[tool.mypy] files``), with the
    project's configuration; no cache is written (``--cache-dir`` to the null device)."""
    pytest.importorskip("mypy")
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(root / "pyproject.toml"),
                           "--cache-dir", os.devnull],
                          cwd=root, capture_output=True, text=True)
    assert proc.returncode == 0, f"mypy found errors:\n{proc.stdout}{proc.stderr}"
