// The dual simplex of lp.hpp, and the float64 checks of its answers.
//
// Standard form, minimising -z: columns x_0..x_{d-1} (bounds lo, hi), z (bounds -inf, zcap), the
// slacks s_i (bounds 0, +inf); rows A x + z 1 + s = c. A basis is m of these columns; B^-1 is held
// explicitly (m x m, m small), updated by one elementary row operation per pivot and recomputed
// from the slack basis (product form, partial pivoting over the rows) every max(kRefactor, 2 m)
// pivots and at the end of every phase.
//
// Why the dual simplex: every box-bounded x_j is dual feasible at one of its bounds, whatever its
// reduced cost, and z has a finite upper bound, so the basis of slacks (y = 0, z = zcap) is dual
// feasible at once, and a parent's optimal basis extended by the new row's slack is a dual
// feasible start for the child. An iteration: the leaving row by dual steepest edge (exact
// weights: the rows of B^-1; rows of basic x_j out of their bounds weigh kXRow of the others'),
// the row of B^-1 N (O(m d)), the bound flipping ratio test
// (Koberstein 2005, "The dual simplex method, techniques for a fast and stable implementation":
// breakpoints of boxed columns are passed by flipping them to their other bound while the dual
// objective still improves), with Harris' tolerance for the choice of the pivot (largest |alpha|
// among near ties); within the last group of ties, columns are flipped until what is left of
// the infeasibility fits in the entering column's range (so it enters inside its bounds: at
// y = 0, where every ratio is 0, this is what makes progress). The breakpoints are not sorted
// as a whole: one vectorised pass computes every column's ratio, weight and Harris bound, passes
// over those arrays find a bound whose breakpoints' slopes use up the infeasibility, and only the
// breakpoints below it (a few dozen of the ~400 that block at 784 inputs) are gathered and sorted.
//
// The LPs are highly degenerate (the rows of a cell span few dimensions, so at y = 0 and at most
// optima every x_j has a reduced cost of 0): the costs of the nonbasic boxed columns are
// perturbed from the start (each in the direction of its place, so the duals stay feasible).
// Safeguards: the pivot is checked row-wise against column-wise (B^-1 recomputed on a mismatch);
// a run of degenerate steps (a stall) perturbs the costs if they are not yet, then switches to
// Bland's rule (smallest index), and so does a state (basis and bounds, hashed) seen again in the
// last kSeen steps (Harris' tolerance can cycle); once primal feasible the perturbation is
// removed and a primal simplex restores dual feasibility; every phase ends with a fresh B^-1 and
// its checks; a warm start that fails is retried cold; an iteration limit ends it all. None of
// this is trusted: the caller checks x with `certified_margin` and y with `farkas_bound`.
#include "lp.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "linalg.hpp"

namespace nncells {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMachEps = std::numeric_limits<double>::epsilon();
constexpr int8_t kFree = 3;         // internal: a nonbasic column without finite bounds, at 0
constexpr int kDegenerateRun = 30;  // degenerate steps in a row: a stall
constexpr int kSeen = 32;           // steps whose states are remembered against cycling
constexpr double kXRow = 0.1;       // the pricing weight of a basic x_j's row against a slack's
                                    // or z's (slacks first: about a tenth fewer iterations)
constexpr double kPivotRel = 1e-9;  // pivots below this times |rho|_1 are refused
constexpr double kPerturb = 1e-7;   // the cost perturbation of boxed columns (unit rows: d_j = O(1))
constexpr int kRefactor = 64;       // pivots between fresh B^-1 (at least; 2 m with more rows): the
                                    // LPs of LP mode end in about 60 (every 16 cost a few percent
                                    // of the time, for the same iterations); a pivot whose row and
                                    // column disagree refactors at once (`pivot_agrees`)

struct Candidate {  // (16 bytes: the sort moves them; the weight is wt_[j])
    double ratio;
    int j;
};

class DualSimplex {
public:
    DualSimplex(const BoxLp& lp, const BoxLpOptions& opt) : P(lp), O(opt), m(lp.m), d(lp.d), n(lp.d + 1 + lp.m) {
        lb.resize(n);
        ub.resize(n);
        double scale = std::max(1.0, std::abs(lp.zcap));
        for (int j = 0; j < d; ++j) {
            lb[j] = lp.lo[j];
            ub[j] = lp.hi[j];
            if (std::isfinite(lb[j])) scale = std::max(scale, std::abs(lb[j]));
            if (std::isfinite(ub[j])) scale = std::max(scale, std::abs(ub[j]));
        }
        lb[d] = -kInf;
        ub[d] = lp.zcap;
        for (int i = 0; i < m; ++i) {
            lb[d + 1 + i] = 0.0;
            ub[d + 1 + i] = kInf;
            scale = std::max(scale, std::abs(lp.c[i]));
        }
        range.resize(n);
        for (int j = 0; j < n; ++j) range[j] = std::isfinite(lb[j]) && std::isfinite(ub[j]) ? ub[j] - lb[j] : kInf;
        ptol = opt.primal_tol * scale;
        dtol = opt.dual_tol;
        cost.assign(n, 0.0);
        cost[d] = -1.0;
        st.assign(n, kAtLower);
        hashed.assign(n, kAtLower);
        for (int j = 0; j < n; ++j) state ^= key(j, kAtLower);
        ori.assign(n, 0.0);
        for (int j = 0; j < n; ++j) {
            sync(j);
            any_free = any_free || (!std::isfinite(lb[j]) && !std::isfinite(ub[j]));
        }
        val.assign(n, 0.0);
        head.assign(m, 0);
        Binv.assign(static_cast<size_t>(m) * m, 0.0);
        rhs.assign(m, 0.0);
        xB.assign(m, 0.0);
        Y.assign(m, 0.0);
        dj.assign(n, 0.0);
        alpha.assign(n, 0.0);
        cands.resize(n);
        gathered_.resize(n);
        rat_.resize(n);
        wt_.resize(n);
        har_.resize(n);
        col.assign(m, 0.0);
        acol.assign(m, 0.0);
        xn.assign(d, 0.0);
        nz.assign(m, 0);
        max_iter = opt.max_iter >= 0 ? opt.max_iter : 1000 + 20 * (m + 1);
    }

