// See lp_mode.hpp. Each step mirrors a function of the numpy twin, named in the comments.
#include "lp_mode.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <utility>

#include "linalg.hpp"
#include "lp.hpp"
#include "pullback.hpp"

namespace nncells {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kTargets = 6;                            // split._TARGETS
constexpr double kRayGrid[3] = {0.25, 0.5, 0.75};      // split._GRID
constexpr int kDeepenGrid = 33;                        // box_depth._GRID: linspace(0, 1, 33)

struct Deferred {};  // thrown by a split whose decision the shrunk-box LP cannot settle

double max_abs(const double* x, int d) {
    double m = 0.0;
    for (int c = 0; c < d; ++c) m = std::max(m, std::abs(x[c]));
    return m;
}

// contract.Rule.witness: a ball counts when its radius exceeds tol ||centre||_inf.
bool counts(double tol, const double* x, int d, double r) { return r > tol * max_abs(x, d); }

// box_depth.box_reach: the box's largest coordinate in absolute value
double box_reach(const std::vector<double>& lo, const std::vector<double>& hi) {
    double reach = 0.0;
    for (size_t j = 0; j < lo.size(); ++j) reach = std::max({reach, std::abs(lo[j]), std::abs(hi[j])});
    return reach;
}

// norms.power_of_two
double power_of_two(double v) { return v > 0 && std::isfinite(v) ? std::exp2(std::nearbyint(std::log2(v))) : 1.0; }

// A region's rows and its next layer's pull-back, shared by the children of its split.
struct Ctx {
    LayerPtr L;                  // the layer being split: pattern and ranks so far, pull-back
    std::vector<uint8_t> cuts;   // per neuron of L->pattern
    int m = 0;                   // the region's rows A x <= c (unit rows; m x d)
    std::vector<double> A, c;
    std::vector<int8_t> basis;   // a final basis of a shrunk-box LP over exactly these rows (empty: none)
};
using CtxPtr = std::shared_ptr<const Ctx>;

// A task on the stack: when `parent` is set, the task is a child of that split and its rows and
// map are the parent's plus one step (else they are rebuilt from the pattern).
struct Node {
    LpTask t;
    CtxPtr parent;
};

// Append the oriented unit rows of layer L's neurons that cut a cell with signs `s` (split._rows,
// Problem.unpack): h >= 0 (active) as -h x <= g, h <= 0 as h x <= -g, over the raw row's norm.
void append_cut_rows(const Layer& L, int d, const uint8_t* s, const uint8_t* cut, Ctx& C) {
    for (int i = 0; i < L.k; ++i) {
        if (!cut[i]) continue;
        const double* h = &L.H[static_cast<size_t>(i) * d];
        const double nrm = norm2(h, d);
        const double sgn = s[i] ? -1.0 : 1.0;
        for (int c = 0; c < d; ++c) C.A.push_back((h[c] / nrm) * sgn);
        C.c.push_back(-(L.g[i] / nrm) * sgn);
        C.m += 1;
    }
}

// The map to layer L's output on the region with signs s: L's pull-back, inactive rows zeroed.
void masked(const Layer& L, int d, const uint8_t* s, std::vector<double>& M, std::vector<double>& m,
            std::vector<double>& Mabs) {
    M = L.H;
    m = L.g;
    Mabs = L.Habs;
    mask(std::vector<uint8_t>(s, s + L.k), d, M, m, Mabs);
}

// tasks._rank: the rank of the k x d map (numpy.linalg.matrix_rank), on its transpose when wide
// (the same singular values; the Jacobi sweeps then run on k columns, not d).
// Zero rows (inactive neurons) are dropped first; the tolerance's max(rows, cols) is d either way.
int64_t rank_of(const std::vector<double>& M, int k, int d) {
    if (k >= d) return matrix_rank(M.data(), k, d);
    std::vector<int> live;
    for (int i = 0; i < k; ++i) {
        const double* row = &M[static_cast<size_t>(i) * d];
        if (std::any_of(row, row + d, [](double v) { return v != 0.0; })) live.push_back(i);
    }
    const int n = static_cast<int>(live.size());
    if (n == 0) return 0;
    std::vector<double> T(static_cast<size_t>(n) * d);
    for (int q = 0; q < n; ++q)
        for (int c = 0; c < d; ++c) T[static_cast<size_t>(c) * n + q] = M[static_cast<size_t>(live[q]) * d + c];
    return matrix_rank(T.data(), d, n);
}

// The shrunk-box LPs of one split's sub-cells (box_depth.BoxDepth): rows A x <= c always, the
// extra rows E x <= f given per question, the box as bounds, warm starts by rows solved.
class BoxDecider {
public:
    enum Verdict { Yes, No, Unsure };

