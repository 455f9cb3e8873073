"""Speed of `nncells.enumerate_regions` on a fixed set of networks, and side by side with relucent.

    python3 benchmarks/run_benchmarks.py [--runs 3] [--peers /tmp/peers-relucent/bin/python]
        [--no-peers] [--timeout 120] [--write]

Part 1, nncells alone: random networks ``nncells.random_network(dims, seed=0)`` with input
dimension 2 to 10, 1 to 4 hidden layers of width 8 to 64, in the box [-1, 1]^d, enumerated with
the public API and its defaults (``enumerate_regions(net, Box(-1, 1))``: backend and worker
count are the library's choice). Regions, median wall seconds of ``--runs`` runs, regions per
second and LP solves per region (deterministic).

Part 2, side by side with relucent 1.0.0 (Gaines & Bi; PyPI), the strongest open tool that
enumerates activation regions in any dimension, on small networks so that it finishes. relucent
runs in its own venv (``--peers``, see benchmarks/bench_relucent.py), one run per network right
after nncells' runs on the same network, on the same cores; its box is its own ``cube_radius=1,
cube_mode="clipped"`` (same regions as nncells' Box(-1, 1): the counts are checked). One row
compares the whole input space (nncells ``Space()``, relucent unrestricted).

Prints a Markdown report; ``--write`` also puts it into docs/benchmarks.md between the markers
``<!-- enumerate:begin -->`` and ``<!-- enumerate:end -->`` (other sections are left alone).
"""
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import signal  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import nncells  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- enumerate:begin -->", "<!-- enumerate:end -->"
DEFAULT_PEERS = "/tmp/peers-relucent/bin/python"

# (input dim, hidden widths...): counts from hundreds to tens of thousands, each run < 15 s here.
FIXED = [
    "2-32-32-1", "2-64-64-1", "2-64-64-64-64-1",
    "3-16-16-1", "3-16-16-16-16-1", "3-32-32-32-1",
    "4-16-16-1", "4-16-16-16-1", "4-8-8-8-8-1",
    "6-16-1", "6-8-8-8-1", "6-8-8-8-8-1",
    "8-8-8-1", "10-12-1", "10-8-8-1",
]
# Side by side with relucent (small, so that relucent finishes in about a minute or less).
COMPARE = [("2-32-32-1", "box"), ("3-16-16-1", "box"), ("4-8-8-1", "box"), ("6-8-8-1", "box"),
           ("10-10-1", "box"), ("2-32-32-1", "space")]


def dims_of(name):
    return [int(x) for x in name.split("-")]


def domain_of(kind):
    return nncells.Box(-1, 1) if kind == "box" else nncells.Space()


def run_nncells(net, domain, runs):
    secs, summ = [], None
    for _ in range(runs):
        t = time.perf_counter()
        res = nncells.enumerate_regions(net, domain)
        secs.append(time.perf_counter() - t)
        summ = res.summary()
    sec = statistics.median(secs)
    return {"regions": summ["regions"], "seconds": sec, "rate": summ["regions"] / sec,
            "lp": summ["lp_solves"], "lp_per_region": summ["lp_per_region"],
            "method": summ.get("method", "cells"), "workers": summ.get("workers", 1),
            "all_seconds": secs}


def run_relucent(python, npz, kind, timeout):
    cmd = [python, str(HERE / "bench_relucent.py"), str(npz), "--timeout", str(timeout)]
    if kind == "box":
        cmd += ["--box", "1", "--mode", "clipped"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout + 60)
    except subprocess.TimeoutExpired:
        out, err = "", "hung past its own timeout"
    finally:
        try:  # relucent's worker processes live in the same (new) process group
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if not lines:
        tail = err.strip().splitlines()[-1] if err.strip() else f"exit status {p.returncode}"
        return {"error": tail}
    return json.loads(lines[-1])


def machine_line():
    cpu = platform.processor() or platform.machine()
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{n} cores ({cpu}), Python {platform.python_version()}, {platform.system()}"


def git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True).stdout.strip() or "?"
    except OSError:
        return "?"


def fmt_rate(x):
    return f"{x:,.0f}" if x >= 10 else f"{x:.2f}"


def part1(runs, log):
    rows = []
    for name in FIXED:
        net = nncells.random_network(dims_of(name), seed=0)
        r = run_nncells(net, nncells.Box(-1, 1), runs)
        r["name"] = name
        rows.append(r)
        log(f"[nncells] {name}: {r['regions']} regions, {r['seconds']:.2f} s, "
            f"{r['lp_per_region']:.2f} LP/region ({r['method']})")
    return rows