    BoxLpResult run(const int8_t* basis) {
        BoxLpResult res;
        for (int j = 0; j < d; ++j)
            if (!(P.lo[j] <= P.hi[j]) || P.lo[j] == kInf || P.hi[j] == -kInf) {
                res.status = LpStatus::Infeasible;
                res.x.assign(d, 0.0);
                res.y.assign(m, 0.0);
                res.basis.assign(n, kAtLower);
                return res;
            }
        res.warm = basis != nullptr && warm_start(basis);
        if (!res.warm) cold_start();
        perturb();  // always from the start (what `O.perturb` asked for is now the default)
        LpStatus s = solve();
        if (s == LpStatus::Failed && res.warm) {  // once more, from the slacks
            res.warm = false;
            cold_start();
            perturb();
            s = solve();
        }
        res.status = s;
        res.iterations = iterations;
        res.perturbed = ever_perturbed;
        return finish(res);
    }

private:
    const BoxLp& P;
    BoxLpOptions O;
    int m, d, n;
    std::vector<double> lb, ub;
    std::vector<double> range;   // n: ub - lb where both are finite, else inf
    std::vector<double> cost;    // n, min form: -1 on z, the perturbation on boxed x, else 0
    std::vector<int8_t> st;      // n: kAtLower, kAtUpper, kBasic or kFree
    std::vector<double> ori;     // n: the sign a blocking column's d_j keeps (`sync`)
    bool any_free = false;       // some column has no finite bound
    std::vector<int8_t> hashed;  // n: the statuses `state` holds
    uint64_t state = 0;
    uint64_t seen[kSeen] = {};   // the states of the last kSeen steps of a dual phase
    std::vector<double> val;     // n: the values of nonbasic columns
    std::vector<int> head;       // m: the basic column at each position
    std::vector<double> Binv;    // m x m, row-major
    std::vector<double> rhs;     // c - N x_N
    std::vector<double> xB, Y;   // basic values; row duals (max form: -y of the min form)
    std::vector<double> dj;      // n: reduced costs (min form), 0 on basic columns
    std::vector<double> alpha;   // n: a row of B^-1 [A 1 I]
    std::vector<double> col, acol, xn;
    std::vector<Candidate> cands;       // n: the ratio test's gathered breakpoints
    std::vector<int> gathered_;         // n: their columns (the AVX2 gather)
    std::vector<double> rat_, wt_, har_;  // n each: every column's ratio, weight, Harris bound
    std::vector<int> nz;         // m: the nonzero entries of a row of B^-1
    std::vector<int> flips;
    double ptol = 1e-9, dtol = 1e-9;
    int max_iter = 0, iterations = 0, since_refactor = 0, degenerate = 0;
    bool bland = false, perturbed = false, ever_perturbed = false;

    bool boxed(int j) const { return std::isfinite(lb[j]) && std::isfinite(ub[j]); }
    bool fixed(int j) const { return lb[j] == ub[j]; }

    // Column j of [A 1 I] into out (m).
    void column(int j, double* out) const {
        if (j < d) {
            for (int i = 0; i < m; ++i) out[i] = P.A[static_cast<size_t>(i) * d + j];
        } else if (j == d) {
            std::fill(out, out + m, 1.0);
        } else {
            std::fill(out, out + m, 0.0);
            out[j - d - 1] = 1.0;
        }
    }

    // col = B^-1 (column q).
    void ftran(int q) {
        column(q, acol.data());
        for (int i = 0; i < m; ++i) col[i] = dot(&Binv[static_cast<size_t>(i) * m], acol.data(), m);
    }

    // Nonbasic column j at its lower or upper bound (the finite one; 0 when none is).
    void place(int j, bool upper) {
        const bool flo = std::isfinite(lb[j]), fhi = std::isfinite(ub[j]);
        if (fixed(j) || (flo && (!upper || !fhi))) {
            st[j] = kAtLower;
            val[j] = lb[j];
        } else if (fhi) {
            st[j] = kAtUpper;
            val[j] = ub[j];
        } else {
            st[j] = kFree;
            val[j] = 0.0;
        }
        sync(j);
    }

    // ori[j] from st[j]: +1 at the lower bound, -1 at the upper one, 0 when basic, fixed or free.
    void sync(int j) {
        ori[j] = range[j] == 0.0 ? 0.0 : st[j] == kAtLower ? 1.0 : st[j] == kAtUpper ? -1.0 : 0.0;
        state ^= key(j, hashed[j]) ^ key(j, st[j]);
        hashed[j] = st[j];
    }

    // A hash of (column, status): `state`, the XOR over all columns, names the basis and the bounds
    // of the nonbasic columns (the same state twice in a dual phase: a cycle).
    static uint64_t key(int j, int8_t s) {
        uint64_t x = (static_cast<uint64_t>(j) << 2 | static_cast<uint64_t>(s & 3)) + 0x9E3779B97F4A7C15ull;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
        return x ^ (x >> 31);
    }

