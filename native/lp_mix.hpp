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
// Solved as min 1'mu s.t. M' mu >= 1, mu >= 0 with M' = M / max|M| + s > 0 (s = 1 - min M / max|M|),
// so that lambda = mu / sum mu (v is then computed from lambda): a dual simplex from the basis of
// the surplus columns (dual feasible at once: every cost is 1 or 0), with an explicit R x R basis
// inverse and Harris' ratio test (of the near ties, the largest pivot: nearly equal balls make
// nearly equal columns, whose differences are poor pivots).
// A column b of M outside the game improves it iff y . M_b > v (its reduced cost is negative):
// the caller adds such columns and plays again (column generation over many balls).
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace nncells {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

struct Mixture {
    bool ok = false;             // an optimum was reached (else nothing below holds)
    double value = 0.0;          // v = min_r (M lambda)_r, as computed from lambda
    std::vector<double> lambda;  // P, >= 0, sum 1
    std::vector<double> y;       // R, >= 0, sum 1: the rows' optimal mixture
};

// The game of M (row-major, R x P; R, P >= 1, entries finite).
inline Mixture best_mixture(const double* M, int R, int P) {
    Mixture out;
    double lo = kInfinity, scale = 0.0;
    for (int q = 0; q < R * P; ++q) {
        lo = std::min(lo, M[q]);
        scale = std::max(scale, std::abs(M[q]));
    }
    if (!std::isfinite(lo) || !std::isfinite(scale) || !(scale > 0) || !std::isfinite(1.0 / scale)) return out;
    // in units of the largest entry: M' = M / scale + s, s = 1 - min M / scale, entries in [1, 3]
    const double inv = 1.0 / scale, s = 1.0 - lo * inv;
    const int n = P + R;  // columns: mu_k (k < P), then surplus s_r (P + r): M' mu - s = 1
    std::vector<double> A(static_cast<size_t>(R) * n, 0.0);
    for (int r = 0; r < R; ++r) {
        for (int k = 0; k < P; ++k) A[static_cast<size_t>(r) * n + k] = M[static_cast<size_t>(r) * P + k] * inv + s;
        A[static_cast<size_t>(r) * n + P + r] = -1.0;
    }
    std::vector<int> head(R), where(n, -1);
    std::vector<double> Binv(static_cast<size_t>(R) * R, 0.0), xB(R, -1.0), dj(n, 0.0), u(R), alpha(n);
    for (int r = 0; r < R; ++r) {
        head[r] = P + r;
        where[P + r] = r;
        Binv[static_cast<size_t>(r) * R + r] = -1.0;
    }
    for (int k = 0; k < P; ++k) dj[k] = 1.0;
    const double feas = 1e-12, piv = 1e-9, harris = 1e-12;
    const int max_iter = 50 + 4 * n;
    bool fresh = false;
    auto refresh = [&] {  // x_B = B^-1 1, pi = c_B B^-1, d = c - pi A (c: 1 on mu, 0 on surplus)
        std::vector<double> pi(R, 0.0);
        for (int q = 0; q < R; ++q) {
            double v = 0.0;
            for (int c = 0; c < R; ++c) v += Binv[static_cast<size_t>(q) * R + c];
            xB[q] = v;
            if (head[q] < P)
                for (int c = 0; c < R; ++c) pi[c] += Binv[static_cast<size_t>(q) * R + c];
        }
        for (int j = 0; j < n; ++j) {
            double v = j < P ? 1.0 : 0.0;
            for (int c = 0; c < R; ++c) v -= pi[c] * A[static_cast<size_t>(c) * n + j];
            dj[j] = where[j] >= 0 ? 0.0 : v;
        }
    };
    for (int it = 0;;) {
        int r = -1;  // leaving: the most infeasible row
        for (int q = 0; q < R; ++q)
            if (xB[q] < -feas && (r < 0 || xB[q] < xB[r])) r = q;
        if (r < 0 && !fresh) {  // primal feasible: once more from B^-1 afresh (the updates drift)
            refresh();
            fresh = true;
            continue;
        }
        if (r < 0) break;  // primal feasible: optimal
        fresh = false;
        if (it++ >= max_iter) return out;
        const double* rho = &Binv[static_cast<size_t>(r) * R];
        std::fill(alpha.begin(), alpha.begin() + P, 0.0);  // alpha = rho A, row by row (the same sums)
        for (int q = 0; q < R; ++q) {
            const double rq = rho[q];
            const double* a = &A[static_cast<size_t>(q) * n];
            for (int j = 0; j < P; ++j) alpha[j] += rq * a[j];
        }
        for (int q = 0; q < R; ++q) alpha[P + q] = -rho[q];  // (the surplus columns: -I)
        // entering (Harris): the largest |alpha| among the columns whose ratio is within the
        // least ratio of the tolerance-widened ones (ties: the first)
        double bound = kInfinity;
        for (int j = 0; j < n; ++j)
            if (where[j] < 0 && alpha[j] < -piv) bound = std::min(bound, (std::max(dj[j], 0.0) + harris) / -alpha[j]);
        int e = -1;
        for (int j = 0; j < n; ++j)
            if (where[j] < 0 && alpha[j] < -piv && std::max(dj[j], 0.0) / -alpha[j] <= bound &&
                (e < 0 || -alpha[j] > -alpha[e]))
                e = j;
        if (e < 0) return out;  // (cannot happen: M' > 0 leaves every row satisfiable)
        for (int q = 0; q < R; ++q) {  // u = B^-1 a_e
            double v = 0.0;
            for (int c = 0; c < R; ++c) v += Binv[static_cast<size_t>(q) * R + c] * A[static_cast<size_t>(c) * n + e];
            u[q] = v;
        }
        const double pv = u[r];
        if (std::abs(pv - alpha[e]) > 1e-7 * std::abs(pv)) return out;  // the row and the column disagree
        const double dstep = std::max(dj[e], 0.0) / alpha[e];
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
            double v = 0.0;  // B^-1 1 afresh, not the updates' sum
            for (int c = 0; c < R; ++c) v += Binv[static_cast<size_t>(q) * R + c];
            out.lambda[head[q]] = std::max(v, 0.0);
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
    // the value the mixture reaches (not (1 / sum mu - s) scale: that cancels where s is large)
    out.value = kInfinity;
    for (int r = 0; r < R; ++r) {
        double v = 0.0;
        for (int k = 0; k < P; ++k) v += M[static_cast<size_t>(r) * P + k] * out.lambda[k];
        out.value = std::min(out.value, v);
    }
    out.ok = true;
    return out;
}

}  // namespace nncells
