"""``nncells slice``: the exact regions of a model on a 2-D slice, with an optional picture.

Domains: ``--box LO HI`` (2-input models: their own input plane), ``--points FILE`` (the plane
through 3 points; the domain is the bounding rectangle of the 3 points in orthonormal plane
coordinates with the first point at the origin), or ``--origin O --dirs U V --extent E`` (the
plane ``O + s U + t V`` with ``|s|, |t| <= E``).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from nncells.errors import NNCellsError
from nncells.cli.common import add_model_argument, load_model_arg, number_list, print_json


def add_arguments(parser):
    add_model_argument(parser)
    g = parser.add_mutually_exclusive_group(required=True)
    g.add_argument("--box", nargs=2, metavar=("LO", "HI"),
                   help="rectangle of a 2-input model's input plane; a number or 'a,b' for each corner")
    g.add_argument("--points", metavar="FILE",
                   help=".npy or CSV file with 3 input points: the plane through them, on their bounding rectangle")
    g.add_argument("--origin", metavar="O", help="plane origin (comma-separated input point); needs --dirs")
    parser.add_argument("--dirs", nargs=2, metavar=("U", "V"), help="plane directions (comma-separated)")
    parser.add_argument("--extent", default="1", metavar="E",
                        help="with --origin: |s|, |t| <= E (one number or 'Es,Et'; default 1)")
    parser.add_argument("--plot", metavar="FILE", help="write a picture of the regions (.png, .svg or .pdf)")
    parser.add_argument("--layers-plot", metavar="FILE", help="write one panel per layer (.png, .svg or .pdf)")
    parser.add_argument("--title", help="title of the pictures (default: MODEL-FILE: N regions, M decision-boundary segments)")
    parser.add_argument("--xlabel", help="x axis label (default: the plane's first coordinate)")
    parser.add_argument("--ylabel", help="y axis label (default: the plane's second coordinate)")
    parser.add_argument("--dpi", type=float, default=150, help="dots per inch of the pictures (default 150)")
    parser.add_argument("--figsize", metavar="W,H", help="picture size in inches (default 7,6; --layers-plot 4.5 "
                                                         "wide per layer, 4.8 high)")
    parser.add_argument("--max-distance", type=float, metavar="D",
                        help="with --data: leave out points farther than D from the plane (default: draw all, "
                             "fainter the farther they are)")
    parser.add_argument("--color", choices=("pattern", "class", "gradient"), default="pattern",
                        help="colour regions by activation pattern, predicted class or gradient norm")
    parser.add_argument("--data", metavar="FILE", help=".npy or CSV input points to draw at their projections on the plane, fainter the farther off it")
    parser.add_argument("--labels", metavar="FILE",
                        help="with --data: .npy or one-column CSV of integer class labels, one per data point; "
                             "points are filled with their label's colour; those the model misclassifies (at the point itself, "
                             "not at its projection) are drawn as crosses")
    parser.add_argument("--tol", type=float, default=None, help="the contract's threshold (default 1e-9; see docs/numerics.md)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _read_points(path) -> np.ndarray:
    try:
        if str(path).endswith(".npy"):
            X = np.load(path, allow_pickle=False)
        else:
            X = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as e:
        raise NNCellsError(f"cannot read points from {path!r}: {e}") from None
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    if X.ndim != 2:
        raise NNCellsError(f"points in {path!r} must form a 2-D array, got shape {X.shape}")
    return X


def _read_labels(path, n) -> np.ndarray:
    """``n`` non-negative integer class labels from a .npy file or a one-column CSV."""
    try:
        if str(path).endswith(".npy"):
            y = np.load(path, allow_pickle=False)
        else:
            y = np.loadtxt(path, delimiter=",", ndmin=1)
        y = np.asarray(y, dtype=np.float64)
    except (OSError, ValueError, TypeError) as e:
        raise NNCellsError(f"cannot read labels from {path!r}: {' '.join(str(e).split())}") from None
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise NNCellsError(f"labels in {path!r} must be one column, got shape {y.shape}")
    if len(y) != n:
        raise NNCellsError(f"{path!r} has {len(y)} labels but --data has {n} points")
    if not (np.isfinite(y).all() and (y == np.round(y)).all() and (y >= 0).all()):
        raise NNCellsError(f"labels in {path!r} must be non-negative integers (class indices)")
    return y.astype(np.int64)


def _axis_labels(args, dim):
    """Names of the plane's two coordinates for the picture."""
    if args.box and dim == 2:
        return "x1", "x2"
    if args.origin and args.dirs:
        return (f"s (plane coordinate 1, along U = {args.dirs[0]})",
                f"t (plane coordinate 2, along V = {args.dirs[1]})")
    return "u (plane coordinate 1)", "v (plane coordinate 2)"