    // B^-1 from the basic columns, false when singular: from the identity (the slacks' basis), each
    // basic column that is not a slack is pivoted in (as `change_basis` does), at the row of
    // largest |entry| among the rows whose slacks are not basic (partial pivoting): O(k m^2) for k
    // such columns. The positions of the basic columns are renumbered (head[r]: row r's column).
    bool factor() {
        std::fill(Binv.begin(), Binv.end(), 0.0);
        for (int i = 0; i < m; ++i) Binv[static_cast<size_t>(i) * m + i] = 1.0;
        since_refactor = 0;
        std::vector<int> cols;
        std::vector<char> open(m, 1);  // rows still held by a slack that is not basic
        for (int p = 0; p < m; ++p) {
            if (head[p] > d) open[head[p] - d - 1] = 0;
            else cols.push_back(head[p]);
        }
        for (int i = 0; i < m; ++i) head[i] = d + 1 + i;
        for (int q : cols) {
            ftran(q);
            int r = -1;
            for (int i = 0; i < m; ++i)
                if (open[i] && (r < 0 || std::abs(col[i]) > std::abs(col[r]))) r = i;
            if (r < 0 || !(std::abs(col[r]) > 1e-11)) return false;  // entries of the columns are at most 1
            open[r] = 0;
            head[r] = q;
            eliminate(r);
        }
        return true;
    }

    // B^-1 <- E B^-1 for the pivot col = B^-1 a_q at row r.
    void eliminate(int r) {
        const double pivot = col[r];
        double* br = &Binv[static_cast<size_t>(r) * m];
        for (int k = 0; k < m; ++k) br[k] /= pivot;
        for (int i = 0; i < m; ++i) {
            if (i == r || col[i] == 0.0) continue;
            double* bi = &Binv[static_cast<size_t>(i) * m];
            const double f = col[i];
            for (int k = 0; k < m; ++k) bi[k] -= f * br[k];
        }
    }

    // Row duals Y = -B^-T c_B and reduced costs d = cost + [A 1 I]^T Y (0 on basic columns).
    void compute_duals() {
        std::fill(Y.begin(), Y.end(), 0.0);
        for (int p = 0; p < m; ++p) {
            const double cp = cost[head[p]];
            if (cp == 0.0) continue;
            const double* b = &Binv[static_cast<size_t>(p) * m];
            for (int i = 0; i < m; ++i) Y[i] -= cp * b[i];
        }
        std::copy(cost.begin(), cost.begin() + d, dj.begin());
        for (int i = 0; i < m; ++i) {
            const double yi = Y[i];
            if (yi == 0.0) continue;
            const double* a = P.A + static_cast<size_t>(i) * d;
            for (int j = 0; j < d; ++j) dj[j] += yi * a[j];
        }
        double sum = 0.0;
        for (int i = 0; i < m; ++i) sum += Y[i];
        dj[d] = -1.0 + sum;
        for (int i = 0; i < m; ++i) dj[d + 1 + i] = Y[i];
        for (int p = 0; p < m; ++p) dj[head[p]] = 0.0;
    }

    void compute_basic_values() {
        for (int i = 0; i < m; ++i) xB[i] = dot(&Binv[static_cast<size_t>(i) * m], rhs.data(), m);
    }

    // rhs = c - N x_N and the basic values, from scratch.
    void compute_primal() {
        const double zn = st[d] == kBasic ? 0.0 : val[d];
        for (int j = 0; j < d; ++j) xn[j] = st[j] == kBasic ? 0.0 : val[j];
        for (int i = 0; i < m; ++i) rhs[i] = P.c[i] - dot(P.A + static_cast<size_t>(i) * d, xn.data(), d) - zn;
        compute_basic_values();
    }

    bool reinvert() {
        if (!factor()) return false;
        compute_duals();
        compute_primal();
        return true;
    }

    // From the start (and again when the dual simplex stalls: a run of steps of length 0): a small
    // cost on each nonbasic boxed x_j, of the sign of its place (d_j moves away from 0, so the
    // duals stay feasible and ties in the ratio test become rare). Removed at the end; the primal
    // simplex cleans up. (On the LPs of LP mode: a third fewer iterations than only on stalls.)
    void perturb() {
        ever_perturbed = true;
        for (int j = 0; j < d; ++j) {
            if (st[j] == kBasic || !boxed(j) || fixed(j)) continue;
            uint64_t h = static_cast<uint64_t>(j) * 0x9E3779B97F4A7C15ull;
            h ^= h >> 29;
            const double xi = kPerturb * (1.0 + static_cast<double>(h % 1024) / 1024.0);
            cost[j] = st[j] == kAtLower ? xi : -xi;
            dj[j] += cost[j];
        }
        perturbed = true;
    }

    void cold_start() {
        std::fill(cost.begin(), cost.begin() + d, 0.0);
        perturbed = false;
        for (int i = 0; i < m; ++i) head[i] = d + 1 + i;
        // y = 0: every place is dual feasible; each x_j where it lowers the rows' sum
        std::fill(xn.begin(), xn.end(), 0.0);
        for (int i = 0; i < m; ++i) {
            const double* a = P.A + static_cast<size_t>(i) * d;
            for (int j = 0; j < d; ++j) xn[j] += a[j];
        }
        for (int j = 0; j < d; ++j) place(j, xn[j] < 0.0);
        place(d, true);
        for (int i = 0; i < m; ++i) {
            st[d + 1 + i] = kBasic;
            sync(d + 1 + i);
        }
        reinvert();  // the identity
    }