    BoxDecider(const Ctx& C, const std::vector<double>& E, const std::vector<double>& f, const std::vector<double>& lo,
               const std::vector<double>& hi, double tol, double ef, double lp_tol, int off, const double* deep,
               int d, LpCounts& counts)
        : C_(C), E_(E), f_(f), lo_(lo), hi_(hi), tol_(tol), ef_(ef), lp_tol_(lp_tol), off_(off), deep_(deep), d_(d),
          counts_(counts) {
        const double reach = box_reach(lo, hi), rho = 2 * tol * reach;
        unit_ = power_of_two(reach);
        slo_.resize(d);
        shi_.resize(d);
        ok_ = C.m + f.size() > 0;
        A_ = C.A;
        c_ = C.c;
        for (int j = 0; j < d; ++j) {
            slo_[j] = (lo[j] + rho) / unit_;
            shi_[j] = (hi[j] - rho) / unit_;
            ok_ = ok_ && slo_[j] <= shi_[j];
        }
    }

    // The verdict on the sub-cell with the extra rows `on`; a point found is moved toward the
    // first (at most 4) of `anchors` (points known inside, deepest first; default the cell's).
    Verdict decide(const std::vector<int>& on, const std::vector<const double*>& anchors, std::vector<double>& x,
                   double& r, std::vector<int>& support) {
        support.clear();
        if (!ok_) return Unsure;
        const int d = d_, m = C_.m + static_cast<int>(on.size());
        A_.resize(C_.A.size());  // the cell's rows stay (copied once, in the constructor)
        c_.resize(C_.c.size());
        for (int i : on) {
            A_.insert(A_.end(), E_.begin() + static_cast<size_t>(i) * d, E_.begin() + static_cast<size_t>(i + 1) * d);
            c_.push_back(f_[i]);
        }
        cu_.resize(m);
        for (int i = 0; i < m; ++i) cu_[i] = c_[i] / unit_;
        BoxLp lp;
        lp.m = m;
        lp.d = d;
        lp.A = A_.data();
        lp.c = cu_.data();
        lp.lo = slo_.data();
        lp.hi = shi_.data();
        lp.zcap = 1.0;
        BoxLpOptions opt;
        opt.primal_tol = opt.dual_tol = lp_tol_;
        std::vector<int> head(on.begin(), on.end() - 1);
        std::vector<int8_t> warm;
        if (auto s = sibling_.find(head); s != sibling_.end() && !bases_.count(head)) {
            warm = s->second;
        } else {
            warm = basis_of(on, on.size() - 1);  // an LP's over a prefix of the rows, the rest's slacks basic
        }
        if (!warm.empty() && warm.size() != static_cast<size_t>(d + 1 + m)) warm.clear();
        BoxLpResult res = solve_box_lp(lp, warm.empty() ? nullptr : warm.data(), opt);
        counts_.lp_solves += 1;
        counts_.iterations += res.iterations;
        if (res.warm) counts_.warm_iterations += res.iterations, counts_.warm += 1;
        if (res.basis.size() == static_cast<size_t>(d + 1 + m)) {
            if (res.basis.back() == kBasic) sibling_[head] = res.basis;
            bases_[on] = std::move(res.basis);
        }
        if (res.status != LpStatus::Optimal) return Unsure;
        x.resize(d);
        for (int j = 0; j < d; ++j) x[j] = std::min(std::max(res.x[j] * unit_, lo_[j]), hi_[j]);
        r = (off_ & kOffWitness) ? 0.0 : margin(x.data());
        if (r > tol_ * max_abs(x.data(), d)) {
            const size_t n = std::min<size_t>(anchors.empty() ? 1 : anchors.size(), 4);
            for (size_t a = 0; a < n; ++a) deepen(x, r, anchors.empty() ? deep_ : anchors[a]);
            return Yes;
        }
        auto fb = farkas_bound(A_.data(), c_.data(), lo_.data(), hi_.data(), res.y.data(), m, d, ef_);
        if (fb.first + fb.second <= 0 && !(off_ & kOffFarkas)) {
            for (size_t i = 0; i < on.size(); ++i)
                if (res.y[C_.m + i] != 0.0) support.push_back(on[i]);
            return No;
        }
        return Unsure;
    }

    // A starting basis over the cell's rows and the extra rows `on`: the final basis of the LP
    // solved with the longest prefix of on[:upto] (else the cell's own, C.basis), the slacks of
    // the other rows basic; empty when there is none.
    std::vector<int8_t> basis_of(const std::vector<int>& on, size_t upto) const {
        std::vector<int> key(on.begin(), on.begin() + upto);
        for (;;) {
            auto b = bases_.find(key);
            if (b != bases_.end()) {
                std::vector<int8_t> out = b->second;
                out.insert(out.end(), on.size() - key.size(), kBasic);
                return out;
            }
            if (key.empty()) break;
            key.pop_back();
        }
        if (C_.basis.empty()) return {};
        std::vector<int8_t> out = C_.basis;
        out.insert(out.end(), on.size(), kBasic);
        return out;
    }

private:
    // contract.certified_depth over the current rows and the box
    double margin(const double* x) const {
        return certified_margin(A_.data(), c_.data(), lo_.data(), hi_.data(), x, static_cast<int>(c_.size()), d_, ef_);
    }

