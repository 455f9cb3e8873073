"""Checks of a sharded run's directory: every file its manifest lists is there, whole and
unchanged; the shards hold the rows and regions the manifest says, each pattern once.

`check_listed` is what ``--resume`` runs before it trusts a directory (sizes and checksums of the
shards and the frontier); `verify_run` is ``nncells verify DIR`` (that, and every shard re-read).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nncells.errors import NNCellsError, RunError
from nncells.results.store import (MANIFEST, LEGACY_MANIFEST, checksum, file_checksum, packed_patterns,
                                   pattern_keys, pattern_words, read_manifest)

_MAX_LISTED = 20  # problems listed in full; the rest are counted


def listed_files(manifest: dict) -> list:
    """The manifest's entries for the files of the run: its shards, its frontier and its network
    (where it has them)."""
    out = list(manifest.get("shards", []))
    out += [manifest[k] for k in ("frontier", "network_file") if isinstance(manifest.get(k), dict)]
    return out


def check_file(out_dir, entry: dict, data: bytes | pa.Buffer | None = None) -> str | None:
    """The problem with one listed file (missing, another size, another checksum), or None.
    ``data``: the file's contents (bytes or an Arrow buffer), when the caller has read them already."""
    path = Path(out_dir) / entry["file"]
    if data is None and not path.is_file():
        return f"{path}: missing"
    size = path.stat().st_size if data is None else len(data)
    if "bytes" in entry and size != entry["bytes"]:
        return f"{path}: {size} bytes where the manifest says {entry['bytes']} (truncated or replaced)"
    if "sha256" in entry and (file_checksum(path) if data is None else checksum(data)) != entry["sha256"]:
        return f"{path}: its checksum does not match the manifest's (changed or replaced)"
    return None


def check_listed(out_dir, manifest: dict, consequence: str = "cannot resume this run") -> None:
    """Raise a `RunError` naming the first listed file that is missing, truncated or changed, or
    a manifest whose region count disagrees with its shards'; ``consequence`` ends its line."""
    for entry in listed_files(manifest):
        problem = check_file(out_dir, entry)
        if problem:
            raise RunError(f"{problem}: {consequence}")
    problem = _count_problem(manifest)
    if problem:
        raise RunError(f"{Path(out_dir) / MANIFEST}: {problem}: {consequence}")


def _count_problem(manifest: dict) -> str | None:
    if manifest.get("options", {}).get("count_only"):
        return None
    rows = sum(int(s["rows"]) for s in manifest.get("shards", []))
    if rows != manifest.get("regions"):
        return f"says {manifest.get('regions')} regions but its shards hold {rows} rows"
    return None


def _duplicates(tables: list) -> int:
    """How many rows repeat a pattern of an earlier row (hashes first, exact bytes to confirm)."""
    hashes = [pattern_keys(pattern_words(packed_patterns(t))) for t in tables]
    if not hashes:
        return 0
    allh = np.concatenate(hashes)
    s = np.sort(allh)
    suspects = np.unique(s[1:][s[1:] == s[:-1]])
    if len(suspects) == 0:
        return 0
    rows = [packed_patterns(t)[np.isin(h, suspects)] for t, h in zip(tables, hashes)]
    rows = np.concatenate(rows)
    return len(rows) - len(np.unique(rows, axis=0))


def _read_to_arrow(path) -> pa.Buffer:
    """The contents of the file ``path`` in memory that Arrow owns, not in a Python object.

    ``pq.read_table`` scans on Arrow's thread pool, and a pool thread may drop the scan's last
    reference to its source after the call has returned. Were the source a Python ``bytes``,
    that thread would take the GIL to free it; when that happens while the interpreter exits
    (``nncells verify`` ends right after its last shard), CPython ends the thread inside a C++
    destructor and the process aborts ("terminate called without an active exception", status
    -6, seen about once in 100 runs on a busy machine). An Arrow buffer is freed without the GIL.
    """
    with pa.OSFile(str(path)) as f:
        return f.read_buffer()