    // The given statuses as a start, if they make a nonsingular basis that is dual feasible (boxed
    // columns are placed at the bound their reduced costs ask for).
    bool warm_start(const int8_t* basis) {
        int k = 0;
        for (int j = 0; j < n; ++j) {
            if (basis[j] == kBasic) {
                if (k == m) return false;
                head[k++] = j;
            } else if (basis[j] != kAtLower && basis[j] != kAtUpper) {
                return false;
            }
        }
        if (k != m) return false;
        for (int j = 0; j < n; ++j) {
            st[j] = basis[j];
            sync(j);
        }
        std::fill(cost.begin(), cost.begin() + d, 0.0);
        if (!factor()) return false;
        compute_duals();
        for (int j = 0; j < n; ++j) {
            if (st[j] == kBasic) continue;
            bool upper = st[j] == kAtUpper;
            if (boxed(j)) {
                if (dj[j] > dtol) upper = false;
                else if (dj[j] < -dtol) upper = true;
            }
            place(j, upper);
            if (!dual_ok(j, dtol, false)) return false;
        }
        perturbed = false;
        compute_primal();
        return true;
    }

    // Whether nonbasic column j's reduced cost suits its place (boxed columns: only with `strict`).
    bool dual_ok(int j, double tol, bool strict) const {
        if (st[j] == kBasic || fixed(j) || (boxed(j) && !strict)) return true;
        if (st[j] == kAtLower) return dj[j] >= -tol;
        if (st[j] == kAtUpper) return dj[j] <= tol;
        return std::abs(dj[j]) <= tol;
    }

    bool dual_feasible(bool strict) const {
        for (int j = 0; j < n; ++j)
            if (!dual_ok(j, dtol, strict)) return false;
        return true;
    }

    void add_column(int j, double f) {  // rhs += f * column j
        if (f == 0.0) return;
        if (j < d) {
            for (int i = 0; i < m; ++i) rhs[i] += f * P.A[static_cast<size_t>(i) * d + j];
        } else if (j == d) {
            for (int i = 0; i < m; ++i) rhs[i] += f;
        } else {
            rhs[j - d - 1] += f;
        }
    }

    // Boxed nonbasic columns whose reduced cost asks for the other bound are moved there.
    int fix_boxed_signs() {
        int k = 0;
        for (int j = 0; j < d; ++j) {
            if (st[j] == kBasic || !boxed(j) || fixed(j)) continue;
            const bool want_upper = st[j] == kAtLower ? dj[j] < -dtol : !(dj[j] > dtol);
            if (want_upper != (st[j] == kAtUpper)) {
                const double old = val[j];
                place(j, want_upper);
                add_column(j, old - val[j]);
                ++k;
            }
        }
        if (k) compute_basic_values();
        return k;
    }

    // The leaving position (dual steepest edge; Bland: smallest column), or -1 when primal feasible.
    int choose_row(double& delta, int& sign) const {
        int best = -1;
        double best_score = 0.0;
        for (int p = 0; p < m; ++p) {
            const int k = head[p];
            double inf = 0.0;
            int s = 0;
            if (xB[p] < lb[k] - ptol) {
                inf = lb[k] - xB[p];
                s = 1;
            } else if (xB[p] > ub[k] + ptol) {
                inf = xB[p] - ub[k];
                s = -1;
            } else {
                continue;
            }
            double score;
            if (bland) {
                score = -static_cast<double>(k);
            } else {
                const double* b = &Binv[static_cast<size_t>(p) * m];
                const double w = dot(b, b, m);
                score = inf * inf / std::max(w, 1e-300) * (k < d ? kXRow : 1.0);
            }
            if (best < 0 || score > best_score) {
                best = p;
                best_score = score;
                delta = inf;
                sign = s;
            }
        }
        return best;
    }

    // alpha = rho^T [A 1 I] for rho = row r of B^-1; returns |rho|_1. Rows four at a time (the
    // same sums, in the same order, as one row at a time).
    double compute_alpha(int r) {
        const double* rho = &Binv[static_cast<size_t>(r) * m];
        double sum = 0.0, norm1 = 0.0;
        int k = 0;
        for (int i = 0; i < m; ++i) {
            sum += rho[i];
            norm1 += std::abs(rho[i]);
            alpha[d + 1 + i] = rho[i];
            if (rho[i] != 0.0) nz[k++] = i;
        }
        alpha[d] = sum;
        double* out = alpha.data();
        std::fill(out, out + d, 0.0);
        int i = 0;
        for (; i + 4 <= k; i += 4) {
            const double r0 = rho[nz[i]], r1 = rho[nz[i + 1]], r2 = rho[nz[i + 2]], r3 = rho[nz[i + 3]];
            const double* a0 = P.A + static_cast<size_t>(nz[i]) * d;
            const double* a1 = P.A + static_cast<size_t>(nz[i + 1]) * d;
            const double* a2 = P.A + static_cast<size_t>(nz[i + 2]) * d;
            const double* a3 = P.A + static_cast<size_t>(nz[i + 3]) * d;
            axpy4(out, d, r0, r1, r2, r3, a0, a1, a2, a3);
        }
        for (; i < k; ++i) {
            const double ri = rho[nz[i]];
            const double* a = P.A + static_cast<size_t>(nz[i]) * d;
            for (int j = 0; j < d; ++j) out[j] += ri * a[j];
        }
        return norm1;
    }