    // BoxDepth._deepen: (x, r) or a deeper point of the segment from x to p
    void deepen(std::vector<double>& x, double& r, const double* p) {
        if (p == nullptr) return;
        const int d = d_, m = static_cast<int>(c_.size());
        sx_.resize(m + 2 * static_cast<size_t>(d));
        slope_.resize(sx_.size());
        for (int i = 0; i < m; ++i) {
            const double* a = &A_[static_cast<size_t>(i) * d];
            sx_[i] = c_[i] - dot(a, x.data(), d);
            slope_[i] = (c_[i] - dot(a, p, d)) - sx_[i];
        }
        for (int j = 0; j < d; ++j) {
            sx_[m + j] = x[j] - lo_[j];
            slope_[m + j] = (p[j] - lo_[j]) - sx_[m + j];
            sx_[m + d + j] = hi_[j] - x[j];
            slope_[m + d + j] = (hi_[j] - p[j]) - sx_[m + d + j];
        }
        double lo_t = 0.0, width = 1.0, t = 0.0;
        double ts[kDeepenGrid], v[kDeepenGrid];
        for (int round = 0; round < 2; ++round) {
            for (int g = 0; g < kDeepenGrid; ++g) {
                ts[g] = lo_t + width * (static_cast<double>(g) / (kDeepenGrid - 1));
                v[g] = kInf;
            }
            for (size_t i = 0; i < sx_.size(); ++i) {  // (the grid inner: independent minima)
                const double s = sx_[i], a = slope_[i];
                for (int g = 0; g < kDeepenGrid; ++g) {
                    const double w = s + ts[g] * a;
                    v[g] = w < v[g] ? w : v[g];
                }
            }
            double best_v = v[0], best_t = ts[0];
            for (int g = 1; g < kDeepenGrid; ++g)
                if (v[g] > best_v) best_v = v[g], best_t = ts[g];  // (numpy.argmax: the first best)
            t = best_t;
            lo_t = std::max(best_t - width / 32, 0.0);
            width /= 16;
        }
        z_.resize(d);
        for (int j = 0; j < d; ++j) z_[j] = std::min(std::max(x[j] + t * (p[j] - x[j]), lo_[j]), hi_[j]);
        const double rz = margin(z_.data());
        if (rz > r && rz > tol_ * max_abs(z_.data(), d)) {
            x = z_;
            r = rz;
        }
    }

    const Ctx& C_;
    const std::vector<double>& E_;
    const std::vector<double>& f_;
    const std::vector<double>& lo_;
    const std::vector<double>& hi_;
    double tol_, ef_, lp_tol_;
    int off_;
    const double* deep_;
    int d_;
    LpCounts& counts_;
    double unit_ = 1.0;
    bool ok_ = false;
    std::vector<double> slo_, shi_, A_, c_, cu_, sx_, slope_, z_;
    std::map<std::vector<int>, std::vector<int8_t>> bases_, sibling_;
};

// Witness balls of one split: centres (n x d), radii, owners (sub-cell indices).
struct Balls {
    int d = 0;
    std::vector<double> P, R;
    std::vector<int> own;
    size_t n() const { return R.size(); }
    const double* at(size_t i) const { return &P[i * d]; }
    void push(const double* x, double r, int o) {
        P.insert(P.end(), x, x + d);
        R.push_back(r);
        own.push_back(o);
    }
};

// One LP-mode split of a cell by one layer (split._split_by_lps with split._Sides).
class LpSplitter {
public:
    struct Child {
        std::vector<uint8_t> signs, cuts;
        std::vector<double> point;
        double radius;
        std::vector<int8_t> basis;  // a shrunk-box LP's final basis over the child's rows (or empty)
    };

    LpSplitter(const Net& net, const LpSettings& st, const std::vector<double>& lo, const std::vector<double>& hi,
               LpCounts& counts)
        : net_(net), st_(st), lo_(lo), hi_(hi), counts_(counts) {}

    // The children of the cell (rows C, ball (p, r)) cut by C.L's neurons; throws Deferred.
    std::vector<Child> split(const Ctx& C, const double* p, double r) {
        const Layer& L = *C.L;
        const int d = static_cast<int>(lo_.size()), k = L.k;
        d_ = d;
        std::vector<uint8_t> signs(k, 0), decided(k, 0);
        // split.split_cell: constant neurons, then interval bounds over the box
        double big_max = 0.0;
        std::vector<double> big(d);
        for (int j = 0; j < d; ++j) big[j] = std::max(std::abs(lo_[j]), std::abs(hi_[j])), big_max = std::max(big_max, big[j]);
        const double g1 = gamma_of(net_, d + 1);
        std::vector<int> todo;
        for (int i = 0; i < k; ++i) {
            if (L.zero[i]) {
                signs[i] = L.gn[i] > 0.0;
                decided[i] = 1;
                continue;
            }
            const double* h = &L.Hn[static_cast<size_t>(i) * d];
            const double gn = L.gn[i];
            double vmin = 0.0, vmax = 0.0, e = 0.0;
            for (int j = 0; j < d; ++j) {
                const double a = h[j] * lo_[j], b = h[j] * hi_[j];
                vmin += std::min(a, b);
                vmax += std::max(a, b);
                e += std::abs(h[j]) * big[j];
            }
            vmin += gn;
            vmax += gn;
            const double err = g1 * (e + std::abs(gn));
            if (vmin >= err) {
                signs[i] = 1;
            } else if (!(vmax <= -err)) {
                todo.push_back(i);
            }
        }
        return by_lps(C, p, r, std::move(signs), todo);
    }

private:
    using Shot = std::pair<std::vector<double>, double>;  // (x, r); x empty: none

