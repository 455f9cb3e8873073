"""Independent oracles: brute force over activation patterns with SciPy's LP (not nncells.lp)."""
import itertools
from math import comb

import numpy as np
from scipy.optimize import linprog


def pattern_halfspaces(net, pattern):
    """G x <= h for a pattern, computed layer by layer from the raw weights (independently)."""
    rows, rhs = [], []
    M, m = np.eye(net.input_dim), np.zeros(net.input_dim)
    start = 0
    for W, b in zip(net.weights[:-1], net.biases[:-1]):
        Z, z = W @ M, W @ m + b
        s = np.asarray(pattern[start:start + W.shape[0]], dtype=bool)
        start += W.shape[0]
        sign = np.where(s, -1.0, 1.0)
        rows.append(Z * sign[:, None])
        rhs.append(-z * sign)
        M, m = Z * s[:, None], z * s
    return np.vstack(rows), np.concatenate(rhs)


def chebyshev_radius(A, b, cap=1.0):
    """Largest inscribed radius (capped) of A x <= b, with SciPy's linprog; -inf if empty."""
    norms = np.linalg.norm(A, axis=1)
    zero = norms < 1e-14
    if np.any(b[zero] < 0):
        return -np.inf
    A, b, norms = A[~zero], b[~zero], norms[~zero]
    d = A.shape[1]
    res = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.hstack([A, norms[:, None]]), b_ub=b,
                  bounds=[(None, None)] * d + [(None, cap)], method="highs")
    return -res.fun if res.status == 0 else -np.inf


def brute_force_patterns(net, domain_A, domain_b, tol=1e-7, cap=1.0):
    """Every pattern whose region meets the domain in a full-dimensional set."""
    out = set()
    for bits in itertools.product([False, True], repeat=net.n_hidden):
        G, h = pattern_halfspaces(net, np.array(bits))
        A = np.vstack([domain_A, G])
        b = np.concatenate([domain_b, h])
        if chebyshev_radius(A, b, cap) > tol * cap:
            out.add(bits)
    return out


def zaslavsky(k, d):
    """Regions of k hyperplanes in general position in R^d."""
    return sum(comb(k, i) for i in range(d + 1))


def patterns_set(result):
    return {tuple(map(bool, p)) for p in result.patterns}
