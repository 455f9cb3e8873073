// See vertex.hpp. Each step mirrors a function of the numpy twin, named in the comments.
#include "vertex.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <utility>

#include "facets.hpp"
#include "linalg.hpp"
#include "pullback.hpp"

namespace nncells {
namespace {

using Clock = std::chrono::steady_clock;
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Item {
    LayerPtr L;
    Cell cell;
    std::vector<uint8_t> signs;
    std::vector<int64_t> rest;
};

bool witness(const Rule& rule, const double* x, int d, double radius) {
    int n = d;
    if (rule.lifted_d >= 0) {
        n = rule.lifted_d;
        if (!(x[n] > 0.0)) return false;
    }
    double mx = 0.0;
    for (int i = 0; i < n; ++i) mx = std::max(mx, std::abs(x[i]));
    return radius > rule.tol * mx;
}

// Population count without the popcnt instruction (not in the x86-64 baseline the wheel targets).
inline int popcount64(uint64_t x) {
    x = x - ((x >> 1) & 0x5555555555555555ULL);
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
    return static_cast<int>((x * 0x0101010101010101ULL) >> 56);
}

inline int popcount_and(const uint64_t* a, const uint64_t* b, int words) {
    int n = 0;
    for (int w = 0; w < words; ++w) {
        const uint64_t x = a[w] & b[w];
        if (x) n += popcount64(x);
    }
    return n;
}

// Do vertices a and b (common active half-spaces `common` >= d - 1) span an edge (vertex._edges)?
// Iff the face of their shared half-spaces holds no other vertex: combinatorial, no threshold.
// Two simple vertices (d half-spaces each, independent as a vertex's are) sharing d - 1 always do.
bool spans_edge(const Cell& S, int d, int a, int b, int common, bool simple, std::vector<uint64_t>& shared) {
    if (d == 2 || (simple && common == d - 1)) return true;
    const uint64_t* aa = &S.act[static_cast<size_t>(a) * S.words];
    const uint64_t* bb = &S.act[static_cast<size_t>(b) * S.words];
    shared.resize(S.words);
    for (int w = 0; w < S.words; ++w) shared[w] = aa[w] & bb[w];
    for (int v = 0; v < S.nv; ++v) {
        if (v == a || v == b) continue;
        const uint64_t* vv = &S.act[static_cast<size_t>(v) * S.words];
        bool holds = true;
        for (int w = 0; w < S.words && holds; ++w) holds = (vv[w] & shared[w]) == shared[w];
        if (holds) return false;
    }
    return true;
}

// A child's interior ball: the vertex centroid and its depth (vertex._child, without the LP).
void centre(Cell& C, int d) {
    C.point.assign(d, 0.0);
    for (int v = 0; v < C.nv; ++v)
        for (int c = 0; c < d; ++c) C.point[c] += C.V[v * d + c];
    for (int c = 0; c < d; ++c) C.point[c] /= C.nv;
    double r = kInf;
    for (int i = 0; i < C.R; ++i) {
        double s = C.c[i];
        for (int c = 0; c < d; ++c) s -= C.A[i * d + c] * C.point[c];
        r = std::min(r, s);
    }
    C.radius = r;
}

// Where h x + g crosses the edge between vertices a and b of S (values vals[a] < 0 < vals[b] or
// the reverse), and the crossing's magnitudes coordinate by coordinate (vertex.crossings):
// interpolated from the end with the smaller |f|; max(mag_a, |x|) plus the error of the position
// along the edge from the errors of f_a and f_b, at most max(mag_a, mag_b).
void crossing(const Cell& S, int d, int a, int b, const double* vals, const double* habs, double gabs, double* x,
              double* mag) {
    if (std::abs(vals[b]) < std::abs(vals[a])) std::swap(a, b);
    const double fa = vals[a], fb = vals[b], s = fa / (fa - fb);
    const double* va = &S.V[static_cast<size_t>(a) * d];
    const double* vb = &S.V[static_cast<size_t>(b) * d];
    const double* ma = &S.vmag[static_cast<size_t>(a) * d];
    const double* mb = &S.vmag[static_cast<size_t>(b) * d];
    double ea = 0.0, eb = 0.0;
    for (int c = 0; c < d; ++c) {
        ea += ma[c] * habs[c];
        eb += mb[c] * habs[c];
    }
    ea += gabs;
    eb += gabs;
    const double along = (ea + s * eb) / std::abs(fb - fa);
    for (int c = 0; c < d; ++c) {
        x[c] = va[c] + s * (vb[c] - va[c]);
        const double m = std::max(ma[c], std::abs(x[c])) + std::abs(x[c] - va[c]) + std::abs(vb[c] - va[c]) * along;
        mag[c] = std::min(m, std::max(ma[c], mb[c]));
    }
}

struct Scratch {
    std::vector<double> vals, first, err, vmax;
    std::vector<uint64_t> shared;
    std::vector<int> neg, pos;
    std::vector<uint8_t> simple;  // per vertex: exactly d half-spaces
    std::vector<int8_t> side;  // per vertex of the clipped cell: -1, 0 (on h within its bound), +1
    std::vector<std::pair<int, int>> edges;
};

// The two children of S cut by the unit hyperplane h x + g = 0 (vertex._clip); `vals` are h x + g
// at S's vertices, `err` their error bounds. Returns false when a child fails its witness (an LP
// must decide: the split is handed back).
// `label`: the new row's label (facets mode, Cell::label).
bool clip(const Cell& S, int d, const double* h, const double* habs, double g, const double* vals,
          const double* err, const Rule& rule, Scratch& w, Cell& plus, Cell& minus, int64_t label) {
    w.neg.clear();
    w.pos.clear();
    w.side.assign(S.nv, 0);
    for (int v = 0; v < S.nv; ++v) {
        if (vals[v] < -err[v]) {
            w.neg.push_back(v);
            w.side[v] = -1;
        } else if (vals[v] > err[v]) {
            w.pos.push_back(v);
            w.side[v] = 1;
        }
    }
    const int n_on = S.nv - static_cast<int>(w.neg.size() + w.pos.size());
    w.edges.clear();
    w.simple.resize(S.nv);
    for (int v = 0; v < S.nv; ++v) {
        const uint64_t* vv = &S.act[static_cast<size_t>(v) * S.words];
        w.simple[v] = popcount_and(vv, vv, S.words) == d;
    }
    for (int a : w.neg) {
        const uint64_t* aa = &S.act[static_cast<size_t>(a) * S.words];
        for (int b : w.pos) {
            const uint64_t* bb = &S.act[static_cast<size_t>(b) * S.words];
            const int common = popcount_and(aa, bb, S.words);
            if (common >= d - 1 && spans_edge(S, d, a, b, common, w.simple[a] && w.simple[b], w.shared))
                w.edges.emplace_back(a, b);
        }
    }
    const int R = S.R + 1, words = (R + 63) / 64, nx = static_cast<int>(w.edges.size());
    const int bitw = S.R / 64;
    const uint64_t bit = uint64_t(1) << (S.R % 64);
    for (int side = 0; side < 2; ++side) {
        const bool positive = side == 0;
        Cell& C = positive ? plus : minus;
        const int8_t away = positive ? -1 : 1;  // the side this child drops
        C.R = R;
        C.words = words;
        C.A.assign(S.A.begin(), S.A.end());
        C.c.assign(S.c.begin(), S.c.end());
        for (int c = 0; c < d; ++c) C.A.push_back(positive ? -h[c] : h[c]);
        C.c.push_back(positive ? g : -g);
        C.label.assign(S.label.begin(), S.label.end());
        C.shared.assign(S.shared.begin(), S.shared.end());
        if (!S.label.empty()) {
            C.label.push_back(label);
            C.shared.push_back(0);
        }
        C.along = S.along;
        // old vertices (kept side or on h) in their original order, then the new ones
        C.nv = static_cast<int>((positive ? w.pos : w.neg).size()) + n_on + nx;
        C.V.resize(static_cast<size_t>(C.nv) * d);
        C.act.assign(static_cast<size_t>(C.nv) * words, 0);
        C.vmag.resize(static_cast<size_t>(C.nv) * d);
        int o = 0;
        for (int v = 0; v < S.nv; ++v) {
            if (w.side[v] == away) continue;
            const bool on = w.side[v] == 0;
            std::copy(&S.V[static_cast<size_t>(v) * d], &S.V[static_cast<size_t>(v) * d] + d, &C.V[static_cast<size_t>(o) * d]);
            std::copy(&S.act[static_cast<size_t>(v) * S.words], &S.act[static_cast<size_t>(v) * S.words] + S.words,
                      &C.act[static_cast<size_t>(o) * words]);
            if (on) C.act[static_cast<size_t>(o) * words + bitw] |= bit;
            std::copy(&S.vmag[static_cast<size_t>(v) * d], &S.vmag[static_cast<size_t>(v) * d] + d,
                      &C.vmag[static_cast<size_t>(o) * d]);
            ++o;
        }
        for (const auto& e : w.edges) {
            crossing(S, d, e.first, e.second, vals, habs, std::abs(g), &C.V[static_cast<size_t>(o) * d],
                     &C.vmag[static_cast<size_t>(o) * d]);
            uint64_t* dst = &C.act[static_cast<size_t>(o) * words];
            for (int q = 0; q < S.words; ++q)
                dst[q] = S.act[static_cast<size_t>(e.first) * S.words + q] & S.act[static_cast<size_t>(e.second) * S.words + q];
            dst[bitw] |= bit;
            ++o;
        }
        centre(C, d);
        if (!witness(rule, C.point.data(), d, C.radius)) return false;
    }
    return true;
}

class Refiner {
  public:
    Refiner(const Net& net, const Rule& rule, bool facets)
        : net_(net), rule_(rule), L_(static_cast<int>(net.widths.size())), facets_(facets) {
        out.per_layer.assign(L_, 0);
        offset_.assign(L_ + 1, 0);
        for (int l = 0; l < L_; ++l) offset_[l + 1] = offset_[l] + net.widths[l];
        if (facets_) out.facet_start.push_back(0);
    }