    const double* hn(int i) const { return &C_->L->Hn[static_cast<size_t>(i) * d_]; }
    double gn(int i) const { return C_->L->gn[i]; }

    // split._value_error for ball b and hyperplane i
    double value_error(const Balls& W, size_t b, int i) const {
        const double* x = W.at(b);
        const double* h = hn(i);
        double s = 0.0;
        for (int c = 0; c < d_; ++c) s += std::abs(x[c]) * std::abs(h[c]);
        return gamma_of(net_, d_ + 1) * (s + std::abs(gn(i)) + W.R[b]);
    }

    // split._caps: the ball b leaves on one side (centre into `out` when given; its radius)
    double cap(const Balls& W, size_t b, double v, double verr, int i, bool positive, double* out) const {
        const double vs = positive ? v : -v, R = W.R[b];
        if (out) {
            const double shift = std::max(0.0, (R - vs) / 2), sgn = positive ? shift : -shift;
            const double* x = W.at(b);
            const double* h = hn(i);
            for (int c = 0; c < d_; ++c) out[c] = x[c] + sgn * h[c];
        }
        return std::min(R, (R + vs) / 2 - verr);
    }

    // split._witnessed
    bool witnessed(const Balls& W, size_t b, double v, double verr, int i, bool positive) {
        if (st_.off & kOffBalls) return false;
        cen_.resize(d_);
        const double rad = cap(W, b, v, verr, i, positive, cen_.data());
        return rad > 0 && counts(st_.tol, cen_.data(), d_, rad);
    }

    int row(int i, bool side) const { return 2 * slot_[i] + (side ? 0 : 1); }