    // The columns' breakpoints for a step of sign `sign` (each column's ratio, weight and Harris
    // bound into rat_, wt_, har_; a column that does not block has the ratio +inf): in `lim` the
    // least Harris bound and least ratio of the blocking columns, their least positive ratio and
    // largest finite one; returns how many block. The AVX2 build (simd.hpp) does the same
    // operations, lane by lane, below n & ~3.
    size_t ratio_scan(int sign, double piv, double lim[4]) {
        const double s = sign;
        size_t k = 0, j = 0;
        double part[4][4];
        for (int q = 0; q < 4; ++q)
            for (int l = 0; l < 4; ++l) part[q][l] = q == 3 ? -kInf : kInf;
#if NNCELLS_AVX2
        if (!any_free && n >= kWide && avx2_available()) {
            k = ratio_scan_avx2(alpha.data(), dj.data(), ori.data(), range.data(), n, s, piv, dtol, bland, rat_.data(),
                                wt_.data(), har_.data(), part);
            j = static_cast<size_t>(n) & ~static_cast<size_t>(3);
        }
#endif
        for (int q = 0; q < 4; ++q) {
            lim[q] = part[q][0];
            for (int l = 1; l < 4; ++l) lim[q] = q == 3 ? max_nan(part[q][l], lim[q]) : min_nan(part[q][l], lim[q]);
        }
        for (; j < static_cast<size_t>(n); ++j) {
            const double a = s * alpha[j];
            const int8_t st_j = st[j];
            const bool blocks = any_free ? (ori[j] * a < -piv) || (st_j == kFree && std::abs(a) > piv)
                                         : ori[j] * a < -piv;
            const double inv = 1.0 / a;
            const double raw = -dj[j] * inv;
            const double ratio = raw > 0.0 ? raw : 0.0;
            const double h = bland ? ratio : raw + dtol * std::abs(inv);
            const double r = blocks ? ratio : kInf;
            rat_[j] = r;
            wt_[j] = std::abs(a) * range[j];
            har_[j] = h;
            lim[0] = min_nan(blocks ? h : kInf, lim[0]);
            lim[1] = min_nan(r, lim[1]);
            lim[2] = min_nan(r > 0.0 ? r : kInf, lim[2]);
            lim[3] = max_nan(r < kInf ? r : -kInf, lim[3]);
            k += blocks;
        }
        return k;
    }

    // MINPD / MAXPD's rule: the second operand where the first is NaN (as the AVX2 lanes).
    static double min_nan(double x, double acc) { return x < acc ? x : acc; }
    static double max_nan(double x, double acc) { return x > acc ? x : acc; }

    // The total weight of the blocking columns whose ratio is at most tau (finite), summed as
    // `dot` sums (four partial sums below kWide columns, else 16).
    double below(double tau) const {
        const size_t nn = static_cast<size_t>(n);
        if (n < kWide) {  // (as before: the last n % 4 into the first sum, as `dot` does)
            double sum[4] = {0.0, 0.0, 0.0, 0.0};
            const size_t n4 = nn & ~static_cast<size_t>(3);
            size_t j = 0;
            for (; j < n4; ++j) sum[j % 4] += rat_[j] <= tau ? wt_[j] : 0.0;
            for (; j < nn; ++j) sum[0] += rat_[j] <= tau ? wt_[j] : 0.0;
            return (sum[0] + sum[1]) + (sum[2] + sum[3]);
        }
        double sum[16] = {};
        size_t j = 0;
#if NNCELLS_AVX2
        if (avx2_available()) {
            below_avx2(rat_.data(), wt_.data(), nn, tau, sum);
            j = nn & ~static_cast<size_t>(15);
        }
#endif
        for (; j < nn; ++j) sum[j % 16] += rat_[j] <= tau ? wt_[j] : 0.0;
        return sum16(sum);
    }

    // The blocking columns whose ratio is at most tau, in column order, into cands: their count.
    size_t gather(double tau) {
        Candidate* C = cands.data();
        size_t k = 0;
        int j = 0;
#if NNCELLS_AVX2
        if (n >= kWide && avx2_available()) {  // the same columns (simd.hpp), then the rest
            int* at = gathered_.data();
            k = at_most_avx2(rat_.data(), static_cast<size_t>(n), tau, at);
            for (size_t q = 0; q < k; ++q) C[q] = Candidate{rat_[at[q]], at[q]};
            j = n & ~3;
        }
#endif
        for (; j < n; ++j) {  // (free of branches: the breakpoints below tau are scattered)
            C[k] = Candidate{rat_[j], j};
            k += rat_[j] <= tau;
        }
        return k;
    }