def verify_run(out_dir) -> dict:
    """Check a sharded run's directory completely: the manifest's own checksum, every shard's
    size and checksum, that it reads as Parquet with the rows listed, the total against the
    manifest's region count, duplicate patterns across shards, files the manifest does not list.

    Returns a dict: ``ok``, ``dir``, ``finished``, ``regions``, ``rows``, ``shards``,
    ``duplicates``, ``problems`` (one line each, at most 20 listed) and ``problem_count``.

    Examples
    --------
    >>> import os, tempfile, nncells
    >>> out = os.path.join(tempfile.mkdtemp(), "run")
    >>> _ = nncells.enumerate_to_dir(nncells.random_network([3, 6, 1], seed=2), nncells.Box(-1, 1), out, workers=1)
    >>> v = verify_run(out)
    >>> v["ok"], v["duplicates"], v["rows"] == v["regions"]
    (True, 0, True)
    """
    d = Path(out_dir)
    if not d.is_dir():
        raise NNCellsError(f"{d}: not a directory")
    if not (d / MANIFEST).exists() and not (d / LEGACY_MANIFEST).exists():
        raise NNCellsError(f"{d}: no {MANIFEST}: not the directory of a sharded run")
    problems = []
    try:
        man = read_manifest(d)
    except NNCellsError as e:
        return _report(d, {}, problems=[str(e)])
    tables, rows = [], 0
    for key in ("frontier", "network_file"):
        if isinstance(man.get(key), dict):
            problem = check_file(d, man[key])
            if problem:
                problems.append(problem)
    for entry in man.get("shards", []):
        try:  # each shard is read once: checksum and table from the same bytes
            data = _read_to_arrow(d / entry["file"])
        except OSError:
            problems.append(f"{d / entry['file']}: missing")
            continue
        problem = check_file(d, entry, data)
        if problem:
            problems.append(problem)
            continue
        try:
            t = pq.read_table(pa.BufferReader(data))
        except (OSError, pa.ArrowInvalid) as e:
            problems.append(f"{d / entry['file']}: not readable as Parquet ({e})")
            continue
        if t.num_rows != entry["rows"]:
            problems.append(f"{d / entry['file']}: {t.num_rows} rows where the manifest says {entry['rows']}")
        rows += t.num_rows
        tables.append(t.select(["pattern"]))
    problem = _count_problem(man)
    if problem:
        problems.append(f"{d / MANIFEST}: {problem}")
    per_layer = man.get("per_layer") or []
    if man.get("finished") and per_layer and per_layer[-1] != man.get("regions"):
        problems.append(f"{d / MANIFEST}: {man.get('regions')} regions but {per_layer[-1]} in the last layer")
    listed = {e["file"] for e in man.get("shards", [])}
    stray = sorted(f.name for f in d.glob("shard-*.parquet") if f.name not in listed)
    if stray and man.get("finished"):
        problems.append(f"{d / stray[0]}: a shard the manifest does not list ({len(stray)} such files)")
    dups = _duplicates(tables)
    if dups:
        problems.append(f"{d}: {dups} rows repeat the pattern of another row")
    return _report(d, man, problems, rows=rows, duplicates=dups, stray=len(stray))


def _report(d, man, problems, rows=0, duplicates=0, stray=0) -> dict:
    return {"ok": not problems, "dir": str(d), "format": man.get("format"),
            "finished": bool(man.get("finished")), "regions": man.get("regions"), "rows": rows,
            "shards": len(man.get("shards", [])), "duplicates": duplicates, "unlisted_shards": stray,
            "checksums": man.get("format") not in (None, "nncells-regions/1"),
            "problems": problems[:_MAX_LISTED], "problem_count": len(problems)}


def format_verification(v: dict) -> str:
    """``verify_run``'s answer as one line."""
    if v["ok"]:
        state = "finished run" if v["finished"] else "unfinished run: resume it with --resume"
        how = "checksums match" if v["checksums"] else "sizes match (an older run: no checksums)"
        return (f"{v['dir']}: ok: {v['regions']:,} regions in {v['shards']} shard{'s' * (v['shards'] != 1)}, "
                f"{how}, no duplicate patterns ({state})")
    more = f" (and {v['problem_count'] - 1} more)" if v["problem_count"] > 1 else ""
    return f"{v['dir']}: FAILED: {v['problems'][0]}{more}"


__all__ = ["verify_run", "check_listed", "format_verification"]
