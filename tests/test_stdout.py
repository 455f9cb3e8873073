"""stdout belongs to nncells: with ``--json`` every command prints exactly one JSON object.

Run in subprocesses, so whatever the installed dependencies print (highspy >= 1.16 prints a
banner from C++ when a solver is created) is seen as a user would see it.
"""
import json
import subprocess
import sys
import textwrap

import pytest

import nncells


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "nncells", *map(str, args)], capture_output=True,
                          text=True, timeout=600, cwd=cwd)


def _one_json_object(stdout):
    text = stdout.strip()
    assert text, "nothing on stdout"
    obj, end = json.JSONDecoder().raw_decode(text)
    assert end == len(text), f"more than one JSON object on stdout: {stdout!r}"
    assert isinstance(obj, dict)
    return obj


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    m2, m3, m8 = d / "m2.npz", d / "m3.npz", d / "m8.npz"
    nncells.random_network([2, 6, 6, 3], seed=1).to_npz(m2)
    nncells.random_network([3, 6, 5, 1], seed=2).to_npz(m3)
    nncells.random_network([8, 5, 4, 1], seed=3).to_npz(m8)  # LP mode: HiGHS is created
    return {"m2": m2, "m3": m3, "m8": m8}


@pytest.mark.parametrize("args", [
    ("enumerate", "{m3}", "--box", "-1", "1", "--json", "--workers", "1"),
    ("enumerate", "{m8}", "--box", "-1", "1", "--json", "--workers", "2"),
    ("enumerate", "{m3}", "--whole-space", "--json"),
    ("local", "{m3}", "--center", "0.1,0.2,0.3", "--radius", "0.5", "--json"),
    ("local", "{m8}", "--center", "0,0,0,0,0,0,0,0", "--radius", "0.3", "--json"),
    ("slice", "{m2}", "--box", "-1", "1", "--json"),
    ("slice", "{m3}", "--origin", "0,0,0", "--dirs", "1,0,0", "0,1,0", "--extent", "1", "--json"),
    ("demo", "--json"),
], ids=lambda a: " ".join(a[:1] + a[2:3]))
def test_json_commands_print_one_object(models, args):
    r = _cli(*(a.format(**models) for a in args))
    assert r.returncode == 0, r.stderr
    _one_json_object(r.stdout)
    assert "HiGHS" not in r.stdout + r.stderr


def test_experiment_quick_prints_one_object(tmp_path):
    r = _cli("experiment", "scaling", "--out", tmp_path / "exp", "--quick", "--json")
    assert r.returncode == 0, r.stderr
    _one_json_object(r.stdout)


def test_new_highs_prints_nothing():
    code = "from nncells.geometry import solvers; solvers.new_highs(); solvers.new_highs(); print('done')"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "done\n"


def test_owned_stdout_sends_foreign_writes_to_stderr():
    """A dependency that prints (from Python or from C) while a --json command runs."""
    code = textwrap.dedent("""
        import os, sys
        from nncells._stdout import owned_stdout
        from nncells.cli.common import print_json
        with owned_stdout(json_only=True):
            print("python noise")
            os.write(1, b"C noise\\n")
            print_json({"ok": 1})
        print("after")
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout == '{"ok": 1}\nafter\n'
    assert "python noise" in r.stderr and "C noise" in r.stderr


def test_human_output_still_on_stdout(models):
    r = _cli("enumerate", models["m3"], "--box", "-1", "1", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "regions" in r.stdout and r.stderr == ""