    // The bound flipping ratio test: the entering column (-1: none), the step t, the columns passed
    // (in `flips`). d_j(t) = d_j + t * sign * alpha_j; a column blocks where that moves d_j away
    // from its place's sign: its breakpoint (ratio) is where d_j crosses 0, and passing it costs
    // the slope |alpha_j| (ub_j - lb_j) (infinite for columns that cannot flip). One vectorised
    // pass finds the breakpoints; where flips are needed, passes over them find a bound tau (from
    // the least positive ratio, four times larger each time) whose breakpoints weigh at least the
    // infeasibility, and only those are gathered and sorted (again with a larger tau where a
    // Harris group may reach past it).
    int ratio_test(double delta, int sign, double piv, double& t) {
        flips.clear();
        double lim[4];
        if (ratio_scan(sign, piv, lim) == 0) return -1;
        const double lowest = lim[1], lowpos = lim[2], rmax = lim[3];
        double theta = std::max(lim[0], lowest);
        Candidate* C = cands.data();
        size_t size = 0, begin = 0, end = 0;
        if (below(theta) >= delta) {  // no flips: the first group (Harris), as gathered
            size = end = gather(theta);
        } else {  // flips needed: walk the breakpoints in order
            double tau = rmax;  // (few columns: all their breakpoints, sorted, cost less than passes)
            if (n >= kWide) {
                tau = std::max(theta, std::min(lowpos, rmax));
                double lo = tau, wlo = 0.0, w;
                while ((w = below(tau)) < delta && tau < rmax) {
                    lo = tau;
                    wlo = w;
                    tau = std::min(4.0 * tau, rmax);
                }
                if (lo < tau && w > wlo) {  // one more pass: where the weight grows linearly to delta
                    const double mid = lo + (tau - lo) * ((delta - wlo) / (w - wlo));
                    if (mid > lo && mid < tau && below(mid) >= delta) tau = mid;
                }
            }
            auto by_ratio = [](const Candidate& a, const Candidate& b) { return a.ratio < b.ratio; };
            size = gather(tau);
            std::sort(C, C + size, by_ratio);
            double slope = delta;
            size_t i = 0;
            for (;;) {
                // the group from C[i]: the breakpoints up to the least Harris bound among them; one
                // that may reach past tau (or a walk that ends past it: the sums' rounding) gathers
                // again with a larger tau, and the walk starts over
                double th = kInf;
                size_t e = i;
                if (i < size) {
                    th = har_[C[i].j];
                    for (e = i + 1; e < size; ++e) {
                        if (C[e].ratio > th) break;
                        th = std::min(th, har_[C[e].j]);
                    }
                }
                if (e == size && th > tau && tau < rmax) {
                    tau = std::min(std::max(4.0 * tau, th), rmax);
                    size = gather(tau);
                    std::sort(C, C + size, by_ratio);
                    slope = delta;
                    i = 0;
                    continue;
                }
                if (i == size) return -1;  // dual unbounded: cannot happen with z free below
                th = std::max(th, C[i].ratio);
                size_t kk = i;
                double w = 0.0;
                while (kk < e && C[kk].ratio <= th) w += wt_[C[kk++].j];
                if (slope - w <= 0.0) {
                    begin = i;
                    end = kk;
                    theta = th;
                    break;
                }
                slope -= w;
                i = kk;
            }
            for (size_t q = 0; q < begin; ++q) flips.push_back(C[q].j);
            delta = slope;
        }
        // The last group: the pivot of largest |alpha| (Bland: smallest index) enters; others of the
        // group are flipped (all at about the same ratio: either bound is dual feasible) while the
        // slope stays positive, until what is left of the infeasibility fits in the entering
        // column's range (it then ends inside its bounds).
        auto pick = [&](bool need_fit, double S) {
            size_t best = end;
            for (size_t q = begin; q < end; ++q) {
                const Candidate& c = C[q];
                if (c.ratio > theta || c.j < 0 || (need_fit && wt_[c.j] < S)) continue;
                if (best == end || (bland ? c.j < C[best].j : std::abs(alpha[c.j]) > std::abs(alpha[C[best].j])))
                    best = q;
            }
            return best;
        };
        size_t qk = pick(false, 0.0);
        if (qk == end) return -1;
        double S = delta;
        const double wq = wt_[C[qk].j];
        if (wq < S) {
            for (size_t q = begin; q < end && S > wq; ++q) {
                Candidate& c = C[q];
                if (q == qk || c.ratio > theta) continue;
                if (!(wt_[c.j] < S)) continue;
                flips.push_back(c.j);
                S -= wt_[c.j];
                c.j = -1;  // passed
            }
            if (S > wq) {
                qk = pick(true, S);
                if (qk == end) return -1;
            }
        }
        t = C[qk].ratio;
        return C[qk].j;
    }

    // The basis change at position r: q enters (col = B^-1 a_q), head[r] leaves (already placed).
    bool change_basis(int r, int q) {
        const int leave = head[r];
        add_column(leave, -val[leave]);
        add_column(q, val[q]);
        st[q] = kBasic;
        sync(q);
        head[r] = q;
        eliminate(r);
        ++iterations;
        if (++since_refactor >= std::max(kRefactor, 2 * m)) return reinvert();
        compute_basic_values();
        return true;
    }

    // Whether the pivot B^-1 a_q at r (column-wise) matches alpha_q (row-wise).
    bool pivot_agrees(int r, int q) const { return std::abs(col[r] - alpha[q]) <= 1e-7 * std::abs(alpha[q]); }

    // The true dual bound of the current duals (U(Y) / sum Y) is below the cutoff.
    bool cutoff_reached() {
        if (!(O.cutoff > -1e300) || st[d] != kBasic) return false;
        for (int p = 0; p < m; ++p)
            if (head[p] == d && !(xB[p] < O.cutoff)) return false;
        double sum = 0.0, U = 0.0;
        std::fill(acol.begin(), acol.end(), 0.0);
        for (int i = 0; i < m; ++i) {
            acol[i] = std::max(Y[i], 0.0);
            sum += acol[i];
            U += acol[i] * P.c[i];
        }
        if (!(sum > 0.0)) return false;
        std::fill(xn.begin(), xn.end(), 0.0);
        for (int i = 0; i < m; ++i) {
            if (acol[i] == 0.0) continue;
            const double* a = P.A + static_cast<size_t>(i) * d;
            for (int j = 0; j < d; ++j) xn[j] += acol[i] * a[j];
        }
        for (int j = 0; j < d; ++j) {
            if (xn[j] == 0.0) continue;
            const double v = xn[j] > 0 ? xn[j] * lb[j] : xn[j] * ub[j];
            if (!std::isfinite(v)) return false;
            U -= v;
        }
        return U / sum < O.cutoff;
    }

