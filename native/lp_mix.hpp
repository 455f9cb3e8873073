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
// the caller adds such columns and plays again (column generation over many balls). A game
// played again (`MixtureGame`) starts from its last optimal basis, which stays primal feasible
// when columns come in (and so does its B^-1): a primal simplex (Dantzig's entering column,
// Harris' ratio test) takes in those that price below 0, in the units of the first game while
// the new entries fit them (else, or where anything fails, the game is played afresh).
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
    bool warm = false;           // from the last game's optimum (MixtureGame)
    int iterations = 0;          // the simplex's pivots
};

// A game whose columns come in batches (column generation): `solve` after each batch.
class MixtureGame {
public:
    // A new game of R rows (R >= 1) and no columns.
    void reset(int R) {
        R_ = R;
        P_ = 0;
        M_.clear();
        kept_ = false;
    }
    // One more column: the R entries of M's column (finite).
    void add(const double* col) {
        M_.insert(M_.end(), col, col + R_);
        ++P_;
    }
    int columns() const { return P_; }

    // The game over the columns so far (P >= 1): from the last optimum where there is one.
    Mixture solve() {
        Mixture out;
        if (kept_ && warm(out)) return out;
        kept_ = false;
        out = Mixture{};
        cold(out);
        return out;
    }

private:
    double entry(int r, int k) const { return M_[static_cast<size_t>(k) * R_ + r]; }

    // A = [M' | -I] (R x n, n = P + R): M' = M / scale + s in the game's units
    void build(int P) {
        const int R = R_, n = P + R;
        A_.assign(static_cast<size_t>(R) * n, 0.0);
        for (int r = 0; r < R; ++r) {
            for (int k = 0; k < P; ++k) A_[static_cast<size_t>(r) * n + k] = entry(r, k) * inv_ + s_;
            A_[static_cast<size_t>(r) * n + P + r] = -1.0;
        }
    }

    // The dual simplex from the surplus basis (every cost is 1 or 0: dual feasible at once).
    void cold(Mixture& out) {
        const int R = R_, P = P_;
        double lo = kInfinity, scale = 0.0;
        for (double v : M_) {
            lo = std::min(lo, v);
            scale = std::max(scale, std::abs(v));
        }
        if (!std::isfinite(lo) || !std::isfinite(scale) || !(scale > 0) || !std::isfinite(1.0 / scale)) return;
        // in units of the largest entry: entries of M' in [1, 3]
        inv_ = 1.0 / scale;
        s_ = 1.0 - lo * inv_;
        const int n = P + R;  // columns: mu_k (k < P), then surplus s_r (P + r): M' mu - s = 1
        build(P);
        const double* A = A_.data();
        std::vector<int>& head = hd_;
        head.assign(R, 0);
        where_.assign(n, -1);
        Binv_.assign(static_cast<size_t>(R) * R, 0.0);
        xB_.assign(R, -1.0);
        dj_.assign(n, 0.0);
        u_.assign(R, 0.0);
        alpha_.assign(n, 0.0);
        double *Binv = Binv_.data(), *xB = xB_.data(), *dj = dj_.data(), *u = u_.data(), *alpha = alpha_.data();
        for (int r = 0; r < R; ++r) {
            head[r] = P + r;
            where_[P + r] = r;
            Binv[static_cast<size_t>(r) * R + r] = -1.0;
        }
        for (int k = 0; k < P; ++k) dj[k] = 1.0;
        const double feas = 1e-12, piv = 1e-9, harris = 1e-12;
        const int max_iter = 50 + 4 * n;
        bool fresh = false;
        auto refresh = [&] {  // x_B = B^-1 1, pi = c_B B^-1, d = c - pi A
            for (int q = 0; q < R; ++q) xB[q] = ones(q);
            duals(P);
            for (int j = 0; j < n; ++j) dj[j] = where_[j] >= 0 ? 0.0 : reduced(j, P);
        };
        for (;;) {
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
            if (out.iterations++ >= max_iter) return;
            const double* rho = &Binv[static_cast<size_t>(r) * R];
            std::fill(alpha, alpha + P, 0.0);  // alpha = rho A, row by row (the same sums)
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
                if (where_[j] < 0 && alpha[j] < -piv) bound = std::min(bound, (std::max(dj[j], 0.0) + harris) / -alpha[j]);
            int e = -1;
            for (int j = 0; j < n; ++j)
                if (where_[j] < 0 && alpha[j] < -piv && std::max(dj[j], 0.0) / -alpha[j] <= bound &&
                    (e < 0 || -alpha[j] > -alpha[e]))
                    e = j;
            if (e < 0) return;  // (cannot happen: M' > 0 leaves every row satisfiable)
            column(e);
            const double pv = u[r];
            if (std::abs(pv - alpha[e]) > 1e-7 * std::abs(pv)) return;  // the row and the column disagree
            const double dstep = std::max(dj[e], 0.0) / alpha[e];
            for (int j = 0; j < n; ++j)
                if (where_[j] < 0) dj[j] -= dstep * alpha[j];
            const int leave = head[r];
            pivot(r, e);
            dj[leave] = -dstep;
            dj[e] = 0.0;
        }
        finish(out, P);
    }

