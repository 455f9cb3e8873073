"""Command-line interface: thin wrappers around the library.

Every command is a module in ``nncells.cli`` with ``add_arguments(parser)`` and
``run(args) -> int``. User errors (`NNCellsError`) print one line on stderr and exit 2; Ctrl-C
and SIGTERM print one line and exit 128 + the signal's number (130, 143).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import re
import signal
import sys
import threading
import warnings

from nncells._stdout import owned_stdout
from nncells.cli.common import report_interrupt
from nncells.errors import ModelWarning, NNCellsError, Terminated

# argparse takes '-1' for a negative number but '-1,0,-2' for an option; let a comma-separated
# list of numbers be a value too (argparse has no public hook for this).
_NEGATIVE_NUMBERS = re.compile(r"^-(inf|nan|[\d.]+(e[+-]?\d+)?)(,[+-]?(inf|nan|[\d.]+(e[+-]?\d+)?))*$", re.I)

# optional top-level package -> the extra that installs it
_EXTRAS = {"matplotlib": "plot", "networkx": "plot", "torch": "torch", "onnx": "onnx", "onnxruntime": "onnx",
           "dask": "dask", "distributed": "dask", "sklearn": "experiments"}

# command name -> (module in nncells.cli, one-line help)
COMMANDS = {
    "enumerate": ("enumerate_cmd", "enumerate the activation regions of a model in a domain"),
    "demo": ("demo_cmd", "enumerate the regions of the bundled example network"),
    "local": ("local_cmd", "regions around data points: exact count, bounds, boundary distance"),
    "slice": ("slice_cmd", "exact regions, decision boundary and pictures of a 2-D slice"),
    "experiment": ("experiment_cmd", "run a reproducible experiment: training-dynamics or scaling"),
    "topology": ("topology_cmd", "faces of every dimension and Betti numbers of the decision regions"),
    "verify": ("verify_cmd", "check a sharded run's directory: checksums, counts, duplicate patterns"),
}


def command_in(argv) -> str | None:
    """The command named in ``argv`` (the first word that is not an option), or None.

    The top-level parser's own options (``--help``, ``--version``) take no value, so the first
    word is the command.

    Examples
    --------
    >>> command_in(["local", "m.npz", "--center", "0,0"])
    'local'
    >>> command_in(["--version"]) is None, command_in(["nosuch"]) is None
    (True, True)
    """
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(argv=None) -> argparse.ArgumentParser:
    """The parser of ``nncells``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments about to be parsed. When given, only the module of the command they name is
        imported (the others appear in ``--help`` by name and help line only), so ``nncells
        --version``, ``nncells --help`` and ``nncells VERB --help`` import no engine, scipy or
        pyarrow. When None, every command is complete.

    Returns
    -------
    argparse.ArgumentParser

    Examples
    --------
    >>> p = build_parser(["--version"])  # every command named, none imported
    >>> sorted(p._subparsers._group_actions[0].choices) == sorted(COMMANDS)
    True
    >>> build_parser(["local"]).parse_args(["local", "m.npz", "--center", "0", "--radius", "1"]).radius
    '1'
    """
    from nncells import __version__
    wanted = set(COMMANDS) if argv is None else {command_in(argv)}
    parser = argparse.ArgumentParser(prog="nncells", description="Exact geometry of ReLU networks.")
    parser._negative_number_matcher = _NEGATIVE_NUMBERS
    parser.add_argument("--version", action="version", version=f"nncells {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (module, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        p._negative_number_matcher = _NEGATIVE_NUMBERS
        if name in wanted:  # a command's module (and what it imports at its top) only when it runs
            mod = importlib.import_module(f"nncells.cli.{module}")
            mod.add_arguments(p)
            p.set_defaults(_run=mod.run)
    return parser


class _NotesOnStderr(logging.Handler):
    """Notes of the library (the ``nncells`` logger, warnings and above) as ``nncells: note: ...``
    on the stderr of the moment."""

    def emit(self, record):
        print(f"nncells: {record.getMessage()}", file=sys.stderr)


def _notes_on_stderr() -> None:
    log = logging.getLogger("nncells")
    if not any(isinstance(h, _NotesOnStderr) for h in log.handlers):
        log.addHandler(_NotesOnStderr())
        log.propagate = False


@contextlib.contextmanager
def _warnings_on_stderr():
    """For the command's duration, nncells' own warnings (`ModelWarning`) print as one line
    ``nncells: warning: ...`` on stderr; other warnings take Python's usual path."""
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, ModelWarning):
            print(f"nncells: warning: {message}", file=sys.stderr)
        else:
            previous(message, category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """For the command's duration, SIGTERM raises `Terminated` (a ``KeyboardInterrupt``) in the
    main thread, so it takes Ctrl-C's path: checkpoint, one line, exit 143. The previous handler
    is restored afterwards (``main`` may run inside a program of its own)."""
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield
        return

    def handler(signum, frame):
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def main(argv=None) -> int:
    program = argv is None and threading.current_thread() is threading.main_thread()   # not inside a program
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    _notes_on_stderr()
    try:
        with _sigterm_as_interrupt(), _warnings_on_stderr(), owned_stdout(json_only=bool(getattr(args, "json", False))):
            return int(args._run(args) or 0)
    except NNCellsError as e:
        print(f"nncells: error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        extra = _EXTRAS.get((e.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"nncells: error: this needs the optional package {e.name!r}: pip install 'nncells[{extra}]'",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C, or SIGTERM as `Terminated`
        status = report_interrupt(e)
        if program:   # the run is stopped: a second signal during the interpreter's shutdown (its
            for sig in (signal.SIGINT, signal.SIGTERM):   # threads are joined) prints no traceback
                signal.signal(sig, signal.SIG_IGN)
        return status
    except OSError as e:  # the operating system refused: a path, a full disk, a closed pipe
        where = f"{e.filename}: " if e.filename else ""
        print(f"nncells: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
