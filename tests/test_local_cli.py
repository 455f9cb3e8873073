"""`nncells local`: one ball (--json) and a batch of points (CSV / Parquet)."""
import csv
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from nncells.cli.main import main
from nncells.local import boundary_distance, count_in_ball, upper_bound_in_ball
from cli_helpers import save_network


@pytest.fixture
def model(tmp_path):
    net, path = save_network(tmp_path, [2, 6, 5, 1], 2)
    return net, str(path)


def test_one_ball_json(model, capsys):
    net, path = model
    assert main(["local", path, "--center", "0.2,-0.1", "--radius", "0.8", "--samples", "300", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    c = np.array([0.2, -0.1])
    assert out["exact"] == count_in_ball(net, c, 0.8)
    assert out["upper_bound"] == upper_bound_in_ball(net, c, 0.8)
    assert out["sampled_lower_bound"] <= out["exact"] <= out["upper_bound"]
    assert out["boundary_distance"] == pytest.approx(boundary_distance(net, c), rel=1e-12)
    assert isinstance(out["exact"], int) and isinstance(out["boundary_distance"], float)


def test_one_ball_inf_norm_text(model, capsys):
    _, path = model
    assert main(["local", path, "--center", "0,0", "--radius", "0.5", "--norm", "inf"]) == 0
    assert "upper_bound" in capsys.readouterr().out


@pytest.mark.parametrize("points_ext,out_ext", [(".npy", ".csv"), (".csv", ".parquet")])
def test_batch(model, tmp_path, capsys, points_ext, out_ext):
    net, path = model
    X = np.random.default_rng(0).normal(size=(5, 2))
    pts = tmp_path / f"pts{points_ext}"
    if points_ext == ".npy":
        np.save(pts, X)
    else:
        np.savetxt(pts, X, delimiter=",", header="x0,x1", comments="")
    out = tmp_path / f"out{out_ext}"
    assert main(["local", path, "--points", str(pts), "--radius", "0.5", "--out", str(out),
                 "--exact", "--workers", "1", "--samples", "100", "--quiet"]) == 0
    if out_ext == ".csv":
        with open(out) as f:
            rows = list(csv.DictReader(f))
        col = {k: [r[k] for r in rows] for k in rows[0]}
    else:
        col = pq.read_table(out).to_pydict()
    assert [int(v) for v in col["index"]] == list(range(5))
    exact = [int(v) for v in col["exact"]]
    assert exact == [count_in_ball(net, x, 0.5) for x in X]
    assert all(int(s) <= e <= int(u) for s, e, u in
               zip(col["sampled_lower_bound"], exact, col["upper_bound"]))
    np.testing.assert_allclose([float(v) for v in col["boundary_distance"]], boundary_distance(net, X),
                               rtol=1e-12)
    assert set(col) == {"index", "exact", "upper_bound", "sampled_lower_bound", "local_complexity",
                        "boundary_distance"}
    assert not list(tmp_path.glob(".out*"))  # no temporary file left behind


@pytest.mark.parametrize("extra", [
    ["--center", "0,0", "--radius", "0"],
    ["--center", "0,0", "--radius", "-1"],
    ["--center", "0,0", "--radius", "nan"],
    ["--center", "0,0,0", "--radius", "1"],
    ["--center", "0,nan", "--radius", "1"],
    ["--center", "0,x", "--radius", "1"],
    ["--points", "missing.npy", "--radius", "1", "--out", "o.csv"],
    ["--points", "PTS", "--radius", "1"],
    ["--points", "PTS", "--radius", "1", "--out", "o.txt"],
    ["--center", "0,0", "--radius", "1", "--out", "o.csv"],
])
def test_bad_input_exits_nonzero_with_one_line(model, tmp_path, capsys, extra):
    _, path = model
    pts = tmp_path / "p.npy"
    np.save(pts, np.zeros((2, 2)))
    extra = [str(pts) if a == "PTS" else a for a in extra]
    assert main(["local", path] + extra) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("nncells: error:") and "\n" not in err


def _run_local(args, stderr_tty, winsize=True):
    """Run ``nncells local`` in a subprocess; stderr is a pseudo-terminal when ``stderr_tty``.
    Returns (exit status, stdout, stderr text)."""
    import os
    import subprocess
    import sys
    import threading
    cmd = [sys.executable, "-m", "nncells", "local", *args]
    if not stderr_tty:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        return r.returncode, r.stdout, r.stderr
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    if winsize:  # a terminal of 80 columns (a bare pseudo-terminal reports 0 x 0)
        import fcntl
        import struct
        import termios
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    chunks = []

    def read():
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO once the child has closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                           text=True, timeout=300)
    finally:
        os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    return p.returncode, p.stdout, b"".join(chunks).decode(errors="replace")


def test_progress_bar_only_on_a_terminal(model, tmp_path):
    _, path = model
    pts = tmp_path / "p.npy"
    np.save(pts, np.random.default_rng(0).uniform(-1, 1, (6, 2)))
    args = [path, "--points", str(pts), "--radius", "0.3", "--samples", "50", "--out", str(tmp_path / "o.csv")]
    rc, out, err = _run_local(args, stderr_tty=False)
    assert rc == 0 and "6 points analysed" in out
    assert err == ""  # stderr is a pipe: no progress output at all
    rc, out, err = _run_local(args + ["--exact", "--workers", "1"], stderr_tty=False)
    assert rc == 0 and err == ""
    rc, out, err = _run_local(args, stderr_tty=True)
    assert rc == 0 and "6 points analysed" in out
    assert "6/6" in err and "point" in err  # the bar went to the terminal, not to stdout
    rc, out, err = _run_local(args, stderr_tty=True, winsize=False)  # a terminal of 0 columns
    assert rc == 0 and "6/6" in err
    rc, out, err = _run_local(args + ["--quiet"], stderr_tty=True)
    assert rc == 0 and err == ""


def test_no_progress_in_process_when_stderr_is_captured(model, tmp_path, capsys):
    _, path = model
    pts = tmp_path / "p.npy"
    np.save(pts, np.zeros((3, 2)))
    assert main(["local", path, "--points", str(pts), "--radius", "0.5", "--out", str(tmp_path / "o.csv")]) == 0
    assert capsys.readouterr().err == ""