    // The dual simplex: pivots until the basis is primal feasible (Optimal) or a stop.
    LpStatus dual_phase() {
        int troubles = 0, steps = 0;
        degenerate = 0;
        bland = false;
        std::fill(seen, seen + kSeen, 0);
        for (;;) {
            double delta = 0.0;
            int sign = 0;
            const int r = choose_row(delta, sign);
            if (r < 0) return LpStatus::Optimal;
            if (cutoff_reached()) return LpStatus::Cutoff;
            if (iterations >= max_iter) return LpStatus::IterationLimit;
            const double norm1 = compute_alpha(r);
            double t = 0.0;
            const int q = ratio_test(delta, sign, kPivotRel * std::max(norm1, 1e-300), t);
            if (q >= 0) ftran(q);
            if (q < 0 || !pivot_agrees(r, q)) {
                if (since_refactor > 0 && troubles++ < 3) {
                    if (!reinvert()) return LpStatus::Failed;
                    continue;
                }
                if (q < 0 || !(std::abs(col[r]) > kPivotRel * norm1)) return LpStatus::Failed;
            }
            troubles = 0;
            for (int j : flips) {  // the breakpoints passed: to their other bound
                const double old = val[j];
                place(j, st[j] == kAtLower);
                add_column(j, old - val[j]);
            }
            const int leave = head[r];
            const double ts = t * sign;  // d_j += t sign alpha_j, Y += t sign rho
            if (ts != 0.0) {
                for (int j = 0; j < n; ++j) dj[j] += ts * alpha[j];
                const double* rho = &Binv[static_cast<size_t>(r) * m];
                for (int i = 0; i < m; ++i) Y[i] += ts * rho[i];
            }
            place(leave, sign < 0);
            if (!change_basis(r, q)) return LpStatus::Failed;
            for (int p = 0; p < m; ++p) dj[head[p]] = 0.0;
            if (since_refactor > 0) dj[leave] = ts;
            degenerate = t * delta <= 1e-12 * std::max(1.0, delta) ? degenerate + 1 : 0;
            if (!bland) {  // a state seen again: cycling (the steps Harris' tolerance allows can
                           // cycle even when positive): Bland's rule from here on
                bland = std::find(seen, seen + kSeen, state) != seen + kSeen;
                seen[steps++ % kSeen] = state;
            }
            if (degenerate > kDegenerateRun) {  // stalling: perturb, then Bland's rule
                if (!perturbed) perturb();
                else bland = true;
                degenerate = 0;
            }
        }
    }

    // The primal simplex: pivots until the basis is dual feasible (Optimal) or a stop; the basis
    // stays primal feasible. Cleans up after the perturbation is removed.
    LpStatus primal_phase() {
        int troubles = 0;
        degenerate = 0;
        bland = false;
        for (;;) {
            int q = -1;
            double best = 0.0;
            for (int j = 0; j < n; ++j) {  // entering: the largest dual infeasibility (Bland: first)
                if (st[j] == kBasic || fixed(j)) continue;
                const double inf = st[j] == kAtLower ? -dj[j] : st[j] == kAtUpper ? dj[j] : std::abs(dj[j]);
                if (inf <= dtol) continue;
                if (q < 0 || (!bland && inf > best)) {
                    q = j;
                    best = inf;
                }
            }
            if (q < 0) return LpStatus::Optimal;
            if (iterations >= max_iter) return LpStatus::IterationLimit;
            const int dir = st[q] == kAtLower || (st[q] == kFree && dj[q] < 0) ? 1 : -1;
            ftran(q);  // x_B(theta) = x_B - theta dir col
            double cmax = 0.0;
            for (int p = 0; p < m; ++p) cmax = std::max(cmax, std::abs(col[p]));
            double theta = boxed(q) ? ub[q] - lb[q] : kInf, best_piv = 0.0;
            int r = -1;
            bool to_upper = false;
            for (int p = 0; p < m; ++p) {
                const double dl = -dir * col[p];
                if (std::abs(dl) <= kPivotRel * cmax) continue;
                const int k = head[p];
                double lim;
                bool up;
                if (dl < 0 && std::isfinite(lb[k])) {
                    lim = (xB[p] - lb[k]) / -dl;
                    up = false;
                } else if (dl > 0 && std::isfinite(ub[k])) {
                    lim = (ub[k] - xB[p]) / dl;
                    up = true;
                } else {
                    continue;
                }
                lim = std::max(lim, 0.0);
                const bool tie = lim == theta && r >= 0;
                if (lim < theta || (tie && (bland ? k < head[r] : std::abs(dl) > best_piv))) {
                    theta = lim;
                    r = p;
                    to_upper = up;
                    best_piv = std::abs(dl);
                }
            }
            if (!std::isfinite(theta)) return LpStatus::Failed;  // unbounded: cannot happen (z <= zcap)
            degenerate = theta * best <= 1e-12 ? degenerate + 1 : 0;
            if (degenerate > kDegenerateRun) bland = true;
            if (r < 0) {  // q moves to its other bound
                const double old = val[q];
                place(q, st[q] == kAtLower);
                add_column(q, old - val[q]);
                compute_basic_values();
                ++iterations;
                continue;
            }
            compute_alpha(r);
            if (!pivot_agrees(r, q)) {
                if (since_refactor > 0 && troubles++ < 3) {
                    if (!reinvert()) return LpStatus::Failed;
                    continue;
                }
                return LpStatus::Failed;
            }
            troubles = 0;
            const double mu = dj[q] / alpha[q];  // d_j -= mu alpha_j, Y -= mu rho
            for (int j = 0; j < n; ++j) dj[j] -= mu * alpha[j];
            const double* rho = &Binv[static_cast<size_t>(r) * m];
            for (int i = 0; i < m; ++i) Y[i] -= mu * rho[i];
            const int leave = head[r];
            place(leave, to_upper);
            if (!change_basis(r, q)) return LpStatus::Failed;
            for (int p = 0; p < m; ++p) dj[head[p]] = 0.0;
            if (since_refactor > 0) dj[leave] = -mu;
        }
    }

    bool primal_feasible() const {
        for (int p = 0; p < m; ++p) {
            const int k = head[p];
            if (xB[p] < lb[k] - ptol || xB[p] > ub[k] + ptol) return false;
        }
        return true;
    }

    // Dual simplex to primal feasibility, the perturbation removed, primal simplex to dual
    // feasibility, each confirmed with a fresh B^-1.
    LpStatus solve() {
        for (int round = 0; round < 8; ++round) {
            LpStatus s;
            if (!primal_feasible()) {
                fix_boxed_signs();
                if (!dual_feasible(false)) return LpStatus::Failed;
                s = dual_phase();
            } else if (!dual_feasible(true)) {
                s = primal_phase();
            } else if (perturbed) {
                std::fill(cost.begin(), cost.begin() + d, 0.0);
                perturbed = false;
                compute_duals();
                continue;
            } else if (since_refactor > 0) {
                s = LpStatus::Optimal;
            } else {
                return LpStatus::Optimal;
            }
            if (s != LpStatus::Optimal) return s;
            if (!reinvert()) return LpStatus::Failed;
        }
        return LpStatus::Failed;
    }

