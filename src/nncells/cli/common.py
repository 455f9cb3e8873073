"""Argument helpers shared by the CLI commands.

Light at import (no numpy, scipy or engine): ``nncells --help`` imports this module.
"""
from __future__ import annotations

import json
import signal
import sys

from nncells._stdout import nncells_stdout
from nncells.errors import NNCellsError


def number_list(text: str) -> list[float]:
    """'0.5' or '0,1,2' -> list of floats, with a clear error."""
    try:
        vals = [float(t) for t in str(text).split(",")]
    except ValueError:
        raise NNCellsError(f"not a number or comma-separated list of numbers: {text!r}") from None
    return vals


def add_model_argument(parser):
    parser.add_argument("model", metavar="MODEL", help="model file (.npz, .pt, .onnx, ...)")
    parser.add_argument("--input-shape", default=None,
                        help="input shape for models whose input size cannot be inferred, e.g. 1,28,28")


def load_model_arg(args):
    from nncells.models import load_model
    shape = None
    if getattr(args, "input_shape", None):
        shape = tuple(int(v) for v in number_list(args.input_shape))
    return load_model(args.model, input_shape=shape)


def add_domain_arguments(parser, required=True):
    g = parser.add_mutually_exclusive_group(required=required)
    g.add_argument("--box", nargs=2, metavar=("LO", "HI"),
                   help="box domain; LO and HI are a number or one value per input dimension (comma-separated)")
    g.add_argument("--whole-space", action="store_true", help="the whole input space R^n")


def domain_from_args(args, dim):
    from nncells.domains import Box, Space
    if getattr(args, "whole_space", False):
        return Space(dim)
    if getattr(args, "box", None):
        lo, hi = (number_list(v) for v in args.box)
        return Box(lo, hi).resolve(dim)
    return None


def print_json(obj) -> None:
    """Write one JSON object and a newline to nncells's own stdout."""
    out = nncells_stdout()
    json.dump(obj, out)
    out.write("\n")
    out.flush()


def report_interrupt(e: KeyboardInterrupt, detail: str = "") -> int:
    """Print the one line of a command stopped by Ctrl-C or SIGTERM (`nncells.errors.Terminated`)
    on stderr, ``detail`` appended; return the exit status, 128 + the signal's number (130 for
    Ctrl-C, 143 for SIGTERM)."""
    signum = getattr(e, "signum", signal.SIGINT)
    by = "" if signum == signal.SIGINT else f" by {signal.Signals(signum).name}"
    print(f"nncells: interrupted{by}{detail}", file=sys.stderr)
    return 128 + signum