    // The primal simplex from the last optimum's basis (columns added since: primal feasible).
    bool warm(Mixture& out) {
        const int R = R_, P = P_, n = P + R, Pb = Pb_;
        for (int k = Pb; k < P; ++k)  // (the new entries in the first game's units: else afresh)
            for (int r = 0; r < R; ++r) {
                const double v = entry(r, k) * inv_ + s_;
                if (!(v >= -kUnits && v <= kUnits)) return false;
            }
        build(P);
        where_.assign(n, -1);
        for (int q = 0; q < R; ++q) {  // (the surplus columns move behind the new ones)
            if (hd_[q] >= Pb) hd_[q] += P - Pb;
            where_[hd_[q]] = q;
        }
        const double feas = 1e-12, piv = 1e-9, opt = 1e-11;
        double *xB = xB_.data(), *u = u_.data();
        for (int q = 0; q < R; ++q) {  // x_B = B^-1 1 (B^-1 as the last game left it: B's columns are the same)
            xB[q] = ones(q);
            if (!(xB[q] >= -feas)) return false;
        }
        out.warm = true;
        const int max_iter = 50 + 4 * n;
        for (;;) {
            duals(P);  // entering: the least reduced cost below -opt (ties: the first)
            int e = -1;
            double least = -opt;
            for (int j = 0; j < n; ++j) {
                if (where_[j] >= 0) continue;
                const double d = reduced(j, P);
                if (d < least) least = d, e = j;
            }
            if (e < 0) break;  // optimal
            if (out.iterations++ >= max_iter) return false;
            column(e);
            // leaving (Harris): the largest pivot among the rows whose ratio is within the least
            // ratio of the tolerance-widened ones (ties: the first)
            double bound = kInfinity;
            for (int q = 0; q < R; ++q)
                if (u[q] > piv) bound = std::min(bound, (std::max(xB[q], 0.0) + feas) / u[q]);
            int r = -1;
            for (int q = 0; q < R; ++q)
                if (u[q] > piv && std::max(xB[q], 0.0) / u[q] <= bound && (r < 0 || u[q] > u[r])) r = q;
            if (r < 0) return false;  // (cannot happen: the objective is bounded below by 0)
            pivot(r, e);
        }
        for (int q = 0; q < R; ++q)  // x_B afresh: still feasible
            if (!(ones(q) >= -feas)) return false;
        return finish(out, P);
    }

    // (B^-1 1)_q: basic variable q's value afresh
    double ones(int q) const {
        double v = 0.0;
        for (int c = 0; c < R_; ++c) v += Binv_[static_cast<size_t>(q) * R_ + c];
        return v;
    }

    // pi = c_B B^-1 into pi_ (c_B: 1 on basic mu, 0 on surplus columns), the rows in order
    void duals(int P) {
        pi_.assign(R_, 0.0);
        for (int q = 0; q < R_; ++q)
            if (hd_[q] < P)
                for (int c = 0; c < R_; ++c) pi_[c] += Binv_[static_cast<size_t>(q) * R_ + c];
    }