    BoxLpResult& finish(BoxLpResult& res) {
        res.x.assign(d, 0.0);
        for (int j = 0; j < d; ++j) res.x[j] = val[j];
        double zb = val[d];
        for (int p = 0; p < m; ++p) {
            const int k = head[p];
            if (k < d) res.x[k] = std::min(std::max(xB[p], lb[k]), ub[k]);
            else if (k == d) zb = xB[p];
        }
        if (res.status == LpStatus::Optimal) {
            double z = P.zcap;
            for (int i = 0; i < m; ++i) z = std::min(z, P.c[i] - dot(P.A + static_cast<size_t>(i) * d, res.x.data(), d));
            res.z = z;
        } else {
            res.z = std::min(zb, P.zcap);
        }
        res.y.assign(m, 0.0);
        for (int i = 0; i < m; ++i) res.y[i] = st[d + 1 + i] == kBasic ? 0.0 : std::max(Y[i], 0.0);
        res.basis.resize(n);
        for (int j = 0; j < n; ++j) res.basis[j] = st[j] == kFree ? kAtLower : st[j];
        return res;
    }
};

}  // namespace

BoxLpResult solve_box_lp(const BoxLp& lp, const int8_t* basis, const BoxLpOptions& opt) {
    DualSimplex s(lp, opt);
    return s.run(basis);
}

double certified_margin(const double* A, const double* c0, const double* lo0, const double* hi0,
                        const double* x, int m, int d, double error_factor) {
    std::vector<const double*> rows(m);
    for (int i = 0; i < m; ++i) rows[i] = A + static_cast<size_t>(i) * d;
    return certified_margin(rows.data(), c0, lo0, hi0, x, m, d, error_factor);
}

double certified_margin(const double* const* rows, const double* c0, const double* lo0, const double* hi0,
                        const double* x, int m, int d, double error_factor) {
    std::vector<double> xc(d);
    double best = kInf;
    const double g1 = error_factor * kMachEps;
    for (int j = 0; j < d; ++j) {
        xc[j] = std::min(std::max(x[j], lo0[j]), hi0[j]);
        if (!std::isfinite(xc[j])) return -kInf;
        // each face's slack less its rounding error, as contract.certified_depth computes it
        const double ax = std::abs(xc[j]);
        if (std::isfinite(lo0[j])) best = std::min(best, (xc[j] - lo0[j]) - g1 * (ax + std::abs(lo0[j])));
        if (std::isfinite(hi0[j])) best = std::min(best, (hi0[j] - xc[j]) - g1 * (ax + std::abs(hi0[j])));
    }
    const double g = error_factor * (d + 1) * kMachEps;
    std::vector<double> ax(d);
    for (int j = 0; j < d; ++j) ax[j] = std::abs(xc[j]);
    for (int i = 0; i < m; ++i) {
        double mag = 0.0;
        const double value = dot_mag(rows[i], xc.data(), ax.data(), d, mag);
        best = std::min(best, (c0[i] - value) - g * (std::abs(c0[i]) + mag));
    }
    return best;
}

std::pair<double, double> farkas_bound(const double* A, const double* c0, const double* lo0, const double* hi0,
                                       const double* y, int m, int d, double error_factor) {
    const std::pair<double, double> none{kInf, 0.0};
    std::vector<double> yn(m);
    double s = 0.0;
    for (int i = 0; i < m; ++i) {
        if (std::isnan(y[i])) return none;
        yn[i] = std::max(y[i], 0.0);
        s += yn[i];
    }
    if (!(s > 0.0) || !std::isfinite(s)) return none;
    for (int i = 0; i < m; ++i) yn[i] /= s;
    std::vector<double> g(d, 0.0), G(d, 0.0);
    double U = 0.0, E = 0.0;
    for (int i = 0; i < m; ++i) {
        const double yi = yn[i];
        U += yi * c0[i];
        E += yi * std::abs(c0[i]);
        if (yi == 0.0) continue;
        const double* a = A + static_cast<size_t>(i) * d;
        for (int j = 0; j < d; ++j) {
            g[j] += yi * a[j];
            G[j] += yi * std::abs(a[j]);
        }
    }
    const double gm = error_factor * (m + 1) * kMachEps;  // |g_j - exact| <= gm G_j
    for (int j = 0; j < d; ++j) {
        const double gj = g[j], ej = gm * G[j];
        const bool flo = std::isfinite(lo0[j]), fhi = std::isfinite(hi0[j]);
        double term, M;
        if (G[j] == 0.0) {
            continue;  // g_j = 0 exactly: no term
        } else if (flo && fhi) {
            term = std::min(gj * lo0[j], gj * hi0[j]);
            M = std::max(std::abs(lo0[j]), std::abs(hi0[j]));
        } else if (fhi && gj + ej < 0.0) {  // lo0 = -inf: needs g_j < 0
            term = gj * hi0[j];
            M = std::abs(hi0[j]);
        } else if (flo && gj - ej > 0.0) {  // hi0 = +inf: needs g_j > 0
            term = gj * lo0[j];
            M = std::abs(lo0[j]);
        } else {
            return none;
        }
        U -= term;
        E += M * G[j];
    }
    const double err = error_factor * (2.0 * m + d + 3) * kMachEps * E + error_factor * (m + 1) * kMachEps * std::abs(U);
    return {U, err};
}

}  // namespace nncells