    void push_task(Task& t) {
        const int d = static_cast<int>(t.cell.point.size());
        Item it;
        it.L = layer_from_pattern(net_, t.layer, d, rule_.lifted_d, t.pattern, t.ranks);
        it.cell = std::move(t.cell);
        if (facets_) {  // labels as given (vertex.hpp, Cell::label), or decided here
            Cell& C = it.cell;
            C.along = false;
            if (C.label.size() == static_cast<size_t>(C.R)) {
                for (int64_t& x : C.label)
                    if (x == kAlongLabel) {
                        C.along = true;
                        x = kUnknownLabel;
                    }
            } else {  // the root's rows are the domain's; any other task's are of unknown origin
                const bool root = t.layer == 0 && t.fresh;
                C.label.resize(C.R);
                for (int r = 0; r < C.R; ++r) C.label[r] = root ? -1 - r : kUnknownLabel;
            }
            C.shared.assign(C.R, 0);
        } else {
            it.cell.label.clear();
            it.cell.shared.clear();
        }
        if (t.fresh) {
            fresh_split(*it.L, it.signs, it.rest);
        } else {
            it.signs = std::move(t.signs);
            it.rest = std::move(t.rest);
        }
        stack_.push_back(std::move(it));
    }

    void run(double budget_s) {
        const auto t_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(std::min(budget_s, 1e9)));
        int64_t done = 0;
        while (!stack_.empty()) {
            if (done > 0 && (done & 15) == 0 && Clock::now() > t_end) break;
            Item it = std::move(stack_.back());
            stack_.pop_back();
            step(std::move(it));
            ++done;
        }
        for (auto& it : stack_) out.pending.push_back(to_task(std::move(it)));
        stack_.clear();
    }

