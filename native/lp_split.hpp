// LP mode's split of a cell by one layer (split._split_by_lps with _Sides and _shoot): the
// screen, witness balls, kept certificates, rays, and last the shrunk-box LP (lp_decide.hpp).
// Internal to lp_mode.cpp.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include "doubles.hpp"
#include "lp_cells.hpp"
#include "lp_decide.hpp"
#include "lp_mix.hpp"
#include "lp_mode.hpp"

namespace nncells {
namespace lp_detail {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kTargets = 3;                        // split._TARGETS
constexpr int kCandidates = 24;                    // split._CANDIDATES
constexpr int kVisits = 256;                       // split._VISITS
constexpr int kAimDim = 32;                        // split._AIM_DIM
constexpr int kMixDim = 256;                       // split._MIX_DIM
constexpr int kFirstTargets = 6;                   // split._FIRST_TARGETS
constexpr double kRayGrid[3] = {0.25, 0.5, 0.75};  // split._GRID
constexpr int kMixRounds = 8;                      // witness_balls.MIX_ROUNDS
constexpr size_t kMixAdd = 8;                      // witness_balls.MIX_ADD

// Witness balls of one split: centres (n x d), radii, owners (sub-cell indices).
struct Balls {
    int d = 0;
    Doubles P;
    std::vector<double> R;
    std::vector<int> own;
    size_t n() const { return R.size(); }
    const double* at(size_t i) const { return P.data() + i * d; }
    double* at(size_t i) { return P.data() + i * d; }
    void push(const double* x, double r, int o) {  // (x must not be a centre of these balls)
        P.append(x, d);
        R.push_back(r);
        own.push_back(o);
    }
    void truncate(size_t nb) {
        P.truncate(nb * static_cast<size_t>(d));
        R.resize(nb);
        own.resize(nb);
    }
    // Room for nb balls (grown at least twofold: pages not yet written cost no memory).
    void room(size_t nb) {
        if (R.capacity() >= nb) return;
        nb = std::max(nb, 2 * R.capacity());
        P.reserve(nb * static_cast<size_t>(d));
        R.reserve(nb);
        own.reserve(nb);
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
        enough_ = 2 * st_.borderline * st_.tol * box_reach(lo_, hi_);
        std::vector<uint8_t> signs(k, 0);
        // split.split_cell: constant neurons, then interval bounds over the box
        std::vector<double> big(d);
        for (int j = 0; j < d; ++j) big[j] = std::max(std::abs(lo_[j]), std::abs(hi_[j]));
        const double g1 = gamma_of(net_, d + 1);
        std::vector<int> todo;
        for (int i = 0; i < k; ++i) {
            if (L.zero[i]) {
                signs[i] = L.gn[i] > 0.0;
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

    // Where the ray p + t u (t >= 0) leaves the box: the least (bound - p_c) / u_c over u_c != 0
    // (+inf when u = 0). A coordinate's quotient, num / |u_c| with num = hi_c - p_c or p_c - lo_c
    // (bit for bit (bound - p_c) / u_c), is computed only where num <= acc |u_c| allows it to be
    // the least so far (up to a relative 2^-50 for the product's rounding; tiny products always):
    // the same least quotient with few divisions (they were half of a ray's time at 784 inputs).
    // The AVX2 build (simd.hpp) computes every quotient below d & ~3: the same least one.
    double box_exit(const double* p, const double* u) const {
        double acc = kInf;
        const int d = d_;
        int k = 0;
#if NNCELLS_AVX2
        if (d >= kWide && avx2_available()) {
            double lane[4];
            box_exit_avx2(p, u, lo_.data(), hi_.data(), static_cast<size_t>(d), lane);
            for (double v : lane) acc = v < acc ? v : acc;
            k = d & ~3;
        }
#endif
        for (; k < d; ++k) {
            const double w = u[k], aw = std::abs(w);
            const double up = hi_[k] - p[k], down = p[k] - lo_[k];
            const double num = w > 0 ? up : down, bound = acc * aw;  // (selects, not branches)
            if ((w != 0) & ((num <= bound * (1.0 + 0x1p-50)) | (bound < 0x1p-1000))) {
                const double t = num / aw;
                acc = t < acc ? t : acc;
            }
        }
        return acc;
    }

    // dep[g] = min(dep[g], the box depth of p + ts[g] u) for the three grid points, one pass.
    void box_depths(const double* p, const double* u, const double* ts, double* dep) const {
        double a0 = kInf, a1 = kInf, a2 = kInf, b0 = kInf, b1 = kInf, b2 = kInf;
        const int d = d_;
        for (int c = 0; c < d; ++c) {
            const double lo = p[c] - lo_[c], hi = hi_[c] - p[c], w = u[c];
            const double l0 = lo + ts[0] * w, l1 = lo + ts[1] * w, l2 = lo + ts[2] * w;
            const double h0 = hi - ts[0] * w, h1 = hi - ts[1] * w, h2 = hi - ts[2] * w;
            a0 = l0 < a0 ? l0 : a0;
            a1 = l1 < a1 ? l1 : a1;
            a2 = l2 < a2 ? l2 : a2;
            b0 = h0 < b0 ? h0 : b0;
            b1 = h1 < b1 ? h1 : b1;
            b2 = h2 < b2 ? h2 : b2;
        }
        dep[0] = std::min({dep[0], a0, b0});
        dep[1] = std::min({dep[1], a1, b1});
        dep[2] = std::min({dep[2], a2, b2});
    }

    // A column of the split's caches: the cell's row j (j < C.m), else the normal of the
    // hyperplane in slot j - C.m.
    const double* cache_row(int j) const {
        return j < C_->m ? &C_->A[static_cast<size_t>(j) * d_] : hn(todo_[j - C_->m]);
    }

    // hn(i) . cache_row(j), computed once a split
    double gram(int i, int j) {
        double& g = gram_[static_cast<size_t>(slot_[i]) * (C_->m + todo_.size()) + j];
        if (std::isnan(g)) g = dot(hn(i), cache_row(j), d_);
        return g;
    }

    // ball b's centre . cache_row(j), computed once for each ball of W (the caches follow the
    // balls where W is rebuilt: `carry`). rv_[j]: column j over W's balls, NaN: not yet.
    double ball_value(const Balls& W, size_t b, int j) {
        std::vector<double>& col = rv_[j];
        if (col.size() < W.n()) col.resize(W.n(), kNaN);
        double& v = col[b];
        if (std::isnan(v)) v = dot(cache_row(j), W.at(b), d_);
        return v;
    }

    // Column j of the caches, every ball's value computed: the balls from filled_[j] on are
    // scanned (those below it are known: W only grows between `carry`s, and `ball_value` only
    // fills), so the mixtures' pricing rounds do not scan the whole column again.
    const double* column(const Balls& W, int j) {
        std::vector<double>& col = rv_[j];
        if (col.size() < W.n()) col.resize(W.n(), kNaN);
        for (size_t b = filled_[j]; b < W.n(); ++b)
            if (std::isnan(col[b])) col[b] = dot(cache_row(j), W.at(b), d_);
        filled_[j] = W.n();
        return col.data();
    }

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
            const double sgn = shift_of(W, b, v, positive);
            const double* x = W.at(b);
            const double* h = hn(i);
            for (int c = 0; c < d_; ++c) out[c] = x[c] + sgn * h[c];
        }
        return std::min(R, (R + vs) / 2 - verr);
    }

    // How far `cap` moves ball b's centre along h_i (signed; v: h_i at the centre).
    static double shift_of(const Balls& W, size_t b, double v, bool positive) {
        const double shift = std::max(0.0, (W.R[b] - (positive ? v : -v)) / 2);
        return positive ? shift : -shift;
    }

    // The caches (`ball_value`) of W rebuilt as by_lps does: the first n0 balls stay where they
    // are, the moved ones (`moved`) there as their positive caps, their centres moved along h_i
    // by `up`, and again after them as their negative caps (moved by `down`). A moved value is
    // the old one plus the move times h_i's product with the column's row (up to rounding: the
    // caches only choose rays, targets and mixtures, whose points are certified anew).
    void carry(size_t n0, const std::vector<size_t>& moved, const std::vector<double>& up,
               const std::vector<double>& down, int i) {
        for (size_t j = 0; j < rv_.size(); ++j) {
            std::vector<double>& col = rv_[j];
            col.resize(n0, kNaN);
            col.resize(n0 + moved.size(), kNaN);
            double gj = 0.0;
            bool have = false;
            auto moved_by = [&](double old, double sh) {
                if (std::isnan(old) || sh == 0.0) return old;
                if (!have) gj = gram(i, static_cast<int>(j)), have = true;
                return old + sh * gj;
            };
            for (size_t q = 0; q < moved.size(); ++q) {
                const double old = col[moved[q]];
                col[n0 + q] = moved_by(old, down[q]);
                col[moved[q]] = moved_by(old, up[q]);
            }
            filled_[j] = 0;
        }
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
        todo_ = todo;
        gram_.assign(static_cast<size_t>(t) * (C.m + t), kNaN);
        rv_.assign(static_cast<size_t>(C.m) + t, {});
        filled_.assign(rv_.size(), 0);
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
        W.room(1 + 2 * todo.size());
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
        parent_.assign(1, -1);  // the sub-cells' tree: each split's new sub-cell under the one it left
        first_kid_.assign(1, -1);
        last_kid_.assign(1, -1);
        next_kid_.assign(1, -1);
        for (int i : cutting) {
            certs_[0].clear();
            certs_[1].clear();
            values(W, i, vals);
            const size_t n_sub = sub_signs.size();
            std::vector<double> best_pos(n_sub, -kInf), best_neg(n_sub, -kInf);
            std::vector<uint8_t> wit_pos(n_sub, 0), wit_neg(n_sub, 0);
            std::vector<size_t> first[2];  // below kAimDim inputs: the first balls on each side
            for (size_t b = 0; b < W.n(); ++b) {
                const int o = W.own[b];
                if (d < kAimDim && vals[b] > 0 && first[0].size() < kFirstTargets) first[0].push_back(b);
                if (d < kAimDim && vals[b] < 0 && first[1].size() < kFirstTargets) first[1].push_back(b);
                best_pos[o] = std::max(best_pos[o], cap(W, b, vals[b], 0.0, i, true, nullptr));
                best_neg[o] = std::max(best_neg[o], cap(W, b, vals[b], 0.0, i, false, nullptr));
                const double ve = value_error(W, b, i);
                if (!wit_pos[o] && witnessed(W, b, vals[b], ve, i, true)) wit_pos[o] = 1;
                if (!wit_neg[o] && witnessed(W, b, vals[b], ve, i, false)) wit_neg[o] = 1;
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
            side_.resize(W.n());  // (`candidates`: the balls' sides of h_i in that order)
            for (size_t q = 0; q < W.n(); ++q) side_[q] = (vals[order[q]] > 0) - (vals[order[q]] < 0);
            for (size_t j = 0; j < n_sub; ++j) {
                bool has_pos = wit_pos[j], has_neg = wit_neg[j];
                counts_.by_ball += has_pos + has_neg;
                const std::vector<size_t> mine(order.begin() + start[j], order.begin() + start[j + 1]);
                for (int sd = 0; sd < 2; ++sd) {
                    const bool side = sd == 0;
                    if (side ? has_pos : has_neg) continue;
                    const std::vector<size_t> Q =
                        d < kAimDim ? first[sd] : aim(j, n_sub, start, order, sub_rows[j], W, mine, vals, side);
                    Shot s = find(i, side, sub_rows[j], W, mine, vals, Q);
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
                    const int kid = split_of[j];  // (j's children: a list through next_kid_)
                    parent_.push_back(static_cast<int>(j));
                    first_kid_.push_back(-1);
                    last_kid_.push_back(-1);
                    next_kid_.push_back(-1);
                    (last_kid_[j] < 0 ? first_kid_[j] : next_kid_[last_kid_[j]]) = kid;
                    last_kid_[j] = kid;
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
            W.room(W.n() + fresh.n());
            for (size_t b = 0; b < fresh.n(); ++b) W.push(fresh.at(b), fresh.R[b], fresh.own[b]);
            if (sub_signs.size() > n_sub) {  // a split sub-cell's witnesses: the caps on each side
                // (the positive cap in the ball's place, the negative one after all the balls)
                values(W, i, vals);
                const size_t n0 = W.n();
                std::vector<size_t> moved;
                for (size_t b = 0; b < n0; ++b)
                    if (split_of[W.own[b]] >= 0) moved.push_back(b);
                W.room(n0 + moved.size() + 2 * sub_signs.size());  // (and the next hyperplane's fresh balls)
                const size_t nm = moved.size();
                std::vector<double> ve(nm), up(nm), down(nm);  // the caps' centres' moves along h_i
                for (size_t q = 0; q < nm; ++q) ve[q] = value_error(W, moved[q], i);
                cen_.resize(d);
                for (size_t q = 0; q < nm; ++q) {
                    const size_t b = moved[q];
                    const double rad = cap(W, b, vals[b], ve[q], i, false, cen_.data());
                    down[q] = shift_of(W, b, vals[b], false);
                    W.push(cen_.data(), rad, split_of[W.own[b]]);
                }
                for (size_t q = 0; q < nm; ++q) {
                    const size_t b = moved[q];
                    up[q] = shift_of(W, b, vals[b], true);
                    W.R[b] = cap(W, b, vals[b], ve[q], i, true, W.at(b));
                }
                carry(n0, moved, up, down, i);
            }
            if (std::any_of(W.R.begin(), W.R.end(), [](double r) { return !(r > 0); })) {
                for (size_t j = 0; j < rv_.size(); ++j) {
                    std::vector<double>& col = rv_[j];
                    col.resize(W.n(), kNaN);
                    size_t at = 0;
                    for (size_t b = 0; b < W.n(); ++b)
                        if (W.R[b] > 0) col[at++] = col[b];
                    col.resize(at);
                    filled_[j] = 0;
                }
                size_t kept = 0;  // only balls of positive radius stay (in place, in order)
                for (size_t b = 0; b < W.n(); ++b) {
                    if (!(W.R[b] > 0)) continue;
                    if (kept != b) {
                        std::memmove(W.at(kept), W.at(b), static_cast<size_t>(d) * sizeof(double));
                        W.R[kept] = W.R[b];
                        W.own[kept] = W.own[b];
                    }
                    ++kept;
                }
                W.truncate(kept);
            }
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

    // The sign of the split's extra row e: E row e is extra_sign(e) times hyperplane slot e / 2
    // (e even: h >= 0, the row -h; e odd: h <= 0, the row h).
    static double extra_sign(int e) { return e % 2 ? 1.0 : -1.0; }

    // The slack c_e - a_e . x of the split's extra row e (E_, f_) at ball b's centre (cached).
    double extra_slack(const Balls& W, size_t b, int e) {
        return f_[e] - extra_sign(e) * ball_value(W, b, C_->m + e / 2);
    }

    // split._candidates: at most kCandidates balls of W on side `side` of h_i (`side_`), from
    // the kVisits sub-cells nearest sub-cell j in the split's tree (j, then breadth first: the
    // sub-cell a sub-cell left, then those that left it, in order; each one's balls in the order
    // of W), where the segment from j's witness crosses the fewest of j's rows. `start`, `order`:
    // W's balls by owner (owners below n_sub).
    std::vector<size_t> candidates(size_t j, size_t n_sub, const std::vector<size_t>& start,
                                   const std::vector<size_t>& order, bool positive) {
        const int8_t sgn = positive ? 1 : -1;
        std::vector<size_t> out;
        ++stamp_;
        if (seen_.size() < parent_.size()) seen_.resize(parent_.size(), 0);
        bfs_.assign(1, static_cast<int>(j));
        seen_[j] = stamp_;
        for (size_t h = 0; h < bfs_.size() && h < static_cast<size_t>(kVisits) &&
                           out.size() < static_cast<size_t>(kCandidates); ++h) {
            const int o = bfs_[h];
            if (static_cast<size_t>(o) < n_sub)
                for (size_t q = start[o]; q < start[o + 1] && out.size() < static_cast<size_t>(kCandidates); ++q)
                    if (side_[q] == sgn) out.push_back(order[q]);
            auto visit = [&](int v) {
                if (v >= 0 && seen_[v] != stamp_) {
                    seen_[v] = stamp_;
                    bfs_.push_back(v);
                }
            };
            visit(parent_[o]);
            for (int c = first_kid_[o]; c >= 0; c = next_kid_[c]) visit(c);
        }
        return out;
    }

    // A pass of `price_balls` over G rows (the first pass: from the start y0 R + y1 v).
    template <int G, bool First>
    static void price_pass(double* out, size_t n, double y0, const double* R, double y1, const double* v,
                           const double* const* c, const double* f, const double* s) {
        size_t b = 0;
#if NNCELLS_AVX2
        if (n >= kWide && avx2_available()) {  // the same sums (simd.hpp), then the rest
            price_pass_avx2<G, First>(out, n, y0, R, y1, v, c, f, s);
            b = n & ~static_cast<size_t>(3);
        }
#endif
        for (; b < n; ++b) {
            double p = First ? y0 * R[b] + y1 * v[b] : out[b];
#pragma GCC unroll 4
            for (int q = 0; q < G; ++q) p += f[q] - s[q] * c[q][b];
            out[b] = p;
        }
    }

    // The prices of n balls: out[b] = y0 R[b] + y1 v[b], then + (yf[r] - ys[r] cols[r][b]) for
    // r = 0, 1, ... in order (each entry's sums as one row at a time would make them), four rows
    // a pass at most.
    static void price_balls(double* out, size_t n, double y0, const double* R, double y1, const double* v,
                            const std::vector<const double*>& cols, const std::vector<double>& yf,
                            const std::vector<double>& ys) {
        const size_t k = cols.size();
        size_t r = 0;
        do {
            const size_t g = std::min<size_t>(k - r, 4);
            const double* const* c = cols.data() + r;
            const double *f = yf.data() + r, *s = ys.data() + r;
            if (r == 0) {
                switch (g) {
                    case 0: price_pass<0, true>(out, n, y0, R, y1, v, c, f, s); break;
                    case 1: price_pass<1, true>(out, n, y0, R, y1, v, c, f, s); break;
                    case 2: price_pass<2, true>(out, n, y0, R, y1, v, c, f, s); break;
                    case 3: price_pass<3, true>(out, n, y0, R, y1, v, c, f, s); break;
                    default: price_pass<4, true>(out, n, y0, R, y1, v, c, f, s); break;
                }
            } else {
                switch (g) {
                    case 1: price_pass<1, false>(out, n, y0, R, y1, v, c, f, s); break;
                    case 2: price_pass<2, false>(out, n, y0, R, y1, v, c, f, s); break;
                    case 3: price_pass<3, false>(out, n, y0, R, y1, v, c, f, s); break;
                    default: price_pass<4, false>(out, n, y0, R, y1, v, c, f, s); break;
                }
            }
            r += g;
        } while (r < k);
    }

    // split._aim: of the candidates (`candidates`), the balls that rays from sub-cell j's deepest
    // ball (of `mine`; its extra rows `sub_rows`) are aimed at, at most kTargets, the most
    // promising first: on the segment to a centre, the depth in the cell is at least the radii's
    // interpolation (concave on a convex set), the sub-cell's extra rows and h_i are linear; the
    // score is the best over the grid between h_i and the centre of the least of the three (ties
    // in the candidates' order).
    std::vector<size_t> aim(size_t j, size_t n_sub, const std::vector<size_t>& start, const std::vector<size_t>& order,
                            const std::vector<int>& sub_rows, const Balls& W, const std::vector<size_t>& mine,
                            const std::vector<double>& vals, bool positive) {
        std::vector<size_t> Q = candidates(j, n_sub, start, order, positive);
        const double sgn = positive ? 1.0 : -1.0;
        size_t o = mine[0];
        for (size_t b : mine)
            if (W.R[b] > W.R[o]) o = b;
        const double vp = sgn * vals[o], Rp = W.R[o];
        const size_t nr = sub_rows.size();
        sp_.resize(nr);
        for (size_t e = 0; e < nr; ++e) sp_[e] = extra_slack(W, o, sub_rows[e]);
        scored_.clear();
        for (size_t b : Q) {
            const double vq = sgn * vals[b];
            const double t0 = std::min(std::max(vq > vp ? -vp / (vq - vp) : 0.0, 0.0), 1.0);
            double best = -kInf;
            for (double g : kRayGrid) {
                const double t = t0 + (1.0 - t0) * g;
                double sc = std::min((1 - t) * Rp + t * W.R[b], (1 - t) * vp + t * vq);
                for (size_t e = 0; e < nr; ++e) sc = std::min(sc, (1 - t) * sp_[e] + t * extra_slack(W, b, sub_rows[e]));
                best = std::isnan(sc) ? best : std::max(best, sc);
            }
            scored_.emplace_back(best, b);
        }
        std::stable_sort(scored_.begin(), scored_.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
        Q.clear();
        for (size_t q = 0; q < scored_.size() && q < static_cast<size_t>(kTargets); ++q) Q.push_back(scored_[q].second);
        return Q;
    }

    void values(const Balls& W, int i, std::vector<double>& vals) const {
        vals.resize(W.n());
        for (size_t b = 0; b < W.n(); ++b) vals[b] = dot(W.at(b), hn(i), d_) + gn(i);
    }

    // _Sides.find: a ball proving that side `side` of h_i counts in the sub-cell with the extra
    // rows `sub_rows` (its witness balls `mine` of W), or none; throws Deferred when unsure.
    Shot find(int i, bool side, const std::vector<int>& sub_rows, const Balls& W, const std::vector<size_t>& mine,
              const std::vector<double>& vals, const std::vector<size_t>& Q) {
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
        if (d_ >= kMixDim && !(st_.off & kOffMix)) {
            Shot mixed = mix(i, side, sub_rows, W, mine, vals, Q);
            if (!mixed.first.empty()) {
                if (counts(st_.tol, mixed.first.data(), d_, mixed.second / st_.borderline)) {
                    ++counts_.by_mix;
                    return mixed;
                }
                if (mixed.second > shot.second) shot = std::move(mixed);
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

    // witness_balls.mix_witness: the best mixture of W's balls on side `side` of h_i in the
    // sub-cell with the extra rows `sub_rows` (lp_mix.hpp): a convex combination of balls holds
    // the ball of the combined centre and radius (inside the cell and the box: convex), and the
    // sub-cell's extra rows and h_i are linear, so the least of (radius, the extra rows' slacks,
    // the distance to h_i), mixed, bounds the depth of the mixed centre. The game starts from the
    // sub-cell's own balls `mine` and the targets Q, and takes in, kMixRounds times at most, the
    // kMixAdd balls of W that improve it most (column generation); it stops once its value is
    // twice what proves the side (the centre's depth, certified like a ray's point, is the value
    // less rounding): a deeper centre would save later work, but at 784 inputs the rounds after
    // that cost more than it saves.
    Shot mix(int i, bool side, const std::vector<int>& sub_rows, const Balls& W, const std::vector<size_t>& mine,
             const std::vector<double>& vals, const std::vector<size_t>& Q) {
        const double sgn = side ? 1.0 : -1.0;
        bool far = false;  // (no ball beyond h_i: no mixture either)
        for (size_t b = 0; b < W.n() && !far; ++b) far = sgn * vals[b] > 0;
        if (!far) return {{}, -kInf};
        const int R = 2 + static_cast<int>(sub_rows.size());
        auto value = [&](int r, size_t b) {
            return r == 0 ? W.R[b] : r == 1 ? sgn * vals[b] : extra_slack(W, b, sub_rows[r - 2]);
        };
        ++stamp_;
        if (pooled_.size() < W.n()) pooled_.resize(W.n(), 0);
        pool_.clear();
        game_.reset(R);
        column_.resize(R);
        auto take = [&](size_t b) {  // (a ball into the game: its column)
            if (pooled_[b] == stamp_) return;
            pooled_[b] = stamp_;
            pool_.push_back(b);
            for (int r = 0; r < R; ++r) column_[r] = value(r, b);
            game_.add(column_.data());
        };
        for (size_t b : mine) take(b);
        for (size_t b : Q) take(b);
        Mixture g;
        for (int round = 0;; ++round) {
            g = game_.solve();
            if (!g.ok || g.value > enough_) break;  // (enough_: the centre counts; no deeper one sought)
            // the balls outside the game that beat the rows' mixture y: the kMixAdd best. No
            // mixture of W does better than the best of them (min_r (M l)_r <= y . M l): where
            // that is not above 0, no mixture proves the side.
            const double bar = g.value + 1e-12 * std::max(1.0, std::abs(g.value));
            double best = g.value;
            active_.clear();
            for (int r = 2; r < R; ++r)
                if (g.y[r] > 0) active_.push_back(r);
            const size_t nb = W.n();
            price_.resize(nb);
            double* price = price_.data();
            const double* Rb = W.R.data();
            const double* vb = vals.data();
            const double y0 = g.y[0], y1 = g.y[1] * sgn;
            cols_.clear();
            yf_.clear();
            ys_.clear();
            for (int r : active_) {  // row e: f_e - extra_sign(e) value
                const int e = sub_rows[r - 2];
                cols_.push_back(column(W, C_->m + e / 2));
                yf_.push_back(g.y[r] * f_[e]);
                ys_.push_back(g.y[r] * extra_sign(e));
            }
            price_balls(price, nb, y0, Rb, y1, vb, cols_, yf_, ys_);
            for (size_t b : pool_) price[b] = -kInf;  // (the game's own balls: not priced)
            double top = -kInf, val[kMixAdd];
            size_t idx[kMixAdd];
            const size_t add = best_above(price, nb, bar, kMixAdd, val, idx, top);  // (ties: the first)
            best = std::max(best, top);
            if (!(best > 0)) return {{}, -kInf};
            if (add == 0 || round == kMixRounds) break;
            for (size_t q = 0; q < add; ++q) take(idx[q]);
        }
        if (!g.ok || !(g.value > 0)) return {{}, -kInf};
        const int d = d_;
        std::vector<double> x(d, 0.0);
        for (size_t q = 0; q < pool_.size(); ++q) {
            const double l = g.lambda[q];
            if (l == 0.0) continue;
            const double* p = W.at(pool_[q]);
            for (int c = 0; c < d; ++c) x[c] += l * p[c];
        }
        for (int c = 0; c < d; ++c) x[c] = std::min(std::max(x[c], lo_[c]), hi_[c]);
        ++counts_.mixes;
        return certify(std::move(x), gather_rows(sub_rows), i, side);
    }

    // split._shoot over the cell's rows plus the extra rows `sub_rows`, from the deepest ball
    // (toward the targets Q, balls of W). The rows' values at balls and their products with the
    // hyperplanes' normals come from the split's caches (`ball_value`, `gram`): a ray costs O(d)
    // for its direction, not O(m d).
    Shot shoot(const std::vector<int>& sub_rows, const Balls& W, const std::vector<size_t>& mine,
               const std::vector<double>& vals, const std::vector<size_t>& Q, int i, bool positive) {
        const int d = d_;
        const Ctx& C = *C_;
        const double sgn = positive ? 1.0 : -1.0;
        size_t o = mine[0];
        for (size_t b : mine)
            if (W.R[b] > W.R[o]) o = b;
        const double* p = W.at(o);
        const double v = vals[o], Ro = W.R[o];
        const double* n = hn(i);
        const int m = gather_rows(sub_rows);
        const double* c = rows_c_.data();
        auto cached = [&](int j) { return j < C.m ? j : C.m + sub_rows[j - C.m] / 2; };  // a cache column
        auto sign_of = [&](int j) { return j < C.m ? 1.0 : extra_sign(sub_rows[j - C.m]); };
        std::vector<double> slack(m), at_p(m);
        for (int j = 0; j < m; ++j) {
            at_p[j] = sign_of(j) * ball_value(W, o, cached(j));
            slack[j] = c[j] - at_p[j];
        }
        // directions: the normal first, then toward each target (unit rows; a zero row stays zero)
        const size_t nq = 1 + Q.size();
        std::vector<double> U(nq * d), unorm(nq);
        for (int cc = 0; cc < d; ++cc) U[cc] = sgn * n[cc];
        for (size_t q = 0; q < Q.size(); ++q) {
            const double* x = W.at(Q[q]);
            for (int cc = 0; cc < d; ++cc) U[(q + 1) * d + cc] = x[cc] - p[cc];
        }
        for (size_t q = 0; q < nq; ++q) {
            const double nrm = norm2(&U[q * d], d);
            unorm[q] = nrm;
            if (nrm > 0) {
                const double inv = 1.0 / nrm;
                for (int cc = 0; cc < d; ++cc) U[q * d + cc] *= inv;
            }
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
            for (int j = 0; j < m; ++j) {  // a_j . u, from the caches
                const double nrm = unorm[q];
                if (!(nrm > 0)) au[j] = 0.0;
                else if (q == 0) au[j] = sgn * sign_of(j) * gram(i, cached(j)) / nrm;
                else au[j] = (sign_of(j) * ball_value(W, Q[q - 1], cached(j)) - at_p[j]) / nrm;
                if (au[j] > 0) t_e = std::min(t_e, slack[j] / au[j]);
            }
            t_e = std::min(t_e, box_exit(p, u));
            if (!(t_e < kInf)) t_e = t_c + 2 * std::max(std::abs(v), Ro);
            const double t_0 = std::max(t_c, 0.0);
            if (!(rate > 0 && t_e > t_0)) continue;
            double ts[3], dep[3];
            for (int gq = 0; gq < 3; ++gq) {
                ts[gq] = t_0 + (t_e - t_0) * kRayGrid[gq];
                dep[gq] = kInf;
                for (int j = 0; j < m; ++j) dep[gq] = std::min(dep[gq], slack[j] - au[j] * ts[gq]);
            }
            box_depths(p, u, ts, dep);
            for (int gq = 0; gq < 3; ++gq) {
                const double rho = std::min(dep[gq], (ts[gq] - t_c) * rate);
                if (!any || rho > best_rho) best_rho = rho, best_t = ts[gq], best_q = q, any = true;
            }
        }
        if (!any || !(best_rho > 0)) return {{}, -kInf};
        std::vector<double> x(d);
        for (int cc = 0; cc < d; ++cc) x[cc] = p[cc] + best_t * U[best_q * d + cc];
        return certify(std::move(x), m, i, positive);
    }

    // The rows of the sub-cell with the extra rows `sub_rows` into rows_p_ (not copied) and
    // rows_c_: the cell's, then the extra rows (E row e: the sign (e odd: +, even: -) times
    // hyperplane slot e / 2). Returns their number.
    int gather_rows(const std::vector<int>& sub_rows) {
        const Ctx& C = *C_;
        rows_p_.clear();
        rows_c_.assign(C.c.begin(), C.c.end());
        for (int j = 0; j < C.m; ++j) rows_p_.push_back(&C.A[static_cast<size_t>(j) * d_]);
        for (int q : sub_rows) {
            rows_p_.push_back(&E_[static_cast<size_t>(q) * d_]);
            rows_c_.push_back(f_[q]);
        }
        return static_cast<int>(rows_c_.size());
    }

    // (x, r) when x is certified r deep in the m rows gathered (`gather_rows`) and the box and
    // r from h_i on side `positive`, with r > 0 counting; else none.
    Shot certify(std::vector<double> x, int m, int i, bool positive) const {
        const int d = d_;
        const double* n = hn(i);
        const double g = gn(i), sgn = positive ? 1.0 : -1.0;
        double an = 0.0;
        for (int cc = 0; cc < d; ++cc) an += std::abs(n[cc]) * std::abs(x[cc]);
        const double to_h = sgn * (dot(n, x.data(), d) + g) - gamma_of(net_, d + 1) * (an + std::abs(g));
        const double depth =
            certified_margin(rows_p_.data(), rows_c_.data(), lo_.data(), hi_.data(), x.data(), m, d, net_.error_factor);
        const double r = std::min(depth, to_h);
        if (r > 0 && counts(st_.tol, x.data(), d, r)) return {std::move(x), r};
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
    double enough_ = kInf;  // `mix`: a game value that proves the side (twice the borderline)
    std::vector<int> slot_;
    std::vector<double> E_, f_, cen_, rows_c_, sp_;
    std::vector<std::pair<double, size_t>> scored_;  // (score, ball) of `aim`
    std::vector<int> parent_, bfs_;                  // the sub-cells' tree (`candidates`)
    std::vector<int> first_kid_, last_kid_, next_kid_;  // ... each one's children, in order
    std::vector<int8_t> side_;                       // `candidates`: the side of h_i of W's balls by owner
    std::vector<uint32_t> seen_;                     // visited in the search with this stamp
    std::vector<uint32_t> pooled_;                   // in the game of `mix` with this stamp
    std::vector<size_t> pool_;                       // `mix`: the game's balls
    MixtureGame game_;                               // `mix`: the game (from its last optimum)
    std::vector<double> column_;                     // `mix`: a ball's column of it
    std::vector<int> active_;                        // `mix`: its extra rows of positive weight
    std::vector<double> price_;                      // `mix`: each ball against the rows' mixture
    std::vector<const double*> cols_;                // `mix`: the columns of the game's active rows
    std::vector<double> yf_, ys_;                    // `mix`: their weights (price_balls)
    std::vector<size_t> filled_;                     // `column`: rv_[j]'s entries below filled_[j] known
    uint32_t stamp_ = 0;
    std::vector<const double*> rows_p_;
    std::vector<int> todo_;                // the split's hyperplanes by slot
    std::vector<double> gram_;             // slots x cache columns (`gram`); NaN: not yet
    std::vector<std::vector<double>> rv_;  // the caches' columns (the cell's rows, the split's hyperplanes)
                                           // over W's balls (`ball_value`)
    std::vector<uint8_t> on_mask_;
    std::vector<std::vector<int>> certs_[2];
};

}  // namespace lp_detail
}  // namespace nncells
