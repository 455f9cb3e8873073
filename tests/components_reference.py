"""The one-LP-per-question method of decision components (the library's method before issue 24),
kept as the reference that tests/test_components_fast.py and benchmarks/bench_components.py
compare `nncells.analysis.decision_components` with."""
import networkx as nx
import numpy as np

from nncells.analysis.components import _class_rows, _on_facet, _output_maps
from nncells.geometry import solvers
from nncells.results.adjacency import compute_facets, contract_tol


def decision_components_lp(result) -> dict:
    """The reference method of `nncells.analysis.decision_components` (before issue 24): one LP per class per
    region crossed by the decision boundary, one per class per facet between two such pieces.
    The tests check that `decision_components` gives the same answer with far fewer LPs.

    The class at ``x`` is the network's argmax (``y > 0`` for one output). The decision region of
    a class is the open set where it wins strictly (inside the domain); inside one activation
    region it is convex (the region cut by the inequalities ``y_c > y_j``), so each region holds
    at most one *piece* of each class. Two pieces of one class in adjacent regions are connected
    iff the class wins strictly somewhere on the relative interior of their common facet. The
    components are those of this graph.

    How: a region is *single-class* when one class wins at every vertex by its float64 error
    margin and no ray makes another class win far away (the vertices come from the facet
    computation); its piece is the whole region and it connects across every facet to the same
    class's piece. The other regions (crossed by the decision boundary, or without vertices) have
    their pieces found by one LP per class (`chebyshev_center` of the region with the class's
    rows), and their facets' connections by one LP per class on the facet. Decisions are made in
    float64 with the contract's threshold (a piece or a contact thinner than ``tol ||x||_inf`` is
    ignored).

    Parameters
    ----------
    result : EnumerationResult (box, polytope or the whole space)

    Returns
    -------
    dict
        ``classes`` {class: number of components}, ``pieces`` (arrays ``region``, ``class``,
        ``component``: one row per piece), ``mixed_regions`` (regions holding several classes)
        and ``lp_solves``.

    Examples
    --------
    >>> import nncells
    >>> net = nncells.Network([[[1.0, 0.0]], [[1.0]]], [[0.0], [-0.5]])   # y = relu(x1) - 0.5
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1, dim=2), workers=1)
    >>> decision_components_lp(res)["classes"]
    {0: 1, 1: 1}
    """
    lp0 = solvers.lp_count()
    tol = contract_tol(result)
    T = compute_facets(result, vertices=True)
    net, P, X = result.network, result.patterns, result.points
    n, k = len(P), max(net.output_dim, 2)
    A, c = _output_maps(net, P)
    # single-class regions: the class at the point wins at every vertex and along every ray
    home = _classes_of_batch(A, c, X, np.arange(n))
    single = np.ones(n, bool)
    single[T["_lines"]] = False
    V, vr = T["_vertex"], T["_vertex_region"]
    if len(V):
        ok = _classes_of_batch(A, c, V, vr) == home[vr]
        margin = _margins(A, c, V, vr, home[vr])
        err = tol * (np.einsum("vod,vd->vo", np.abs(A[vr]), np.abs(V)) + np.abs(c[vr])).max(axis=1)
        np.logical_and.at(single, vr, ok & (margin > err))
    E, er = T["_ray"], T["_ray_region"]
    if len(E):
        slope = _margins(A, 0 * c, E, er, home[er])
        np.logical_and.at(single, er, slope >= 0)
    present = np.zeros((n, k), bool)
    present[np.arange(n), home] = True
    for i in np.flatnonzero(~single):
        G, h = result.halfspaces(i)
        for cls in range(k):
            if cls == home[i]:
                continue
            R, r = _class_rows(A[i], c[i], cls)
            x, rad = solvers.chebyshev_center(np.vstack([G, R]), np.concatenate([h, r]),
                                              cap=max(1.0, float(np.abs(X[i]).max())))
            present[i, cls] = x is not None and rad > tol * np.max(np.abs(x))
    graph = nx.Graph()
    ri, ci = np.nonzero(present)
    graph.add_nodes_from(zip(ri.tolist(), ci.tolist()))
    first = np.ones(len(T["facet"]), bool)
    first[1:] = T["facet"][1:] != T["facet"][:-1]
    fi = np.flatnonzero(first & (T["neighbour"] > T["region"]))
    for a in fi:
        i, j = int(T["region"][a]), int(T["neighbour"][a])
        for cls in np.flatnonzero(present[i] & present[j]):
            if (single[i] and home[i] == cls) or (single[j] and home[j] == cls) or \
                    _on_facet(result, A[i], c[i], i, T, a, cls, tol):
                graph.add_edge((i, int(cls)), (j, int(cls)))
    comp = {node: m for m, cc in enumerate(nx.connected_components(graph)) for node in cc}
    classes = {cls: len({comp[(i, cls)] for i in np.flatnonzero(present[:, cls]).tolist()}) for cls in range(k)}
    order = sorted(comp, key=lambda t: (t[0], t[1]))
    return {"classes": classes,
            "pieces": {"region": np.array([t[0] for t in order], dtype=np.int64),
                       "class": np.array([t[1] for t in order], dtype=np.int64),
                       "component": np.array([comp[t] for t in order], dtype=np.int64)},
            "mixed_regions": int(present.sum(axis=1).__gt__(1).sum()),
            "lp_solves": solvers.lp_count() - lp0}


def _classes_of_batch(A, c, V, vr):
    y = np.einsum("vod,vd->vo", A[vr], V) + c[vr]
    return y.argmax(axis=1) if A.shape[1] > 1 else (y[:, 0] > 0).astype(np.int64)


def _margins(A, c, V, vr, cls):
    """How much class ``cls`` wins by at points ``V`` of regions ``vr`` (slopes when ``c`` is 0)."""
    y = np.einsum("vod,vd->vo", A[vr], V) + c[vr]
    if A.shape[1] == 1:
        return np.where(cls == 1, y[:, 0], -y[:, 0])
    own = y[np.arange(len(y)), cls]
    y[np.arange(len(y)), cls] = -np.inf
    return own - y.max(axis=1)