    std::vector<Child> by_lps(const Ctx& C, const double* p, double r, std::vector<uint8_t> signs,
                              const std::vector<int>& todo) {
        C_ = &C;
        const int d = d_, k = C.L->k, t = static_cast<int>(todo.size());
        slot_.assign(k, -1);
        E_.clear();
        f_.clear();
        for (int s = 0; s < t; ++s) {
            const int i = todo[s];
            slot_[i] = s;
            for (int c = 0; c < d; ++c) E_.push_back(-hn(i)[c]);
            f_.push_back(gn(i));
            for (int c = 0; c < d; ++c) E_.push_back(hn(i)[c]);
            f_.push_back(-gn(i));
        }
        std::unique_ptr<BoxDecider> box;
        if (t)
            box = std::make_unique<BoxDecider>(C, E_, f_, lo_, hi_, st_.tol, net_.error_factor, st_.lp_tol, st_.off, p,
                                               d, counts_);
        box_ = box.get();
        Balls W;
        W.d = d;
        W.push(p, r, 0);
        std::vector<double> vals;
        const std::vector<int> no_rows;

        // 1. screen: each hyperplane against the whole cell
        std::vector<int> cutting;
        certs_[0].clear();  // (the screen keeps them: a certificate holds for any question with its rows)
        certs_[1].clear();
        for (int i : todo) {
            bool has[2] = {false, false};  // [0]: h >= 0, [1]: h <= 0
            for (int sd = 0; sd < 2; ++sd) {
                const bool side = sd == 0;
                values(W, i, vals);
                for (size_t b = 0; b < W.n() && !has[sd]; ++b)
                    if (witnessed(W, b, vals[b], value_error(W, b, i), i, side)) has[sd] = true;
                if (has[sd]) {
                    ++counts_.by_ball;
                } else {
                    std::vector<size_t> all(W.n());
                    std::iota(all.begin(), all.end(), 0);
                    Shot s = find(i, side, no_rows, W, all, vals, {});
                    if (!s.first.empty()) {
                        W.push(s.first.data(), s.second, 0);
                        has[sd] = true;
                    }
                }
            }
            if (has[0] && has[1]) {
                cutting.push_back(i);
            } else if (has[0] || has[1]) {
                signs[i] = has[0];
            } else {  // both sides thinner than tol: a sliver; its best witness's side
                values(W, i, vals);
                double bp = -kInf, bn = -kInf;
                for (size_t b = 0; b < W.n(); ++b) {
                    bp = std::max(bp, cap(W, b, vals[b], 0.0, i, true, nullptr));
                    bn = std::max(bn, cap(W, b, vals[b], 0.0, i, false, nullptr));
                }
                signs[i] = bp >= bn;
            }
        }

        // 2. split by the cutting hyperplanes, one at a time
        std::vector<std::vector<uint8_t>> sub_signs{signs}, sub_cuts{std::vector<uint8_t>(k, 0)};
        std::vector<std::vector<int>> sub_rows{{}};
        for (int i : cutting) {
            certs_[0].clear();
            certs_[1].clear();
            values(W, i, vals);
            const size_t n_sub = sub_signs.size();
            std::vector<double> best_pos(n_sub, -kInf), best_neg(n_sub, -kInf);
            std::vector<uint8_t> wit_pos(n_sub, 0), wit_neg(n_sub, 0);
            std::vector<const double*> targets[2];
            for (size_t b = 0; b < W.n(); ++b) {
                const int o = W.own[b];
                best_pos[o] = std::max(best_pos[o], cap(W, b, vals[b], 0.0, i, true, nullptr));
                best_neg[o] = std::max(best_neg[o], cap(W, b, vals[b], 0.0, i, false, nullptr));
                const double ve = value_error(W, b, i);
                if (!wit_pos[o] && witnessed(W, b, vals[b], ve, i, true)) wit_pos[o] = 1;
                if (!wit_neg[o] && witnessed(W, b, vals[b], ve, i, false)) wit_neg[o] = 1;
                if (vals[b] > 0 && targets[0].size() < kTargets) targets[0].push_back(W.at(b));
                if (vals[b] < 0 && targets[1].size() < kTargets) targets[1].push_back(W.at(b));
            }
            Balls fresh;
            fresh.d = d;
            std::vector<int> split_of(n_sub, -1);
            // each sub-cell's balls, in order (a bucket sort by owner: no scan per sub-cell)
            std::vector<size_t> start(n_sub + 1, 0), order(W.n());
            for (size_t b = 0; b < W.n(); ++b) ++start[W.own[b] + 1];
            for (size_t j = 0; j < n_sub; ++j) start[j + 1] += start[j];
            {
                std::vector<size_t> next(start.begin(), start.end() - 1);
                for (size_t b = 0; b < W.n(); ++b) order[next[W.own[b]]++] = b;
            }
            for (size_t j = 0; j < n_sub; ++j) {
                bool has_pos = wit_pos[j], has_neg = wit_neg[j];
                counts_.by_ball += has_pos + has_neg;
                const std::vector<size_t> mine(order.begin() + start[j], order.begin() + start[j + 1]);
                for (int sd = 0; sd < 2; ++sd) {
                    const bool side = sd == 0;
                    if (side ? has_pos : has_neg) continue;
                    Shot s = find(i, side, sub_rows[j], W, mine, vals, targets[sd]);
                    if (!s.first.empty()) {
                        fresh.push(s.first.data(), s.second, static_cast<int>(j));
                        (side ? has_pos : has_neg) = true;
                    }
                }
                if (has_pos && has_neg) {  // j keeps the positive side, a new sub-cell the negative
                    std::vector<uint8_t> s = sub_signs[j], cm = sub_cuts[j];
                    s[i] = 0;
                    cm[i] = 1;
                    sub_signs[j][i] = 1;
                    sub_cuts[j][i] = 1;
                    split_of[j] = static_cast<int>(sub_signs.size());
                    sub_signs.push_back(std::move(s));
                    sub_cuts.push_back(std::move(cm));
                    std::vector<int> rows = sub_rows[j];
                    rows.push_back(row(i, false));
                    sub_rows.push_back(std::move(rows));
                    sub_rows[j].push_back(row(i, true));
                } else if (has_neg) {
                    sub_signs[j][i] = 0;
                } else if (has_pos) {
                    sub_signs[j][i] = 1;
                } else {
                    sub_signs[j][i] = best_pos[j] >= best_neg[j];
                }
            }
            for (size_t b = 0; b < fresh.n(); ++b) W.push(fresh.at(b), fresh.R[b], fresh.own[b]);
            if (sub_signs.size() > n_sub) {  // a split sub-cell's witnesses: the caps on each side
                values(W, i, vals);
                Balls next;
                next.d = d;
                std::vector<size_t> moved;
                for (size_t b = 0; b < W.n(); ++b) {
                    if (split_of[W.own[b]] >= 0) moved.push_back(b);
                    else next.push(W.at(b), W.R[b], W.own[b]);
                }
                std::vector<double> ve(moved.size());
                for (size_t q = 0; q < moved.size(); ++q) ve[q] = value_error(W, moved[q], i);
                cen_.resize(d);
                for (int sd = 0; sd < 2; ++sd) {
                    for (size_t q = 0; q < moved.size(); ++q) {
                        const size_t b = moved[q];
                        const double rad = cap(W, b, vals[b], ve[q], i, sd == 0, cen_.data());
                        next.push(cen_.data(), rad, sd == 0 ? W.own[b] : split_of[W.own[b]]);
                    }
                }
                W = std::move(next);
            }
            Balls kept;  // only balls of positive radius stay
            kept.d = d;
            for (size_t b = 0; b < W.n(); ++b)
                if (W.R[b] > 0) kept.push(W.at(b), W.R[b], W.own[b]);
            W = std::move(kept);
        }

        std::vector<Child> out;
        std::vector<int> best_of(sub_signs.size(), -1);  // each sub-cell's deepest ball (the first such)
        for (size_t b = 0; b < W.n(); ++b) {
            int& best = best_of[W.own[b]];
            if (best < 0 || W.R[b] > W.R[best]) best = static_cast<int>(b);
        }
        for (size_t j = 0; j < sub_signs.size(); ++j) {
            const int best = best_of[j];
            if (best < 0) continue;  // cannot happen for a full-dimensional sub-cell
            out.push_back(Child{std::move(sub_signs[j]), std::move(sub_cuts[j]),
                                std::vector<double>(W.at(best), W.at(best) + d), W.R[best],
                                box ? box->basis_of(sub_rows[j], sub_rows[j].size()) : C.basis});
        }
        box_ = nullptr;
        return out;
    }

