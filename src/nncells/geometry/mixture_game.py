"""The matrix game of LP mode's mixtures (`witness_balls.mix_witness`): the numpy twin of
native/lp_mix.hpp, step for step.

The game ``max over lambda in the simplex of min_r (M lambda)_r`` is solved as the LP
``min 1'mu s.t. M' mu >= 1, mu >= 0`` with ``M' = M / max|M| + s`` (``s = 1 - min M / max|M|``,
so that ``lambda = mu / sum mu``): a dual simplex from the basis of the surplus columns (dual
feasible at once), an explicit basis inverse, Harris' ratio test. Column generation adds
columns and plays again (`MixtureGame`): the last optimal basis stays primal feasible (and its
B^-1 stays), so a primal simplex from it (Dantzig's entering column, Harris' ratio test) takes
in the new columns that price below 0, in the units of the first game while the new entries fit them;
where they do not, or anything fails, the game is played afresh. Nothing here is trusted: the
mixed point is certified by the caller.
"""
from __future__ import annotations

import numpy as np

_FEAS, _PIV, _HARRIS, _OPT = 1e-12, 1e-9, 1e-12, 1e-11
_UNITS = 8.0  # new entries of M' beyond +-this: the game afresh


class MixtureGame:
    """A game whose columns come in batches: `add` them, `solve` after each batch.

    After a solve, ``warm`` says whether it started from the last optimum and ``iterations``
    counts its pivots.

    Examples
    --------
    >>> game = MixtureGame(2)
    >>> game.add(np.array([[1.0], [-1.0]]))
    >>> round(game.solve()[0], 12), game.warm
    (-1.0, False)
    >>> game.add(np.array([[-1.0], [1.0]]))           # matching pennies: the value is 0
    >>> value, lam, y = game.solve()
    >>> round(value, 12), np.round(lam, 12).tolist(), game.warm
    (0.0, [0.5, 0.5], True)
    """

    def __init__(self, rows: int):
        self.M = np.zeros((rows, 0))
        self.warm, self.iterations = False, 0
        self._head = None  # the last optimum's basis: mu_k (k < _cols), surplus r (_cols + r)
        self._cols, self._inv, self._s, self._Binv = 0, 0.0, 0.0, None

    def add(self, columns) -> None:
        """More columns: an array of ``rows`` rows."""
        self.M = np.hstack([self.M, np.asarray(columns, dtype=np.float64)])

    def solve(self):
        """The game over the columns so far: ``(value, lam, y)`` as `best_mixture`, or None."""
        self.warm, self.iterations = False, 0
        if self._head is not None:
            got = self._warm()
            if got is not None:
                return got
        self._head = None
        self.warm, self.iterations = False, 0
        return self._cold()

    def _A(self):
        R = len(self.M)
        return np.hstack([self.M * self._inv + self._s, -np.eye(R)])

    def _cold(self):
        M = self.M
        R, P = M.shape
        scale = float(np.max(np.abs(M))) if M.size else 0.0
        if not (np.isfinite(scale) and scale > 0 and np.isfinite(1.0 / scale)):  # (subnormal: no units)
            return None
        self._inv = 1.0 / scale
        self._s = 1.0 - float(M.min()) * self._inv
        A = self._A()  # columns mu, then surplus
        n = P + R
        head = np.arange(P, n)
        basic = np.zeros(n, dtype=bool)
        basic[P:] = True
        Binv = -np.eye(R)
        xB = -np.ones(R)
        dj = np.r_[np.ones(P), np.zeros(R)]
        cost = np.r_[np.ones(P), np.zeros(R)]
        fresh = False
        while True:
            bad = np.flatnonzero(xB < -_FEAS)
            if len(bad) == 0 and not fresh:  # primal feasible: once more from B^-1 afresh (the updates drift)
                xB = Binv.sum(axis=1)
                dj = np.where(basic, 0.0, cost - Binv[head < P].sum(axis=0) @ A)
                fresh = True
                continue
            if len(bad) == 0:
                break
            fresh = False
            if self.iterations >= 50 + 4 * n:
                return None
            self.iterations += 1
            r = int(bad[np.argmin(xB[bad])])  # (the first of the most infeasible)
            alpha = Binv[r] @ A
            cand = np.flatnonzero(~basic & (alpha < -_PIV))
            if len(cand) == 0:
                return None
            d = np.maximum(dj[cand], 0.0)
            bound = np.min((d + _HARRIS) / -alpha[cand])
            near = cand[d / -alpha[cand] <= bound]
            e = int(near[np.argmax(-alpha[near])])  # (the first of the largest |alpha|)
            u = Binv @ A[:, e]
            pv = u[r]
            if abs(pv - alpha[e]) > 1e-7 * abs(pv):
                return None
            dstep = max(dj[e], 0.0) / alpha[e]
            dj[~basic] -= dstep * alpha[~basic]
            leave = head[r]
            xB, Binv = self._pivot(head, basic, Binv, xB, u, r, e)
            dj[leave], dj[e] = -dstep, 0.0
        return self._finish(head, Binv)

    def _warm(self):
        M = self.M
        R, P = M.shape
        n, Pb = P + R, self._cols
        new = M[:, Pb:] * self._inv + self._s
        if not np.all((new >= -_UNITS) & (new <= _UNITS)):
            return None
        A = self._A()
        head = np.where(self._head < Pb, self._head, self._head - Pb + P)
        basic = np.zeros(n, dtype=bool)
        basic[head] = True
        Binv = self._Binv.copy()  # (as the last game left it: B's columns are the same)
        xB = Binv.sum(axis=1)
        if not np.all(xB >= -_FEAS):
            return None
        self.warm = True
        cost = np.r_[np.ones(P), np.zeros(R)]
        while True:
            d = cost - Binv[head < P].sum(axis=0) @ A  # (pi = c_B B^-1)
            d[basic] = np.inf
            e = int(np.argmin(d))  # entering: the first of the least reduced costs
            if not d[e] < -_OPT:
                break
            if self.iterations >= 50 + 4 * n:
                return None
            self.iterations += 1
            u = Binv @ A[:, e]
            ok = u > _PIV
            if not np.any(ok):
                return None  # (cannot happen: the objective is bounded below by 0)
            ratio = np.maximum(xB, 0.0) / np.where(ok, u, 1.0)
            bound = np.min((np.maximum(xB[ok], 0.0) + _FEAS) / u[ok])
            near = np.flatnonzero(ok & (ratio <= bound))
            r = int(near[np.argmax(u[near])])  # (the first of the largest pivots)
            xB, Binv = self._pivot(head, basic, Binv, xB, u, r, e)
        if not np.all(Binv.sum(axis=1) >= -_FEAS):
            return None
        return self._finish(head, Binv)

    @staticmethod
    def _pivot(head, basic, Binv, xB, u, r, e):
        """Column e enters at row r (u = B^-1 a_e): x_B and B^-1 updated, the basis in place."""
        pv = u[r]
        tp = xB[r] / pv
        xB = xB - tp * u
        xB[r] = tp
        basic[head[r]], basic[e] = False, True
        head[r] = e
        Binv[r] /= pv
        others = np.arange(len(u)) != r
        Binv[others] -= np.outer(u[others], Binv[r])
        return xB, Binv

    def _finish(self, head, Binv):
        M = self.M
        P = M.shape[1]
        lam = np.zeros(P)
        on = head < P
        lam[head[on]] = np.maximum(Binv[on].sum(axis=1), 0.0)  # (B^-1 1 afresh)
        total = lam.sum()
        if not total > 0:
            return None
        y = np.maximum(Binv[on].sum(axis=0), 0.0)
        if not y.sum() > 0:
            return None
        lam /= total
        self._head, self._cols, self._Binv = head.copy(), P, Binv.copy()
        return float((M @ lam).min()), lam, y / y.sum()  # (not from sum mu: that cancels where s is large)


def best_mixture(M: np.ndarray):
    """The game ``max over lambda in the simplex of min_r (M lambda)_r`` of ``M`` (rows x columns),
    played from the surplus basis (`MixtureGame`'s first solve). Not trusted by its callers (the
    mixed point is certified).

    Returns
    -------
    ``(value, lam, y)``: the value (``min_r (M lam)_r``, computed), the columns' optimal mixture
    and the rows' (each summing to 1), or None where the simplex did not reach an optimum.

    Examples
    --------
    >>> value, lam, y = best_mixture(np.array([[1.0, -1.0], [-1.0, 1.0]]))
    >>> round(float(value), 12), np.round(lam, 12).tolist(), np.round(y, 12).tolist()
    (0.0, [0.5, 0.5], [0.5, 0.5])
    """
    M = np.asarray(M, dtype=np.float64)
    game = MixtureGame(M.shape[0])
    game.add(M)
    return game.solve()
