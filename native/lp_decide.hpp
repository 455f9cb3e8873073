// LP mode's shrunk-box decisions (box_depth.BoxDepth): one LP per question, its "yes" a witness
// point and its "no" a Farkas bound, both checked in float64. Internal to lp_mode.cpp.
#pragma once
#include <unordered_map>
#include <vector>

#include "lp.hpp"
#include "lp_cells.hpp"
#include "lp_mode.hpp"

namespace nncells {
namespace lp_detail {

constexpr int kDeepenGrid = 33;  // box_depth._GRID: linspace(0, 1, 33)

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
        // A "no" needs only a dual bound below 0: the solver stops there (about a third of the
        // iterations of the LPs that end in a "no"). Where that bound's certificate does not
        // verify, the same LP runs on to its optimum, whose duals are the best certificate.
        if (!(off_ & kOffCutoff)) opt.cutoff = -lp_tol_;
        BoxLpResult res = solve_box_lp(lp, warm.empty() ? nullptr : warm.data(), opt);
        counts_.lp_solves += 1;
        counts_.iterations += res.iterations;
        if (res.warm) counts_.warm_iterations += res.iterations, counts_.warm += 1;
        if (res.status == LpStatus::Cutoff) {
            if (!(off_ & kOffCutoffProof) && refuted(res.y, on, support)) {
                keep_basis(on, head, res.basis);
                return No;
            }
            opt.cutoff = -1e300;
            BoxLpResult rest = solve_box_lp(lp, res.basis.data(), opt);
            counts_.iterations += rest.iterations;
            res = std::move(rest);
        }
        keep_basis(on, head, res.basis);
        if (res.status != LpStatus::Optimal) return Unsure;
        x.resize(d);
        for (int j = 0; j < d; ++j) x[j] = std::min(std::max(res.x[j] * unit_, lo_[j]), hi_[j]);
        r = (off_ & kOffWitness) ? 0.0 : margin(x.data());
        if (r > tol_ * max_abs(x.data(), d)) {
            const size_t n = std::min<size_t>(anchors.empty() ? 1 : anchors.size(), 4);
            for (size_t a = 0; a < n; ++a) deepen(x, r, anchors.empty() ? deep_ : anchors[a]);
            return Yes;
        }
        return refuted(res.y, on, support) ? No : Unsure;
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
    // Whether the duals y (of the current rows) verify as a Farkas certificate: then `support`
    // holds the extra rows `on` it needs.
    bool refuted(const std::vector<double>& y, const std::vector<int>& on, std::vector<int>& support) const {
        if (off_ & kOffFarkas) return false;
        const int m = static_cast<int>(c_.size());
        auto fb = farkas_bound(A_.data(), c_.data(), lo_.data(), hi_.data(), y.data(), m, d_, ef_);
        if (!(fb.first + fb.second <= 0)) return false;
        for (size_t i = 0; i < on.size(); ++i)
            if (y[C_.m + i] != 0.0) support.push_back(on[i]);
        return true;
    }

    // The final basis of the LP over the extra rows `on` (its head: all but the last), kept as
    // a warm start for later LPs of this split.
    void keep_basis(const std::vector<int>& on, const std::vector<int>& head, std::vector<int8_t>& basis) {
        if (basis.size() != static_cast<size_t>(d_ + 1) + c_.size()) return;
        if (basis.back() == kBasic) sibling_[head] = basis;
        bases_[on] = std::move(basis);
    }

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
        // Only lines that can be least somewhere on [0, 1] matter: none whose least value there
        // exceeds U, the least of the lines' greatest values (the minimum never exceeds it).
        double U = kInf;
        for (size_t i = 0; i < sx_.size(); ++i) U = std::min(U, std::max(sx_[i], sx_[i] + slope_[i]));
        const double keep_below = U + 1e-9 * std::abs(U);  // (rounding of the grid's values)
        size_t kept = 0;
        for (size_t i = 0; i < sx_.size(); ++i) {
            const bool keep = !(std::min(sx_[i], sx_[i] + slope_[i]) > keep_below);  // (NaN kept)
            sx_[kept] = sx_[i];
            slope_[kept] = slope_[i];
            kept += keep;
        }
        sx_.resize(kept);
        slope_.resize(kept);
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
    struct RowsHash {  // (FNV-1a over the row indices)
        size_t operator()(const std::vector<int>& v) const {
            uint64_t h = 1469598103934665603ull;
            for (int x : v) h = (h ^ static_cast<uint32_t>(x)) * 1099511628211ull;
            return static_cast<size_t>(h);
        }
    };
    std::unordered_map<std::vector<int>, std::vector<int8_t>, RowsHash> bases_, sibling_;
};

}  // namespace lp_detail
}  // namespace nncells
