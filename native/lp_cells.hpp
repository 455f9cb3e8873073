// LP mode's cells (lp_mode.hpp): what a split shares with its children, the rows of a cell, ranks,
// and the small helpers of the contract. Internal to lp_mode.cpp (and lp_decide.hpp, lp_split.hpp).
#pragma once
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "linalg.hpp"
#include "pullback.hpp"

namespace nncells {
namespace lp_detail {

using Clock = std::chrono::steady_clock;
constexpr double kInf = std::numeric_limits<double>::infinity();

struct Deferred {};  // thrown by a split whose decision the shrunk-box LP cannot settle

inline double max_abs(const double* x, int d) {
    double m = 0.0;
    for (int c = 0; c < d; ++c) m = std::max(m, std::abs(x[c]));
    return m;
}

// contract.Rule.witness: a ball counts when its radius exceeds tol ||centre||_inf.
inline bool counts(double tol, const double* x, int d, double r) { return r > tol * max_abs(x, d); }

// box_depth.box_reach: the box's largest coordinate in absolute value
inline double box_reach(const std::vector<double>& lo, const std::vector<double>& hi) {
    double reach = 0.0;
    for (size_t j = 0; j < lo.size(); ++j) reach = std::max({reach, std::abs(lo[j]), std::abs(hi[j])});
    return reach;
}

// norms.power_of_two
inline double power_of_two(double v) { return v > 0 && std::isfinite(v) ? std::exp2(std::nearbyint(std::log2(v))) : 1.0; }

// A region's rows and its next layer's pull-back, shared by the children of its split.
struct Ctx {
    LayerPtr L;                  // the layer being split: pattern and ranks so far, pull-back
    std::vector<uint8_t> cuts;   // per neuron of L->pattern
    int m = 0;                   // the region's rows A x <= c (unit rows; m x d)
    std::vector<double> A, c;
    std::vector<int8_t> basis;   // a final basis of a shrunk-box LP over exactly these rows (empty: none)
};
using CtxPtr = std::shared_ptr<const Ctx>;

// Append the oriented unit rows of layer L's neurons that cut a cell with signs `s` (split._rows,
// Problem.unpack): h >= 0 (active) as -h x <= g, h <= 0 as h x <= -g, over the raw row's norm.
inline void append_cut_rows(const Layer& L, int d, const uint8_t* s, const uint8_t* cut, Ctx& C) {
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
inline void masked(const Layer& L, int d, const uint8_t* s, std::vector<double>& M, std::vector<double>& m,
            std::vector<double>& Mabs) {
    M = L.H;
    m = L.g;
    Mabs = L.Habs;
    mask(std::vector<uint8_t>(s, s + L.k), d, M, m, Mabs);
}

// tasks._rank: the rank of the k x d map (numpy.linalg.matrix_rank; zero rows dropped, a wide
// map reduced to its rows' triangular factor: the tolerance's max(rows, cols) is d either way).
inline int64_t rank_of(const std::vector<double>& M, int k, int d) { return matrix_rank(M.data(), k, d); }

}  // namespace lp_detail
}  // namespace nncells
