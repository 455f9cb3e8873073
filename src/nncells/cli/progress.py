"""A small progress line on stderr: silent unless stderr is a terminal."""
from __future__ import annotations

import sys
import time


class Progress:
    """Prints ``label: N regions, R/s, extra`` on one line of stderr, at most every ``every`` s."""

    def __init__(self, label="regions", enabled=None, every=0.5, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self.every = every
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.shown = False

    def __call__(self, found: int, extra: str = "") -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last < self.every:
            return
        self.last = now
        dt = now - self.t0
        rate = found / dt if dt > 0 else 0.0
        self.stream.write(f"\r{self.label}: {found:,} found, {rate:,.0f}/s, {dt:.1f} s {extra}\x1b[K")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