    void values(const Balls& W, int i, std::vector<double>& vals) const {
        vals.resize(W.n());
        for (size_t b = 0; b < W.n(); ++b) vals[b] = dot(W.at(b), hn(i), d_) + gn(i);
    }

    // _Sides.find: a ball proving that side `side` of h_i counts in the sub-cell with the extra
    // rows `sub_rows` (its witness balls `mine` of W), or none; throws Deferred when unsure.
    Shot find(int i, bool side, const std::vector<int>& sub_rows, const Balls& W, const std::vector<size_t>& mine,
              const std::vector<double>& vals, const std::vector<const double*>& Q) {
        poll();
        std::vector<int> on = sub_rows;
        on.push_back(row(i, side));
        auto& certs = certs_[side ? 0 : 1];
        if (!certs.empty() && !(st_.off & kOffCertificates)) {
            on_mask_.assign(f_.size(), 0);
            for (int q : on) on_mask_[q] = 1;
            for (const auto& cert : certs) {
                bool all = true;
                for (int q : cert) all = all && on_mask_[q];
                if (all) {
                    ++counts_.by_certificate;
                    return {};
                }
            }
        }
        Shot shot{{}, -kInf};
        if (!mine.empty() && !(st_.off & kOffRays)) {
            shot = shoot(sub_rows, W, mine, vals, Q, i, side);
            if (!shot.first.empty() && counts(st_.tol, shot.first.data(), d_, shot.second / st_.borderline)) {
                ++counts_.by_ray;
                return shot;
            }
        }
        std::vector<size_t> order = mine;
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return W.R[a] > W.R[b]; });
        std::vector<const double*> anchors;
        for (size_t b : order) anchors.push_back(W.at(b));
        std::vector<double> x;
        double r = -kInf;
        std::vector<int> support;
        switch (box_->decide(on, anchors, x, r, support)) {
            case BoxDecider::Yes:
                ++counts_.lp_yes;
                if (r > shot.second) return {x, r};
                return shot;
            case BoxDecider::No:
                ++counts_.lp_no;
                if (shot.first.empty()) certs.push_back(std::move(support));
                return shot;
            default:
                throw Deferred{};
        }
    }

    // split._shoot over the cell's rows plus the extra rows `sub_rows`, from the deepest ball.
    Shot shoot(const std::vector<int>& sub_rows, const Balls& W, const std::vector<size_t>& mine,
               const std::vector<double>& vals, const std::vector<const double*>& Q, int i, bool positive) {
        const int d = d_;
        const Ctx& C = *C_;
        const double sgn = positive ? 1.0 : -1.0;
        size_t o = mine[0];
        for (size_t b : mine)
            if (W.R[b] > W.R[o]) o = b;
        const double* p = W.at(o);
        const double v = vals[o], Ro = W.R[o];
        const double* n = hn(i);
        const double g = gn(i);
        // the rows: the cell's, then the sub-cell's extra rows
        const int m = C.m + static_cast<int>(sub_rows.size());
        rows_A_.assign(C.A.begin(), C.A.end());
        rows_c_.assign(C.c.begin(), C.c.end());
        for (int q : sub_rows) {
            rows_A_.insert(rows_A_.end(), E_.begin() + static_cast<size_t>(q) * d, E_.begin() + static_cast<size_t>(q + 1) * d);
            rows_c_.push_back(f_[q]);
        }
        const double* A = rows_A_.data();
        const double* c = rows_c_.data();
        std::vector<double> slack(m);
        for (int j = 0; j < m; ++j) slack[j] = c[j] - dot(&A[static_cast<size_t>(j) * d], p, d);
        // directions: the normal first, then toward each target (unit rows; a zero row stays zero)
        const size_t nq = 1 + Q.size();
        std::vector<double> U(nq * d);
        for (int cc = 0; cc < d; ++cc) U[cc] = sgn * n[cc];
        for (size_t q = 0; q < Q.size(); ++q)
            for (int cc = 0; cc < d; ++cc) U[(q + 1) * d + cc] = Q[q][cc] - p[cc];
        for (size_t q = 0; q < nq; ++q) {
            const double nrm = norm2(&U[q * d], d);
            if (nrm > 0)
                for (int cc = 0; cc < d; ++cc) U[q * d + cc] /= nrm;
        }
        double best_rho = -kInf, best_t = 0.0;
        size_t best_q = 0;
        bool any = false;
        std::vector<double> au(m);
        for (size_t q = 0; q < nq; ++q) {
            const double* u = &U[q * d];
            const double rate = sgn * dot(u, n, d);
            const double t_c = -sgn * v / rate;
            double t_e = kInf;
            for (int j = 0; j < m; ++j) {
                au[j] = dot(u, &A[static_cast<size_t>(j) * d], d);
                if (au[j] > 0) t_e = std::min(t_e, slack[j] / au[j]);
            }
            for (int cc = 0; cc < d; ++cc) {
                if (u[cc] > 0) t_e = std::min(t_e, (hi_[cc] - p[cc]) / u[cc]);
                else if (u[cc] < 0) t_e = std::min(t_e, (lo_[cc] - p[cc]) / u[cc]);
            }
            if (!(t_e < kInf)) t_e = t_c + 2 * std::max(std::abs(v), Ro);
            const double t_0 = std::max(t_c, 0.0);
            if (!(rate > 0 && t_e > t_0)) continue;
            for (double gq : kRayGrid) {
                const double ts = t_0 + (t_e - t_0) * gq;
                double dep = kInf;
                for (int j = 0; j < m; ++j) dep = std::min(dep, slack[j] - au[j] * ts);
                for (int cc = 0; cc < d; ++cc) {
                    const double X = p[cc] + ts * u[cc];
                    dep = std::min({dep, X - lo_[cc], hi_[cc] - X});
                }
                const double rho = std::min(dep, (ts - t_c) * rate);
                if (!any || rho > best_rho) best_rho = rho, best_t = ts, best_q = q, any = true;
            }
        }
        if (!any || !(best_rho > 0)) return {{}, -kInf};
        std::vector<double> x(d);
        for (int cc = 0; cc < d; ++cc) x[cc] = p[cc] + best_t * U[best_q * d + cc];
        double an = 0.0;
        for (int cc = 0; cc < d; ++cc) an += std::abs(n[cc]) * std::abs(x[cc]);
        const double to_h = sgn * (dot(n, x.data(), d) + g) - gamma_of(net_, d + 1) * (an + std::abs(g));
        const double depth = certified_margin(A, c, lo_.data(), hi_.data(), x.data(), m, d, net_.error_factor);
        const double r = std::min(depth, to_h);
        if (r > 0 && counts(st_.tol, x.data(), d, r)) return {x, r};
        return {{}, -kInf};
    }