    // column j's reduced cost c_j - pi a_j (c: 1 on mu, 0 on surplus; pi from `duals`)
    double reduced(int j, int P) const {
        const int n = P + R_;
        double v = j < P ? 1.0 : 0.0;
        for (int c = 0; c < R_; ++c) v -= pi_[c] * A_[static_cast<size_t>(c) * n + j];
        return v;
    }

    // u = B^-1 a_e
    void column(int e) {
        const int R = R_, n = P_ + R;
        for (int q = 0; q < R; ++q) {
            double v = 0.0;
            for (int c = 0; c < R; ++c) v += Binv_[static_cast<size_t>(q) * R + c] * A_[static_cast<size_t>(c) * n + e];
            u_[q] = v;
        }
    }

    // Column e enters at row r (u = B^-1 a_e): x_B, B^-1 and the basis updated.
    void pivot(int r, int e) {
        const int R = R_;
        double *Binv = Binv_.data(), *xB = xB_.data(), *u = u_.data();
        const double pv = u[r], tp = xB[r] / pv;
        for (int q = 0; q < R; ++q) xB[q] -= tp * u[q];
        xB[r] = tp;
        where_[hd_[r]] = -1;
        hd_[r] = e;
        where_[e] = r;
        double* br = &Binv[static_cast<size_t>(r) * R];
        for (int c = 0; c < R; ++c) br[c] /= pv;
        for (int q = 0; q < R; ++q) {
            if (q == r || u[q] == 0.0) continue;
            double* bq = &Binv[static_cast<size_t>(q) * R];
            for (int c = 0; c < R; ++c) bq[c] -= u[q] * br[c];
        }
    }

    // lambda, y and the value from the optimal basis (B^-1 1 afresh); the basis kept.
    bool finish(Mixture& out, int P) {
        const int R = R_;
        out.lambda.assign(P, 0.0);
        double sum = 0.0;
        for (int q = 0; q < R; ++q)
            if (hd_[q] < P) {
                out.lambda[hd_[q]] = std::max(ones(q), 0.0);  // (afresh, not the updates' x_B)
                sum += out.lambda[hd_[q]];
            }
        if (!(sum > 0)) return false;
        for (double& l : out.lambda) l /= sum;
        duals(P);  // the rows' mixture
        out.y.assign(R, 0.0);
        double ysum = 0.0;
        for (int c = 0; c < R; ++c) {
            out.y[c] = std::max(pi_[c], 0.0);
            ysum += out.y[c];
        }
        if (!(ysum > 0)) return false;
        for (double& v : out.y) v /= ysum;
        // the value the mixture reaches (not (1 / sum mu - s) scale: that cancels where s is large)
        out.value = kInfinity;
        for (int r = 0; r < R; ++r) {
            double v = 0.0;
            for (int k = 0; k < P; ++k) v += entry(r, k) * out.lambda[k];
            out.value = std::min(out.value, v);
        }
        out.ok = true;
        kept_ = true;
        Pb_ = P;
        return true;
    }

    static constexpr double kUnits = 8.0;  // new entries of M' beyond +-this: the game afresh
    int R_ = 0, P_ = 0, Pb_ = 0;           // Pb_: the columns of the last optimum
    bool kept_ = false;                    // hd_ and Binv_ are the last optimum's (mu_k: k < Pb_; surplus r: Pb_ + r)
    std::vector<double> M_;                // column-major: P x R
    double inv_ = 0.0, s_ = 0.0;           // the units: M' = M inv + s
    std::vector<int> hd_, where_;          // the basis (column per row of B^-1), each column's row (-1: none)
    std::vector<double> A_, Binv_, xB_, dj_, u_, alpha_, pi_;
};

// The game of M (row-major, R x P; R, P >= 1, entries finite), played from the surplus basis.
inline Mixture best_mixture(const double* M, int R, int P) {
    MixtureGame g;
    g.reset(R);
    std::vector<double> col(R);
    for (int k = 0; k < P; ++k) {
        for (int r = 0; r < R; ++r) col[r] = M[static_cast<size_t>(r) * P + k];
        g.add(col.data());
    }
    return g.solve();
}

}  // namespace nncells
