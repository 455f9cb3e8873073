"""The frontier of a checkpointed run on disk: tasks as plain numeric arrays in an ``.npz`` file.

No pickle: `decode_tasks` loads with ``allow_pickle=False``, so a run directory from someone
else cannot make nncells execute code; it only ever yields arrays of the expected types and
shapes, or a one-line `RunError`. Each field of the tasks becomes two arrays: ``NAME.data`` (the
values of all tasks, concatenated) and ``NAME.shape`` (one row per task; ``-1`` where the task has
no such field). The affine maps are not stored: a task rebuilds its map (bit for bit the same)
when it runs, as for every frontier task (`Task.pack`).
"""
from __future__ import annotations

import io
import zipfile

import numpy as np

from nncells.engine.cells import Cell, Task
from nncells.errors import RunError

FORMAT = "nncells-frontier/3"
_OLDER = "nncells-frontier/1"  # one magnitude per vertex (read: the same for each coordinate)
_V2 = "nncells-frontier/2"     # no light cells (every cell has its rows; no ``cuts``)

# field -> (number of axes, dtype); per task, in this order
_FIELDS = {
    "layer": (0, np.int64), "radius": (0, np.float64),
    "A": (2, np.float64), "c": (1, np.float64), "point": (1, np.float64),
    "wit_points": (2, np.float64), "wit_radii": (1, np.float64),
    "box_lo": (1, np.float64), "box_hi": (1, np.float64),
    "vertices": (2, np.float64), "active": (2, np.bool_), "vmag": (2, np.float64),
    "pattern": (1, np.bool_), "ranks": (1, np.int64), "signs": (1, np.bool_), "rest": (1, np.int64),
    "labels": (1, np.int64), "cuts": (1, np.bool_), "basis": (1, np.int8),
}
_OPTIONAL = {"labels", "cuts", "basis"}  # absent from files of older versions: None for every task


def _values(t: Task) -> dict:
    c = t.cell
    box = c.box if c.box is not None else (None, None)
    part = t.partial if t.partial is not None else (None, None)
    return {"layer": t.layer, "radius": c.radius, "A": c.A, "c": c.c, "point": c.point,
            "wit_points": c.wit_points, "wit_radii": c.wit_radii, "box_lo": box[0], "box_hi": box[1],
            "vertices": c.vertices, "active": c.active, "vmag": c.vmag, "pattern": t.pattern,
            "ranks": np.asarray(t.ranks, dtype=np.int64), "signs": part[0], "rest": part[1], "labels": c.labels,
            "cuts": c.cuts, "basis": c.basis}


def encode_tasks(tasks) -> bytes:
    """The tasks as the bytes of an ``.npz`` file (numeric arrays only).

    Examples
    --------
    >>> import nncells
    >>> from nncells.engine.tasks import Problem
    >>> root = Problem.make(nncells.random_network([2, 3, 1], seed=0), nncells.Box(-1, 1)).root_task()
    >>> [t] = decode_tasks(encode_tasks([root]))
    >>> t.layer, bool((t.cell.A == root.cell.A).all()), t.partial
    (0, True, None)
    """
    rows = [_values(t) for t in tasks]
    arrays = {"format": np.array(FORMAT), "count": np.array(len(rows), dtype=np.int64)}
    for name, (ndim, dtype) in _FIELDS.items():
        vals = [r[name] for r in rows]
        if ndim == 0:
            arrays[name] = np.array(vals, dtype=dtype)
            continue
        shape = np.full((len(vals), ndim), -1, dtype=np.int64)
        parts = []
        for i, v in enumerate(vals):
            if v is not None:
                v = np.asarray(v, dtype=dtype)
                shape[i] = v.shape
                parts.append(v.reshape(-1))
        arrays[f"{name}.shape"] = shape
        arrays[f"{name}.data"] = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _columns(z, n, fields=_FIELDS) -> dict:
    cols = {}
    for name, (ndim, dtype) in fields.items():
        if ndim == 0:
            a = z[name]
            if a.shape != (n,) or a.dtype != dtype:
                raise ValueError(f"field {name}: shape {a.shape}, type {a.dtype}")
            cols[name] = a.tolist()
            continue
        if name in _OPTIONAL and f"{name}.shape" not in z.files:
            cols[name] = [None] * n
            continue
        shape, data = z[f"{name}.shape"], z[f"{name}.data"]
        if shape.shape != (n, ndim) or shape.dtype != np.int64 or data.dtype != dtype or data.ndim != 1:
            raise ValueError(f"field {name}: unexpected layout")
        present = shape[:, 0] >= 0
        if (shape[present] < 0).any():
            raise ValueError(f"field {name}: negative size")
        sizes = np.where(present, np.prod(np.maximum(shape, 0), axis=1), 0)
        if sizes.sum() != data.size:
            raise ValueError(f"field {name}: {data.size} values for {int(sizes.sum())}")
        ends = np.cumsum(sizes)
        cols[name] = [data[e - s:e].reshape(shape[i]) if present[i] else None
                      for i, (s, e) in enumerate(zip(sizes, ends))]
    return cols


def decode_tasks(data: bytes, name="frontier") -> list:
    """The tasks `encode_tasks` wrote; anything else is refused with a `RunError` naming ``name``."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            fmt = str(z["format"])
            if fmt not in (FORMAT, _V2, _OLDER):
                raise ValueError(f"format {fmt!r}, expected {FORMAT!r}")
            n = int(z["count"])
            cols = _columns(z, n, _FIELDS if fmt != _OLDER else {**_FIELDS, "vmag": (1, np.float64)})
            if fmt == _OLDER:
                cols["vmag"] = [None if m is None or v is None else np.repeat(m[:, None], v.shape[1], axis=1)
                                for m, v in zip(cols["vmag"], cols["vertices"])]
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile, TypeError) as e:
        raise RunError(f"{name}: not a frontier file of this nncells ({e})") from None
    tasks = []
    for i in range(n):
        v = {k: col[i] for k, col in cols.items()}
        box = None if v["box_lo"] is None else (v["box_lo"], v["box_hi"])
        cell = Cell(v["A"], v["c"], v["point"], float(v["radius"]), v["wit_points"], v["wit_radii"], box,
                    v["vertices"], v["active"], v["vmag"], v["labels"], cuts=v["cuts"], basis=v["basis"])
        if v["labels"] is not None and (v["A"] is None or v["labels"].shape != v["A"].shape[:1]):
            raise RunError(f"{name}: not a frontier file of this nncells (labels of the wrong length)")
        if v["A"] is None and (v["cuts"] is None or v["cuts"].shape != v["pattern"].shape):
            raise RunError(f"{name}: not a frontier file of this nncells (a cell without rows or cuts)")
        partial = None if v["signs"] is None else (v["signs"], v["rest"])
        tasks.append(Task(int(v["layer"]), cell, None, None, v["pattern"], tuple(int(r) for r in v["ranks"]),
                          partial))
    return tasks


__all__ = ["encode_tasks", "decode_tasks", "FORMAT"]
