"""The cells the engine works on: half-spaces, an interior ball, witnesses, and (in vertex mode)
vertices with the half-spaces each lies on."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Cell:
    """A full-dimensional cell: half-spaces ``A x <= c`` (unit rows), an interior ball, witnesses."""

    A: np.ndarray
    c: np.ndarray
    point: np.ndarray
    radius: float
    wit_points: np.ndarray  # (w, d) centres of balls inside the cell
    wit_radii: np.ndarray   # (w,)
    box: tuple | None = None  # (lo, hi) containing the cell, or None
    vertices: np.ndarray | None = None  # (v, d) vertices of a bounded cell, when known
    active: np.ndarray | None = None    # (v, rows of A) bool: which half-spaces each vertex lies on
    vmag: np.ndarray | None = None      # (v,) magnitude of the numbers each vertex was computed from


@dataclass
class Child:
    signs: np.ndarray  # bool (k,): True where h_i > 0 on the child
    cell: Cell
