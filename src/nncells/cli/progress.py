"""A small progress line on stderr: silent unless stderr is a terminal.

The line shows the regions found, the rate and, where a proven upper bound on the count is known,
the time left at most (the bound's regions not yet found, at the rate so far).
"""
from __future__ import annotations

import math
import sys
import time


def format_duration(seconds) -> str:
    """A duration for people: ``0.015 s``, ``0.4 s``, ``12 min``, ``3.1 h``, ``2.0 d``, ``41 years``,
    ``1.2e+300 years``.

    ``seconds`` may be an int beyond float range.

    Examples
    --------
    >>> [format_duration(s) for s in (0.015, 0.4, 75, 11_000, 200_000, 3e9)]
    ['0.015 s', '0.4 s', '1.2 min', '3.1 h', '2.3 d', '95 years']
    >>> format_duration(10 ** 400)
    '3.2e+392 years'
    """
    try:
        s = float(seconds)
    except OverflowError:
        s = math.inf
    if not math.isfinite(s):   # beyond float range: the exponent from the int itself
        years = math.log10(seconds) - math.log10(365.25 * 86400)
        e = int(years)
        return f"{10 ** (years - e):.1f}e+{e} years"
    for unit, size in (("years", 365.25 * 86400), ("d", 86400), ("h", 3600), ("min", 60)):
        if s >= size:
            v = s / size
            if unit == "years" and v >= 1e4:
                return f"{v:.1e} years"
            return f"{v:.1f} {unit}" if v < 10 else f"{v:.0f} {unit}"
    return f"{s:.2g} s" if s < 0.1 else (f"{s:.1f} s" if s < 10 else f"{s:.0f} s")


def _per(count: int, rate: float):
    """``count / rate``: a float, or an int beyond float range."""
    try:
        q = count / rate
    except OverflowError:
        q = math.inf
    return q if math.isfinite(q) else count * 1000 // max(1, round(rate * 1000))


def format_progress(found: int, seconds: float, upper_bound=None, extra: str = "", label: str = "regions") -> str:
    """The progress line: ``label: N found, R/s, T s[, at most D left][, extra]``.

    With a proven ``upper_bound`` on the count (an int, possibly huge) and a positive rate, the
    time left is at most ``(upper_bound - found) / rate``: shown as ``at most D left``.

    Examples
    --------
    >>> format_progress(1200, 2.0)
    'regions: 1,200 found, 600/s, 2.0 s'
    >>> format_progress(1200, 2.0, upper_bound=7200, extra="3 pending")
    'regions: 1,200 found, 600/s, 2.0 s, at most 10 s left, 3 pending'
    >>> format_progress(1200, 2.0, upper_bound=10 ** 19)
    'regions: 1,200 found, 600/s, 2.0 s, at most 5.3e+08 years left'
    >>> format_progress(0, 0.5, upper_bound=100)
    'regions: 0 found, 0/s, 0.5 s'
    """
    rate = found / seconds if seconds > 0 else 0.0
    parts = [f"{label}: {found:,} found", f"{rate:,.0f}/s", f"{seconds:.1f} s"]
    if upper_bound is not None and rate > 0:
        parts.append(f"at most {format_duration(_per(max(int(upper_bound) - int(found), 0), rate))} left")
    if extra:
        parts.append(extra)
    return ", ".join(parts)


class Progress:
    """Prints `format_progress`'s line on one line of stderr, at most every ``every`` s.

    ``upper_bound``: a proven bound on the regions to find (or None), for the time left at most.
    ``note``: a line printed once on the first call (the driver calls it when the run starts,
    after its output is in place), whether or not progress is displayed.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> p = Progress(enabled=True, every=0.0, stream=out, upper_bound=10)
    >>> p(5); p.close()
    >>> out.getvalue().startswith("\\rregions: 5 found")
    True
    """

    def __init__(self, label="regions", enabled=None, every=0.5, stream=None, upper_bound=None, note=None):
        self.stream = stream or sys.stderr
        self.note = note
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self.every = every
        self.upper_bound = upper_bound
        self.t0 = time.perf_counter()
        self.last = 0.0
        self.shown = False

    def __call__(self, found: int, extra: str = "") -> None:
        if self.note:
            self.stream.write(self.note + "\n")
            self.stream.flush()
            self.note = None
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last < self.every:
            return
        self.last = now
        line = format_progress(found, now - self.t0, self.upper_bound, extra, self.label)
        self.stream.write(f"\r{line}\x1b[K")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