def plane_and_polygon(args, dim):
    """The `Plane` and the domain polygon (plane coordinates) that the arguments ask for."""
    from nncells.planar.slices import Plane, rectangle
    if dim < 2:
        raise NNCellsError(f"a slice needs a model with at least 2 inputs; this model has {dim} input"
                           f"{'' if dim == 1 else 's'}, so there is no 2-D plane to slice")
    if args.box:
        if dim != 2:
            raise NNCellsError(f"--box slices a 2-input model's own plane, this model has {dim} inputs; "
                               "use --points or --origin/--dirs")
        lo, hi = (number_list(v) for v in args.box)
        return Plane(np.zeros(2), np.eye(2)), rectangle(lo, hi)
    if args.points:
        P = _read_points(args.points)
        if P.shape != (3, dim):
            raise NNCellsError(f"--points needs 3 points of dimension {dim}, got shape {P.shape}")
        plane = Plane.through_points(*P)
        st = plane.coordinates(P)
        return plane, rectangle(st.min(axis=0), st.max(axis=0))
    if not args.dirs:
        raise NNCellsError("--origin needs --dirs U V")
    plane = Plane.from_directions(number_list(args.origin), number_list(args.dirs[0]),
                                  number_list(args.dirs[1]))
    if plane.dim != dim:
        raise NNCellsError(f"the plane lives in R^{plane.dim} but the model has {dim} inputs")
    e = np.asarray(number_list(args.extent))
    if e.size not in (1, 2) or np.any(e <= 0):
        raise NNCellsError(f"--extent must be one or two positive numbers, got {args.extent!r}")
    return plane, rectangle(-e, e)


def run(args) -> int:
    from nncells.planar.partition import decision_boundary
    from nncells.planar.slices import slice_partition
    net = load_model_arg(args)
    plane, polygon = plane_and_polygon(args, net.input_dim)
    tol = args.tol
    t0 = time.perf_counter()
    sl = slice_partition(net, plane, polygon, tol=tol)
    part = sl.partition
    seconds = time.perf_counter() - t0
    segments, _ = decision_boundary(part)
    if args.labels and not args.data:
        raise NNCellsError("--labels needs --data FILE (the points they label)")
    if args.max_distance is not None and not (np.isfinite(args.max_distance) and args.max_distance >= 0):
        raise NNCellsError(f"--max-distance must be a number >= 0, got {args.max_distance}")
    points = dict(points=None)
    if args.data:
        X = _read_points(args.data)
        if X.shape[1] != net.input_dim:
            raise NNCellsError(f"--data points have {X.shape[1]} coordinates but the model has {net.input_dim} inputs")
        st, dist, predicted = sl.place(X)  # judged by the class at the point, not at its projection
        points = dict(points=st, distances=dist, predicted=predicted, max_distance=args.max_distance,
                      labels=_read_labels(args.labels, len(X)) if args.labels else None)
    if args.plot or args.layers_plot:
        from nncells.planar.plot import save_figure
        xlabel, ylabel = _axis_labels(args, net.input_dim)
        xlabel, ylabel = args.xlabel or xlabel, args.ylabel or ylabel
        n = len(segments)
        title = args.title if args.title is not None else (
            f"{Path(args.model).name}: {part.n_faces} regions, {n} decision-boundary segment{'' if n == 1 else 's'}")
        figsize = None
        if args.figsize:
            figsize = number_list(args.figsize)
            if len(figsize) != 2:
                raise NNCellsError(f"--figsize needs two numbers W,H (inches), got {args.figsize!r}")
        anchors = plane.coordinates(_read_points(args.points)) if args.points else None
        if args.plot:
            save_figure(part, args.plot, color_by=args.color, title=title, xlabel=xlabel, ylabel=ylabel,
                        dpi=args.dpi, figsize=figsize, anchors=anchors, **points)
        if args.layers_plot:
            save_figure(part, args.layers_plot, layers=True, xlabel=xlabel, ylabel=ylabel, dpi=args.dpi,
                        figsize=figsize, title=args.title)
    summary = {
        "network": repr(net),
        "ignored_output_ops": list(net.ignored_output_ops),
        "plane": {"origin": plane.origin.tolist(), "basis": plane.basis.T.tolist()},
        "polygon": part.polygon.tolist(),
        "regions": part.n_faces,
        "vertices": len(part.vertices),
        "per_layer": part.per_layer,
        "decision_boundary_segments": len(segments),
        "decision_boundary_length": float(np.linalg.norm(segments[:, 1] - segments[:, 0], axis=1).sum()),
        "area": float(part.areas.sum()),
        "seconds": seconds,
        "plot": args.plot,
        "layers_plot": args.layers_plot,
    }
    if args.json:
        print_json(summary)
    else:
        print(f"{summary['network']}: {part.n_faces} regions, {len(part.vertices)} vertices on the slice "
              f"({seconds:.3f} s); per layer {part.per_layer}; decision boundary "
              f"{summary['decision_boundary_length']:.4g} long in {len(segments)} segments")
        for p in (args.plot, args.layers_plot):
            if p:
                print(f"wrote {p}")
    return 0