def part2(runs, python, timeout, log):
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, kind in COMPARE:
            net = nncells.random_network(dims_of(name), seed=0)
            npz = Path(tmp) / f"{name}.npz"
            net.to_npz(npz)
            ours = run_nncells(net, domain_of(kind), runs)
            peer = run_relucent(python, npz, kind, timeout)
            row = {"name": name, "domain": kind, "nncells": ours, "relucent": peer}
            if "error" not in peer and peer["seconds"] > 0:
                row["ratio"] = ours["rate"] / (peer["regions"] / peer["seconds"])
            rows.append(row)
            log(f"[compare] {name} {kind}: nncells {ours['regions']} in {ours['seconds']:.2f} s; "
                f"relucent {peer}")
    return rows


def report(cmd, runs, fixed, compare, peers_note):
    L = []
    L.append("## Enumeration speed (issue 2)")
    L.append("")
    L.append(f"- Machine: {machine_line()}; BLAS threads pinned to 1; nncells {nncells.__version__} "
             f"(commit {git_commit()}), {datetime.date.today().isoformat()}.")
    L.append(f"- Command: `{cmd}`")
    L.append("- Networks: `nncells.random_network(dims, seed=0)` (He-scaled Gaussian weights and "
             "biases), domain the box [-1, 1]^d unless marked *space*; `enumerate_regions(net, "
             "Box(-1, 1))` with its defaults (backend chosen by `method='auto'`: the exact planar "
             "mesh for 2 inputs, the layer-wise cell engine otherwise; default worker count).")
    L.append(f"- Seconds: median wall time of {runs} runs of the whole call. LP solves are "
             "deterministic; seconds are not (the 2 cores are shared with other work: compare "
             "ratios measured in one run, not across runs).")
    try:
        from nncells._config import VERTEX_MAX_DIM as vmax
    except ImportError:
        vmax = 4
    L.append(f"- How nncells avoids LPs: 2 inputs in a box go to the exact planar mesh (no LP); "
             f"bounded cells in 2 to {vmax} dimensions use the exact vertex mode (cut decisions from "
             f"the cell's vertices, no LP); the whole space in up to {vmax - 1} dimensions is lifted to a "
             f"box one dimension up (homogeneous coordinates) and gets the vertex mode too; above that, "
             f"cuts are decided with HiGHS LPs, made rare by interval bounds and witness balls.")
    L.append("")
    if fixed:
        L.append("### nncells on the fixed network set")
        L.append("")
        L.append("| network | backend | workers | regions | seconds | regions/s | LP solves | LP/region |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|")
        for r in fixed:
            L.append(f"| {r['name']} | {r['method']} | {r['workers']} | {r['regions']:,} | "
                     f"{r['seconds']:.2f} | {fmt_rate(r['rate'])} | {r['lp']:,} | "
                     f"{r['lp_per_region']:.2f} |")
        tot_r = sum(r["regions"] for r in fixed)
        tot_lp = sum(r["lp"] for r in fixed)
        tot_s = sum(r["seconds"] for r in fixed)
        mean_lp = statistics.mean(r["lp_per_region"] for r in fixed)
        worst = max(fixed, key=lambda r: r["lp_per_region"])
        L.append(f"| **all** | | | {tot_r:,} | {tot_s:.2f} | {fmt_rate(tot_r / tot_s)} | {tot_lp:,} | "
                 f"{tot_lp / tot_r:.2f} |")
        L.append("")
        ok = tot_lp / tot_r < 3 and mean_lp < 3
        L.append(f"LP solves per region: {tot_lp / tot_r:.2f} over all regions, {mean_lp:.2f} as the "
                 f"mean of the per-network figures, at most {worst['lp_per_region']:.2f} "
                 f"({worst['name']}). Target < 3 on average: **{'met' if ok else 'not met'}**.")
        L.append("")
    L.append("### Side by side with relucent 1.0.0")
    L.append("")
    if not compare:
        L.append(peers_note)
        L.append("")
        return "\n".join(L)
    L.append("relucent 1.0.0 (PyPI, Gurobi from `gurobipy`) in its own venv, `Complex(model).bfs()` "
             "from the origin with its default worker count (one process per core), "
             "certification off (`verify=False`, which only makes it faster; the search is "
             "complete either way), box as `cube_radius=1, cube_mode='clipped'`; one run per "
             f"network right after nncells' {runs} runs on the same network and cores.")
    L.append("")
    L.append("| network | domain | nncells regions | relucent regions | nncells s | relucent s | "
             "nncells regions/s | relucent regions/s | ratio |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    mismatches, box_ratios = [], []
    for row in compare:
        o, p = row["nncells"], row["relucent"]
        if "error" in p:
            L.append(f"| {row['name']} | {row['domain']} | {o['regions']:,} | failed: {p['error']} | "
                     f"{o['seconds']:.2f} | | {fmt_rate(o['rate'])} | | |")
            continue
        pr = p["regions"] / p["seconds"]
        preg = f"{p['regions']:,}" + (" (partial)" if p.get("timed_out") else "")
        psec = (f"> {p['seconds']:.0f}" if p.get("timed_out") else f"{p['seconds']:.2f}")
        ratio = f"{row['ratio']:,.0f}x" if row["ratio"] >= 10 else f"{row['ratio']:.1f}x"
        L.append(f"| {row['name']} | {row['domain']} | {o['regions']:,} | {preg} | {o['seconds']:.2f} | "
                 f"{psec} | {fmt_rate(o['rate'])} | {fmt_rate(pr)} | {ratio} |")
        if not p.get("timed_out") and p["regions"] != o["regions"]:
            mismatches.append(f"{row['name']} ({row['domain']}): nncells {o['regions']}, "
                              f"relucent {p['regions']}")
        if row["domain"] == "box":
            box_ratios.append(row["ratio"])
    L.append("")
    if mismatches:
        L.append("Region counts differ: " + "; ".join(mismatches) + ".")
    else:
        L.append("Both tools find the same number of regions on every network that relucent finished.")
    L.append("")
    if box_ratios:
        lo, med = min(box_ratios), statistics.median(box_ratios)
        L.append(f"Ratio of regions per second in the box: median {med:,.0f}x, lowest {lo:,.1f}x. "
                 f"Target at least 50x on every network: **{'met' if lo >= 50 else 'not met'}**"
                 + ("" if lo >= 50 else f" ({sum(r >= 50 for r in box_ratios)} of "
                    f"{len(box_ratios)} box networks reach it)") + ".")
        space = [r for r in compare if r["domain"] == "space" and "ratio" in r]
        for r in space:
            L.append(f"In the whole space ({r['name']}): {r['ratio']:,.1f}x "
                     f"({'meets' if r['ratio'] >= 50 else 'below'} the 50x target; the whole space "
                     f"runs in homogeneous coordinates, a box one dimension up, with "
                     f"{r['nncells']['lp_per_region']:.2f} LPs per region).")
        L.append("")
        L.append("Caveats: relucent runs once per network (6 to 80 s each here), nncells 3 times; "
                 "relucent's rate includes its start-up (process pool, Gurobi environment), which "
                 "weighs most on the smallest networks. The issue's reference figure (2,359 "
                 "regions of a 2-32-32-1 network in 36 s) is for that issue's own weights (by its count, probably "
                 "in the whole space); `random_network([2, 32, 32, 1], seed=0)` has 1,984 regions there "
                 "and 558 in the box.")
    L.append("")
    return "\n".join(L)


def write_doc(text):
    block = f"{BEGIN}\n{text.rstrip()}\n{END}"
    if DOC.exists():
        old = DOC.read_text()
        if BEGIN in old and END in old:
            head, rest = old.split(BEGIN, 1)
            _, tail = rest.split(END, 1)
            new = head + block + tail
        else:
            new = old.rstrip() + "\n\n" + block + "\n"
    else:
        new = "# Benchmarks\n\nEach section is written by the script named in it.\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="nncells runs per network (median)")
    ap.add_argument("--peers", default=os.environ.get("NNCELLS_PEERS_PYTHON", DEFAULT_PEERS),
                    help="python of the venv with relucent (default %(default)s)")
    ap.add_argument("--no-peers", action="store_true", help="skip the relucent comparison")
    ap.add_argument("--no-fixed", action="store_true", help="skip the fixed network set")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per relucent run")
    ap.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = ap.parse_args()

    cmd = "python3 benchmarks/run_benchmarks.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    print(f"# machine: {machine_line()}", file=sys.stderr)
    print(f"# command: {cmd.strip()}", file=sys.stderr)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    fixed = [] if args.no_fixed else part1(args.runs, log)
    compare, note = [], ""
    if args.no_peers:
        note = "Not run (`--no-peers`)."
    elif not Path(args.peers).exists():
        note = (f"Not run: no peers interpreter at `{args.peers}` (create it with `python3 -m venv "
                "/tmp/peers-relucent && /tmp/peers-relucent/bin/pip install torch==2.13.0 "
                "relucent==1.0.0`).")
    else:
        compare = part2(args.runs, args.peers, args.timeout, log)
    text = report(cmd.strip(), args.runs, fixed, compare, note)
    print(text)
    if args.write:
        write_doc(text)
        log(f"wrote {DOC}")


if __name__ == "__main__":
    main()