    Output out;

  private:
    Task to_task(Item&& it) {
        Task t;
        t.layer = it.L->layer;
        t.pattern = it.L->pattern;
        t.ranks = it.L->ranks;
        t.cell = std::move(it.cell);
        if (facets_) {  // `shared` and `along` travel in the labels (vertex.hpp, Cell::label)
            Cell& C = t.cell;
            for (int r = 0; r < C.R; ++r)
                if (C.along) C.label[r] = kAlongLabel;
                else if (C.shared[r]) C.label[r] = kUnknownLabel;
        }
        t.fresh = false;
        t.signs = std::move(it.signs);
        t.rest = std::move(it.rest);
        return t;
    }

    // One sub-cell: decide every undecided neuron from the vertices, clip by the first that cuts
    // (vertex._split), or finish the layer when none does.
    void step(Item&& it) {
        const Layer& L = *it.L;
        Cell& S = it.cell;
        const int d = static_cast<int>(S.point.size());
        const double gam = gamma_of(net_, d + 1);
        w_.vmax.assign(d, 0.0);  // the vertices' largest magnitudes, coordinate by coordinate
        for (int v = 0; v < S.nv; ++v)
            for (int c = 0; c < d; ++c) w_.vmax[c] = std::max(w_.vmax[c], S.vmag[static_cast<size_t>(v) * d + c]);
        std::vector<uint8_t> s = it.signs;
        std::vector<int64_t> cut;
        int64_t first = -1;
        w_.vals.resize(S.nv);
        for (int64_t i : it.rest) {
            const double* h = &L.Hn[i * d];
            const double g = L.gn[i];
            double lo = kInf, hi = -kInf;
            for (int v = 0; v < S.nv; ++v) {
                double x = 0.0;
                const double* p = &S.V[static_cast<size_t>(v) * d];
                for (int c = 0; c < d; ++c) x += p[c] * h[c];
                x += g;
                w_.vals[v] = x;
                lo = std::min(lo, x);
                hi = std::max(hi, x);
            }
            double e = std::abs(g);
            const double* ha = &L.Ha[i * d];
            for (int c = 0; c < d; ++c) e += w_.vmax[c] * ha[c];
            const double err = gam * e;  // at least every vertex's own bound
            bool some_neg = lo < -err, some_pos = hi > err;  // a vertex clearly on that side, for certain
            if ((lo < 0.0 && !some_neg) || (hi > 0.0 && !some_pos)) {
                // a vertex within the cell's bound may still clear its own (vertex._split)
                for (int v = 0; v < S.nv && !(some_neg && some_pos); ++v) {
                    double ev = std::abs(g);
                    const double* mv = &S.vmag[static_cast<size_t>(v) * d];
                    for (int c = 0; c < d; ++c) ev += mv[c] * ha[c];
                    ev *= gam;
                    some_neg = some_neg || w_.vals[v] < -ev;
                    some_pos = some_pos || w_.vals[v] > ev;
                }
            }
            bool pos = some_pos && !some_neg;
            const bool neg = !some_pos;
            if (!some_pos && !some_neg) {  // within rounding of the whole cell: its sign at the point
                double x = g;
                for (int c = 0; c < d; ++c) x += S.point[c] * h[c];
                pos = x > 0.0;
            }
            if (facets_ && (pos || neg)) mark_along(S, d, lo >= -err && hi <= err, err);
            if (pos) {
                s[i] = 1;
            } else if (neg) {
                s[i] = 0;
            } else if (first < 0) {
                first = i;
                w_.first.assign(w_.vals.begin(), w_.vals.end());
            } else {
                cut.push_back(i);
            }
        }
        if (first < 0) {
            finish_layer(it.L, std::move(S), std::move(s));
            return;
        }
        w_.err.resize(S.nv);
        const double* ha = &L.Ha[first * d];
        for (int v = 0; v < S.nv; ++v) {
            double e = std::abs(L.gn[first]);
            for (int c = 0; c < d; ++c) e += S.vmag[static_cast<size_t>(v) * d + c] * ha[c];
            w_.err[v] = gam * e;
        }
        Cell plus = take(), minus = take();
        if (!clip(S, d, &L.Hn[first * d], ha, L.gn[first], w_.first.data(), w_.err.data(), rule_, w_, plus, minus,
                  offset_[L.layer] + first)) {
            give(std::move(plus));
            give(std::move(minus));
            out.deferred.push_back(to_task(std::move(it)));  // an LP decides (numpy backend)
            return;
        }
        give(std::move(S));
        Item m{it.L, std::move(minus), s, cut};
        m.signs[first] = 0;
        Item p{it.L, std::move(plus), std::move(s), std::move(cut)};
        p.signs[first] = 1;
        stack_.push_back(std::move(m));
        stack_.push_back(std::move(p));
    }

