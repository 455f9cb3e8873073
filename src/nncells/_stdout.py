"""stdout belongs to nncells: keep every other writer off file descriptor 1.

Two tools, one mechanism (``os.dup2`` on the descriptor, so C and C++ writers are caught too):

- `silenced_stdout` throws away what is written to descriptor 1 while a block runs (used around
  ``highspy.Highs()``, which prints a banner from C++ in highspy >= 1.16 before any option can be
  set);
- `owned_stdout` is used by the command line: for the whole command, descriptor 1 points at
  stderr, and nncells writes its own output to a private copy of the real stdout. With
  ``json_only=True`` even Python-level writers (``print`` in a dependency) go to stderr, so
  ``--json`` prints exactly one JSON object whatever the installed dependencies do.
"""
from __future__ import annotations

import contextlib
import ctypes
import io
import os
import sys

_owned = None  # the stream that nncells's own output goes to while `owned_stdout` runs


def _flush_c_stdio() -> None:
    """Flush C's stdio buffers (on a pipe, stdout is fully buffered by libc)."""
    try:
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # no C library to reach: nothing buffered there
        pass


def _fd_of(stream):
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


@contextlib.contextmanager
def silenced_stdout():
    """Discard whatever is written to file descriptor 1 (Python, C or C++) inside the block.

    Examples
    --------
    >>> with silenced_stdout():
    ...     pass
    """
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 at all: nothing to protect
        yield
        return
    try:
        if sys.__stdout__ is not None:
            sys.__stdout__.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
        finally:
            os.close(devnull)
        try:
            yield
        finally:
            _flush_c_stdio()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@contextlib.contextmanager
def owned_stdout(json_only: bool = False):
    """Run a command with descriptor 1 pointing at stderr; yield nncells's own output stream.

    When ``sys.stdout`` is not descriptor 1 (a test harness capturing it), it is left as the
    output stream and only the descriptor is guarded.
    """
    global _owned
    out = sys.stdout
    fd = _fd_of(out)
    saved = None
    own = out
    if fd is not None:
        out.flush()
        _flush_c_stdio()
        saved = os.dup(fd)
        own = open(os.dup(saved), "w", encoding=getattr(out, "encoding", None) or "utf-8",
                   errors=getattr(out, "errors", None) or "strict", closefd=True)
        os.dup2(2, fd)
    previous = _owned
    _owned = own
    sys.stdout = sys.stderr if json_only else own
    try:
        yield own
    finally:
        try:
            own.flush()
        except OSError:  # a closed pipe: nothing more can reach the reader
            pass
        _flush_c_stdio()
        sys.stdout = out
        _owned = previous
        if saved is not None:
            os.dup2(saved, fd)
            os.close(saved)
            own.close()


def nncells_stdout():
    """The stream for nncells's own output: the real stdout, whatever `owned_stdout` did."""
    return _owned if _owned is not None else sys.stdout
