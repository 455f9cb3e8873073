// See lp_mode.hpp. Each step mirrors a function of the numpy twin, named in the comments; the
// split is lp_split.hpp, its LPs lp_decide.hpp, the cells' helpers lp_cells.hpp.
#include "lp_mode.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>

#include "lp_cells.hpp"
#include "lp_ranks.hpp"
#include "lp_split.hpp"

namespace nncells {
namespace {

using namespace lp_detail;

// A task on the stack: when `parent` is set, the task is a child of that split and its rows and
// map are the parent's plus one step (else they are rebuilt from the pattern).
struct Node {
    LpTask t;
    CtxPtr parent;
};

class LpRefiner {
public:
    LpRefiner(const Net& net, const LpSettings& st, const std::vector<double>& lo, const std::vector<double>& hi)
        : net_(net), st_(st), lo_(lo), hi_(hi), n_layers_(static_cast<int>(net.widths.size())),
          splitter_(net, st, lo, hi, out.counts), ranks_(net) {
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
            int64_t rank = (st_.off & kOffReducedRanks) ? -1 : ranks_.rank(net_, layer, L.pattern.data(), kid.signs.data());
            if (rank >= 0) {
                ++out.counts.ranks_reduced;
            } else {  // numpy's matrix_rank of the map itself
                masked(L, d, kid.signs.data(), M, m, Mabs);
                rank = rank_of(M, L.k, d);
            }
            LpTask t;
            t.layer = layer + 1;
            t.pattern = L.pattern;
            t.pattern.insert(t.pattern.end(), kid.signs.begin(), kid.signs.end());
            t.ranks = L.ranks;
            t.ranks.push_back(rank);
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
        out.points.append(t.point.data(), t.point.size());
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
    ReducedRanks ranks_;
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