    // Facets mode: a neuron that does not cut S (its values w_.vals) may lie along a facet of S;
    // mark that facet's rows (in a lifted problem, not the box's: no boundary of the whole space).
    void mark_along(Cell& S, int d, bool flat, double err) {
        if (S.along) return;
        const int a = flat ? 2 : along_facet(S, d, w_.vals.data(), err, fw_);
        if (a == 2) S.along = true;
        if (a != 1) return;
        for (int j : fw_.rows)
            if (rule_.lifted_d < 0 || S.label[j] >= 0 || S.label[j] == kUnknownLabel) S.shared[j] = 1;
    }

    // A sub-cell with every neuron of its layer decided is a region of that layer (tasks._children).
    void finish_layer(const LayerPtr& Lp, Cell&& cell, std::vector<uint8_t>&& s) {
        const Layer& L = *Lp;
        const int d = static_cast<int>(cell.point.size());
        out.per_layer[L.layer] += 1;
        std::vector<double> M = L.H, m = L.g, Mabs = L.Habs;
        mask(s, d, M, m, Mabs);
        std::vector<int64_t> ranks = L.ranks;
        ranks.push_back(matrix_rank(M.data(), L.k, d));
        std::vector<uint8_t> pattern = L.pattern;
        pattern.insert(pattern.end(), s.begin(), s.end());
        if (L.layer + 1 == L_) {
            out.patterns.insert(out.patterns.end(), pattern.begin(), pattern.end());
            if (rule_.lifted_d >= 0) {
                emit_lifted(cell);
            } else {
                out.points.insert(out.points.end(), cell.point.begin(), cell.point.end());
                out.radii.push_back(cell.radius);
            }
            out.ranks.insert(out.ranks.end(), ranks.begin(), ranks.end());
            out.n += 1;
            if (facets_) {
                const bool unknown = cell_facets(cell, d, 0, out.facet_group, out.facet_label, fw_);
                out.facet_start.push_back(static_cast<int64_t>(out.facet_group.size()));
                out.facet_flag.push_back(unknown || cell.along);
            }
            give(std::move(cell));
            return;
        }
        Item it;
        it.L = make_layer(net_, L.layer + 1, d, rule_.lifted_d, std::move(pattern), std::move(ranks), M, m, Mabs);
        it.cell = std::move(cell);
        fresh_split(*it.L, it.signs, it.rest);
        stack_.push_back(std::move(it));
    }

