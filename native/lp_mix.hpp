// The best mixture of witness balls (LP mode's mixing step, lp_split.hpp): the matrix game
//
//     max over lambda in the simplex of  min_r (M lambda)_r     (M: R rows x P columns, dense),
//
// with the column player's optimal mixture lambda, the game's value v and the row player's
// optimal mixture y (sum 1). A column is a witness ball, a row a lower bound on the depth of a
// mixture of balls that is linear in lambda (its radius, its slack in a row, its distance to a
// hyperplane): the mixture's centre sum lambda_b p_b is then at least v deep. Nothing here is
// trusted: the caller certifies the centre in float64 (certified_margin).
//
// Solved as min 1'mu s.t. M' mu >= 1, mu >= 0 with M' = M + s > 0 (s = 1 - min M), so that
// v + s = 1 / sum mu and lambda = mu / sum mu: a dual simplex from the basis of the surplus
// columns (dual feasible at once: every cost is 1 or 0), with an explicit R x R basis inverse.
// A column b of M outside the game improves it iff y . M_b > v (its reduced cost is negative):
// the caller adds such columns and plays again (column generation over many balls).
#pragma once
#include <algorithm>
#include <cmath>
#include <vector>

namespace nncells {

struct Mixture {
    bool ok = false;             // an optimum was reached (else nothing below holds)
    double value = 0.0;          // v = min_r (M lambda)_r
    std::vector<double> lambda;  // P, >= 0, sum 1
    std::vector<double> y;       // R, >= 0, sum 1: the rows' optimal mixture
};

// The game of M (row-major, R x P; R, P >= 1, entries finite).
inline Mixture best_mixture(const double* M, int R, int P) {
    Mixture out;
    double lo = M[0];
    for (int q = 0; q < R * P; ++q) lo = std::min(lo, M[q]);
    double scale = 0.0;
    for (int q = 0; q < R * P; ++q) scale = std::max(scale, std::abs(M[q]));
    if (!std::isfinite(lo) || !(scale > 0)) return out;
    const double s = 1.0 - lo;  // M' = M + s >= 1
    // columns: mu_k (k < P), surplus s_r (P + r): M' mu - s = 1
    const int n = P + R;
    std::vector<int> head(R), where(n, -1);
    std::vector<double> Binv(static_cast<size_t>(R) * R, 0.0), xB(R, -1.0), dj(n, 0.0), rho(R), u(R), alpha(n);
    for (int r = 0; r < R; ++r) {
        head[r] = P + r;
        where[P + r] = r;
        Binv[static_cast<size_t>(r) * R + r] = -1.0;
    }
    for (int k = 0; k < P; ++k) dj[k] = 1.0;
    auto entry = [&](int r, int j) { return j < P ? M[static_cast<size_t>(r) * P + j] + s : (j - P == r ? -1.0 : 0.0); };
    const double piv_tol = 1e-9;
    const int max_iter = 50 + 4 * (R + P);
    for (int it = 0;; ++it) {
        int r = -1;
        for (int q = 0; q < R; ++q)
            if (xB[q] < -1e-12 && (r < 0 || xB[q] < xB[r])) r = q;
        if (r < 0) break;  // primal feasible: optimal
        if (it >= max_iter) return out;
        for (int q = 0; q < R; ++q) rho[q] = Binv[static_cast<size_t>(r) * R + q];
        int e = -1;
        double best = 0.0, best_a = 0.0;
        for (int j = 0; j < n; ++j) {
            if (where[j] >= 0) continue;
            double a = 0.0;
            if (j < P) {
                for (int q = 0; q < R; ++q) a += rho[q] * (M[static_cast<size_t>(q) * P + j] + s);
            } else {
                a = -rho[j - P];
            }
            alpha[j] = a;
            if (!(a < -piv_tol)) continue;
            const double ratio = std::max(dj[j], 0.0) / -a;
            if (e < 0 || ratio < best || (ratio == best && -a > best_a)) e = j, best = ratio, best_a = -a;
        }
        if (e < 0) return out;  // cannot happen: M' > 0 leaves every row satisfiable
        for (int q = 0; q < R; ++q) {  // u = B^-1 a_e
            double v = 0.0;
            for (int c = 0; c < R; ++c) v += Binv[static_cast<size_t>(q) * R + c] * entry(c, e);
            u[q] = v;
        }
        const double pv = u[r];
        if (!(std::abs(pv) > piv_tol * 1e-3) || std::abs(pv - alpha[e]) > 1e-7 * std::max(1.0, std::abs(pv)))
            return out;  // the row and the column disagree: numerical trouble
        const double dstep = dj[e] / alpha[e];
        for (int j = 0; j < n; ++j)
            if (where[j] < 0) dj[j] -= dstep * alpha[j];
        const double tp = xB[r] / pv;
        for (int q = 0; q < R; ++q) xB[q] -= tp * u[q];
        xB[r] = tp;
        const int leave = head[r];
        where[leave] = -1;
        dj[leave] = -dstep;
        head[r] = e;
        where[e] = r;
        dj[e] = 0.0;
        double* br = &Binv[static_cast<size_t>(r) * R];
        for (int c = 0; c < R; ++c) br[c] /= pv;
        for (int q = 0; q < R; ++q) {
            if (q == r || u[q] == 0.0) continue;
            double* bq = &Binv[static_cast<size_t>(q) * R];
            for (int c = 0; c < R; ++c) bq[c] -= u[q] * br[c];
        }
    }
    out.lambda.assign(P, 0.0);
    double sum = 0.0;
    for (int q = 0; q < R; ++q)
        if (head[q] < P) {
            out.lambda[head[q]] = std::max(xB[q], 0.0);
            sum += out.lambda[head[q]];
        }
    if (!(sum > 0)) return out;
    for (double& l : out.lambda) l /= sum;
    // the rows' duals: pi = c_B B^-1 (c_B: 1 on basic mu, 0 on surplus columns)
    out.y.assign(R, 0.0);
    double ysum = 0.0;
    for (int c = 0; c < R; ++c) {
        double v = 0.0;
        for (int q = 0; q < R; ++q)
            if (head[q] < P) v += Binv[static_cast<size_t>(q) * R + c];
        out.y[c] = std::max(v, 0.0);
        ysum += out.y[c];
    }
    if (!(ysum > 0)) return out;
    for (double& v : out.y) v /= ysum;
    out.value = 1.0 / sum - s;
    out.ok = true;
    return out;
}

}  // namespace nncells
