"""Independent oracles: brute force over activation patterns with SciPy's LP (not nncells.geometry.solvers)."""
import itertools
from math import comb

import numpy as np
from scipy.optimize import linprog


def pattern_halfspaces(net, pattern):
    """G x <= h for a pattern (see `pattern_halfspaces_ref`)."""
    G, h, _ = pattern_halfspaces_ref(net, pattern)
    return G, h


def pattern_halfspaces_ref(net, pattern):
    """G x <= h for a pattern, computed layer by layer from the raw weights (independently),
    and for each row the size it would have without cancellation (to recognise zero rows)."""
    rows, rhs, refs = [], [], []
    M, m = np.eye(net.input_dim), np.zeros(net.input_dim)
    start = 0
    for W, b, lin in zip(net.weights[:-1], net.biases[:-1], linear_masks(net)):
        Z, z = W @ M, W @ m + b
        s = np.asarray(pattern[start:start + W.shape[0]], dtype=bool)
        start += W.shape[0]
        sign = np.where(s, -1.0, 1.0)
        rows.append((Z * sign[:, None])[~lin])   # a linear unit bounds nothing
        rhs.append((-z * sign)[~lin])
        refs.append((np.abs(W) @ np.abs(M).sum(axis=1) + 1e-300)[~lin])
        s = s | lin                              # and passes its value on
        M, m = Z * s[:, None], z * s
    return np.vstack(rows), np.concatenate(rhs), np.concatenate(refs)


def linear_masks(net):
    """Per hidden layer, True at a linear (pass-through) unit; read from ``net.linear`` alone."""
    masks = [np.asarray(mask, dtype=bool) for mask in getattr(net, "linear", ())]
    return masks or [np.zeros(W.shape[0], dtype=bool) for W in net.weights[:-1]]


def _unit_rows(A, b, strict=None, ref=None):
    """``A x <= b`` with zero rows settled and the others of unit norm; None if a zero row fails.

    A zero row is a constant: it holds iff 0 <= b, or 0 < b where ``strict`` marks it (an active
    neuron whose pre-activation is constant must be > 0). Unit rows make the LP's tolerances
    geometric."""
    norms = np.linalg.norm(A, axis=1)
    zero = norms <= 1e-12 * (np.ones(len(b)) if ref is None else ref)
    strict = np.zeros(len(b), bool) if strict is None else strict
    if np.any(b[zero] < 0) or np.any(b[zero & strict] <= 0):
        return None
    return A[~zero] / norms[~zero, None], b[~zero] / norms[~zero]


def chebyshev_radius(A, b, cap=1.0, strict=None, ref=None):
    """Largest inscribed radius (capped) of A x <= b, with SciPy's linprog; -inf if empty.

    A zero row is a constant: it holds iff 0 <= b, or 0 < b where ``strict`` marks it
    (an active neuron whose pre-activation is constant must be > 0)."""
    rows = _unit_rows(A, b, strict, ref)
    if rows is None:
        return -np.inf
    A, b = rows
    d = A.shape[1]
    res = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.hstack([A, np.ones((len(b), 1))]), b_ub=b,
                  bounds=[(None, None)] * d + [(None, cap)], method="highs")
    return -res.fun if res.status == 0 else -np.inf


def pattern_systems(net, domain_A, domain_b):
    """For every activation pattern: ``(bits, A, b, strict, ref)``, its region within the domain
    as ``A x <= b`` with the rows that must hold strictly and their uncancelled sizes. Only the
    ReLU units' signs vary; a linear unit's bit is always True and adds no row."""
    for bits in all_patterns(net):
        G, h, ref = pattern_halfspaces_ref(net, np.array(bits))
        relu = ~np.concatenate(linear_masks(net)) if net.weights[:-1] else np.zeros(0, bool)
        yield (bits, np.vstack([domain_A, G]), np.concatenate([domain_b, h]),
               np.concatenate([np.zeros(len(domain_b), bool), np.array(bits, bool)[relu]]),
               np.concatenate([np.ones(len(domain_b)), ref]))


def all_patterns(net):
    """Every activation pattern (a tuple of bools): the ReLU units' signs vary, linear units' bits are True."""
    lin = np.concatenate(linear_masks(net)) if net.weights[:-1] else np.zeros(0, bool)
    for relu_bits in itertools.product([False, True], repeat=int((~lin).sum())):
        full = lin.copy()
        full[~lin] = relu_bits
        yield tuple(bool(v) for v in full)


def brute_force_patterns(net, domain_A, domain_b, tol=1e-7, cap=1.0):
    """Every pattern whose region meets the domain in a full-dimensional set."""
    return {bits for bits, A, b, strict, ref in pattern_systems(net, domain_A, domain_b)
            if chebyshev_radius(A, b, cap, strict, ref) > tol * cap}