public:
    // LpSettings::interrupted, asked at most every few milliseconds (a clock read every 64 calls)
    void poll() {
        if (!st_.interrupted || (++polls_ & 63) != 0) return;
        const auto now = Clock::now();
        if (now - last_poll_ < std::chrono::milliseconds(5)) return;
        last_poll_ = now;
        if (st_.interrupted()) throw LpInterrupted{};
    }

private:
    const Net& net_;
    const LpSettings& st_;
    const std::vector<double>& lo_;
    const std::vector<double>& hi_;
    LpCounts& counts_;
    uint64_t polls_ = 0;
    Clock::time_point last_poll_ = Clock::now();
    const Ctx* C_ = nullptr;
    BoxDecider* box_ = nullptr;
    int d_ = 0;
    std::vector<int> slot_;
    std::vector<double> E_, f_, cen_, rows_A_, rows_c_;
    std::vector<uint8_t> on_mask_;
    std::vector<std::vector<int>> certs_[2];
};

class LpRefiner {
public:
    LpRefiner(const Net& net, const LpSettings& st, const std::vector<double>& lo, const std::vector<double>& hi)
        : net_(net), st_(st), lo_(lo), hi_(hi), n_layers_(static_cast<int>(net.widths.size())),
          splitter_(net, st, lo, hi, out.counts) {
        out.per_layer.assign(n_layers_, 0);
    }

    void push(LpTask&& t) { stack_.push_back(Node{std::move(t), nullptr}); }

    void run(double budget_s) {
        // (capped: an infinite budget would overflow the clock's integer ticks into the past)
        const auto t_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(std::min(budget_s, 1e9)));
        bool first = true;
        while (!stack_.empty()) {
            if (!first && Clock::now() > t_end) break;
            first = false;
            splitter_.poll();
            Node node = std::move(stack_.back());
            stack_.pop_back();
            step(std::move(node));
        }
        for (auto it = stack_.rbegin(); it != stack_.rend(); ++it) out.pending.push_back(std::move(it->t));
        stack_.clear();
    }

    LpOutput out;