    // A lifted cell's region in x = y / t (engine.lifting.LiftedRule): its point and its depth
    // there, over the cut rows a y + a_t t <= 0 read as a x <= -a_t (the box's rows come first).
    void emit_lifted(const Cell& cell) {
        const int n = rule_.lifted_d, d = n + 1, n_box = 2 * d;
        const double t = cell.point[n];
        double r = kInf;
        for (int c = 0; c < n; ++c) out.points.push_back(cell.point[c] / t);
        const double* x = &out.points[out.points.size() - n];
        for (int i = n_box; i < cell.R; ++i) {
            const double* a = &cell.A[static_cast<size_t>(i) * d];
            const double at = -a[n];
            double ax = 0.0;
            for (int c = 0; c < n; ++c) ax += a[c] * x[c];
            const double nrm = norm2(a, n);
            if (nrm == 0.0) continue;  // a row on t alone (LiftedRule._down)
            r = std::min(r, (at - ax) / nrm);
        }
        out.radii.push_back(r);
    }

    // Cells are recycled: their vectors keep their capacity, so a clip allocates nothing.
    Cell take() {
        if (pool_.empty()) return Cell{};
        Cell c = std::move(pool_.back());
        pool_.pop_back();
        return c;
    }
    void give(Cell&& c) {
        if (pool_.size() < 64) pool_.push_back(std::move(c));
    }

    const Net& net_;
    const Rule& rule_;
    const int L_;
    const bool facets_;
    std::vector<int64_t> offset_;  // global index of each layer's first neuron
    FacetScratch fw_;
    std::vector<Item> stack_;
    std::vector<Cell> pool_;
    Scratch w_;
};

}  // namespace

Output refine(const Net& net, const Rule& rule, std::vector<Task>& tasks, double budget_s, bool facets) {
    Refiner r(net, rule, facets);
    for (auto it = tasks.rbegin(); it != tasks.rend(); ++it) r.push_task(*it);
    r.run(budget_s);
    return std::move(r.out);
}

}  // namespace nncells