def zaslavsky(k, d):
    """Regions of k hyperplanes in general position in R^d."""
    return sum(comb(k, i) for i in range(d + 1))


def patterns_set(result):
    return {tuple(map(bool, p)) for p in result.patterns}


# ------------------------------------------------------------------ balls (used by test_local.py)
def ball_sandwich(center, radius, n_facets=720):
    """Polytopes ``inner ⊂ ball ⊂ outer`` around a Euclidean ball in 2-D or 3-D, as (A, b) pairs.

    2-D: regular polygons (inner: inscribed, offset r cos(pi/N); outer: tangent lines).
    3-D: the convex hull of Fibonacci-sphere points (inscribed) and the tangent planes there.
    """
    from scipy.spatial import ConvexHull
    c = np.asarray(center, dtype=float)
    d = c.size
    if d == 2:
        t = 2 * np.pi * np.arange(n_facets) / n_facets
        U = np.c_[np.cos(t), np.sin(t)]
        inner = (U, U @ c + radius * np.cos(np.pi / n_facets))
    elif d == 3:
        i = np.arange(n_facets) + 0.5
        phi, theta = np.arccos(1 - 2 * i / n_facets), np.pi * (1 + 5 ** 0.5) * i
        U = np.c_[np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)]
        eq = ConvexHull(c + radius * U).equations  # unit normals, a x + e <= 0 inside
        inner = (eq[:, :3], -eq[:, 3])
    else:
        raise ValueError("ball_sandwich: 2-D or 3-D only")
    outer = (U, U @ c + radius)
    return inner, outer


def brute_force_ball(net, center, radius, tol, margin=1e-9):
    """Patterns whose region meets the Euclidean ball with an inscribed ball of radius > ``tol``:
    ``(surely_in, surely_out)`` sets of patterns, decided by SciPy Chebyshev LPs on the pattern's
    polyhedron intersected with the inner and outer polytopes of `ball_sandwich`.

    Sound because ``P ∩ inner ⊂ P ∩ ball ⊂ P ∩ outer``, so the Chebyshev radius of ``P ∩ ball``
    lies between the two LP radii; patterns between the thresholds (within the polytopes' gap of
    the threshold) are in neither set. Independent of nncells (only numpy and SciPy's linprog).
    """
    (Ai, bi), (Ao, bo) = ball_sandwich(center, radius)
    surely_in, surely_out = set(), set()
    for bits in all_patterns(net):
        G, h = pattern_halfspaces(net, np.array(bits))[:2]
        if chebyshev_radius(np.vstack([Ao, G]), np.concatenate([bo, h]), cap=radius) <= tol - margin:
            surely_out.add(bits)
        elif chebyshev_radius(np.vstack([Ai, G]), np.concatenate([bi, h]), cap=radius) > tol + margin:
            surely_in.add(bits)
    return surely_in, surely_out


# ------------------------------------------------------------ the contract (docs/numerics.md)
def contract_margin(A, b, tol, strict=None, ref=None):
    """``max_x depth(x) - tol ||x||_inf`` over ``A x <= b`` (capped at 1 after dividing by the
    rows' largest offset), with SciPy's linprog: > 0 iff the polyhedron counts under the
    contract. Zero rows are constants as in `chebyshev_radius`; -inf when empty."""
    rows = _unit_rows(A, b, strict, ref)
    if rows is None:
        return -np.inf
    A, b = rows
    s = float(np.max(np.abs(b), initial=0.0)) or 1.0
    m, d = A.shape
    # variables x (d), w = tol ||x||_inf, z: A x + w + z <= b / s; +-x - w / tol <= 0 (the threshold
    # as 1 / tol, not tol: HiGHS drops matrix entries below 1e-9, and would drop a column of tol)
    rows = np.block([[A, np.ones((m, 1)), np.ones((m, 1))],
                     [np.eye(d), np.full((d, 1), -1.0 / tol), np.zeros((d, 1))],
                     [-np.eye(d), np.full((d, 1), -1.0 / tol), np.zeros((d, 1))]])
    res = linprog(np.r_[np.zeros(d + 1), -1.0], A_ub=rows, b_ub=np.r_[b / s, np.zeros(2 * d)],
                  bounds=[(None, None)] * d + [(0, None), (None, 1.0)], method="highs")
    return -res.fun if res.status == 0 else -np.inf


def brute_force_contract(net, domain_A, domain_b, tol=1e-9):
    """Every pattern with its contract margin (see `contract_margin`): a dict pattern -> margin."""
    return {bits: contract_margin(A, b, tol, strict, ref)
            for bits, A, b, strict, ref in pattern_systems(net, domain_A, domain_b)}