private:
    // The region's rows and its layer's pull-back: from its parent's split in one step, or
    // rebuilt from its pattern (Problem.unpack and tasks._prefix_map).
    CtxPtr context(const Node& node) const {
        const int d = static_cast<int>(lo_.size());
        auto C = std::make_shared<Ctx>();
        const LpTask& t = node.t;
        C->cuts = t.cuts;
        C->basis = t.basis;
        std::vector<double> M, m(d, 0.0), Mabs, H, g, Habs;  // (M empty: the identity)
        if (node.parent) {
            const Ctx& P = *node.parent;
            const Layer& PL = *P.L;
            C->m = P.m;
            C->A = P.A;
            C->c = P.c;
            const size_t off = PL.pattern.size();
            append_cut_rows(PL, d, &t.pattern[off], &t.cuts[off], *C);
            masked(PL, d, &t.pattern[off], M, m, Mabs);
        } else {
            size_t off = 0;
            for (int l = 0; l < t.layer; ++l) {
                Layer step;
                step.k = net_.widths[l];
                pull_back(net_, l, d, M, m, Mabs, step.H, step.g, step.Habs);
                append_cut_rows(step, d, &t.pattern[off], &t.cuts[off], *C);
                masked(step, d, &t.pattern[off], M, m, Mabs);
                off += step.k;
            }
        }
        C->L = make_layer(net_, t.layer, d, -1, t.pattern, t.ranks, M, m, Mabs);
        return C;
    }

    void step(Node&& node) {
        CtxPtr C = context(node);
        std::vector<LpSplitter::Child> kids;
        try {
            kids = splitter_.split(*C, node.t.point.data(), node.t.radius);
        } catch (const Deferred&) {
            out.counts.deferred += 1;
            out.deferred.push_back(std::move(node.t));
            return;
        }
        const Layer& L = *C->L;
        const int d = static_cast<int>(lo_.size()), layer = node.t.layer;
        out.per_layer[layer] += static_cast<int64_t>(kids.size());
        std::vector<double> M, m, Mabs;
        const size_t first = stack_.size();
        for (auto& kid : kids) {
            masked(L, d, kid.signs.data(), M, m, Mabs);
            LpTask t;
            t.layer = layer + 1;
            t.pattern = L.pattern;
            t.pattern.insert(t.pattern.end(), kid.signs.begin(), kid.signs.end());
            t.ranks = L.ranks;
            t.ranks.push_back(rank_of(M, L.k, d));
            t.cuts = C->cuts;
            t.cuts.insert(t.cuts.end(), kid.cuts.begin(), kid.cuts.end());
            t.point = std::move(kid.point);
            t.radius = kid.radius;
            t.basis = std::move(kid.basis);
            if (t.layer == n_layers_) {
                recentre(*C, kid.signs, kid.cuts, t);
                emit(t);
            } else {
                stack_.push_back(Node{std::move(t), C});
            }
        }
        std::reverse(stack_.begin() + first, stack_.end());  // the first child is explored first
    }

    // tasks._recentre: a finished region whose point proves the contract by less than the
    // borderline margin gets a point twice that margin deep from the box's reach, where one
    // shrunk-box LP over the region's rows finds one (box_depth.point_at_depth); the numpy side
    // settles what is left with the exact LP.
    void recentre(const Ctx& C, const std::vector<uint8_t>& signs, const std::vector<uint8_t>& cuts, LpTask& t) {
        const int d = static_cast<int>(lo_.size());
        if (!(t.radius < st_.borderline * st_.tol * max_abs(t.point.data(), d))) return;
        const double reach = box_reach(lo_, hi_);
        const double want = 2 * st_.borderline * st_.tol * reach, unit = power_of_two(reach);
        std::vector<double> slo(d), shi(d);
        for (int j = 0; j < d; ++j) {
            slo[j] = (lo_[j] + want) / unit;
            shi[j] = (hi_[j] - want) / unit;
            if (!(slo[j] <= shi[j])) return;
        }
        Ctx R;
        R.m = C.m;
        R.A = C.A;
        R.c = C.c;
        append_cut_rows(*C.L, d, signs.data(), cuts.data(), R);
        std::vector<double> cu(R.c);
        for (double& v : cu) v /= unit;
        BoxLp lp;
        lp.m = R.m;
        lp.d = d;
        lp.A = R.A.data();
        lp.c = cu.data();
        lp.lo = slo.data();
        lp.hi = shi.data();
        lp.zcap = 1.0;
        BoxLpOptions opt;
        opt.primal_tol = opt.dual_tol = st_.lp_tol;
        const bool warm = t.basis.size() == static_cast<size_t>(d + 1 + R.m);
        BoxLpResult res = solve_box_lp(lp, warm ? t.basis.data() : nullptr, opt);
        out.counts.lp_solves += 1;
        out.counts.iterations += res.iterations;
        out.counts.recentred += 1;
        if (res.status != LpStatus::Optimal || !(res.z * unit > want)) return;
        std::vector<double> x(d);
        for (int j = 0; j < d; ++j) x[j] = std::min(std::max(res.x[j] * unit, lo_[j]), hi_[j]);
        const double r = certified_margin(R.A.data(), R.c.data(), lo_.data(), hi_.data(), x.data(), R.m, d,
                                          net_.error_factor);
        if (r > t.radius) {
            t.point = std::move(x);
            t.radius = r;
        }
    }

    void emit(const LpTask& t) {
        out.patterns.insert(out.patterns.end(), t.pattern.begin(), t.pattern.end());
        out.points.insert(out.points.end(), t.point.begin(), t.point.end());
        out.radii.push_back(t.radius);
        out.ranks.insert(out.ranks.end(), t.ranks.begin(), t.ranks.end());
        out.n += 1;
    }

    const Net& net_;
    const LpSettings& st_;
    const std::vector<double>& lo_;
    const std::vector<double>& hi_;
    const int n_layers_;
    LpSplitter splitter_;
    std::vector<Node> stack_;
};

}  // namespace

LpOutput lp_refine(const Net& net, const LpSettings& settings, const std::vector<double>& lo,
                   const std::vector<double>& hi, std::vector<LpTask>& tasks, double budget_s) {
    LpRefiner r(net, settings, lo, hi);
    for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) r.push(std::move(*it));
    r.run(budget_s);
    return std::move(r.out);
}

}  // namespace nncells
