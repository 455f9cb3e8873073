// The ranks of LP mode's regions from their patterns alone, without the k x d map (tasks._rank).
// Internal to lp_mode.cpp.
//
// On a region the map to hidden layer l's output is M = X W_0, X = D_l W_l ... D_1 W_1 D_0
// (D_i the pattern's 0/1 diagonals). Keeping only the active units, X is the p x q matrix
// W_l[act_l, act_(l-1)] ... W_1[act_1, act_0] (q active units in layer 0, p in layer l) and M
// = X W_0[act_0]. Where W_0 has full row rank so has W_0[act_0] (deleting rows never lowers the
// least singular value of a matrix of full row rank), and rank(M) = rank(X): when X's least
// singular value is far from 0 (below), the rank is min(p, q), the exact rank of the region's map.
// Otherwise (a first layer wider than the input or nearly dependent, an X nearly rank-deficient)
// the caller computes numpy's matrix_rank of the map itself, as before. At 784 inputs this replaces
// a Householder factor of a k x 784 matrix by the singular values of at most k x k numbers.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "linalg.hpp"
#include "lp_cells.hpp"
#include "vertex.hpp"

namespace nncells {
namespace lp_detail {

// How far from rank-deficient X and W_0 must be, relatively (least over largest singular value,
// less the rounding of X, times W_0's): numpy's threshold is max(k, d) eps (about 1.7e-13 at
// 784 inputs); a margin this wide leaves any rounding of the map or of its factor far below it.
constexpr double kRankGap = 1e-6;
// The widest first layer read this way: W_1's singular values (once a call) and X's (once a
// region) by Jacobi rotations stay cheap; wider layers keep the map's own rank.
constexpr int kMaxFirstWidth = 32;

class ReducedRanks {
public:
    explicit ReducedRanks(const Net& net) {
        if (net.widths.empty()) return;
        const int n0 = net.widths[0], d = net.d;
        if (n0 == 0 || n0 > d || n0 > kMaxFirstWidth) return;
        std::vector<double> u(net.W[0].begin(), net.W[0].end());
        for (double v : u)
            if (!std::isfinite(v)) return;
        u = row_factor(u, n0, d);
        const std::vector<double> sv = singular_values(u.data(), n0, n0);
        const double smax = *std::max_element(sv.begin(), sv.end()), smin = *std::min_element(sv.begin(), sv.end());
        if (!(smax > 0) || !std::isfinite(smax)) return;
        w0_ratio_ = smin / smax;
        ok_ = w0_ratio_ > kRankGap;
    }

    // The rank of the map to layer l's output on the region whose layers 0..l-1 have the signs
    // `before` (concatenated) and layer l the signs `last`; -1 when it cannot be decided here.
    int64_t rank(const Net& net, int l, const uint8_t* before, const uint8_t* last) {
        if (!ok_) return -1;
        auto bits = [&](int layer) { return layer == l ? last : before + offset(net, layer); };
        act_.clear();  // act0
        for (int j = 0; j < net.widths[0]; ++j)
            if (bits(0)[j]) act_.push_back(j);
        const int q = static_cast<int>(act_.size());
        if (l == 0 || q == 0) return q;  // X = the q x q identity (or empty)
        // X over the active units, layer by layer, with a bound on its rounding (spectral <= Frobenius)
        X_.assign(static_cast<size_t>(q) * q, 0.0);
        for (int a = 0; a < q; ++a) X_[static_cast<size_t>(a) * q + a] = 1.0;
        std::vector<int> prev = act_;
        double err = 0.0;
        for (int k = 1; k <= l; ++k) {
            const int in = net.in_dim(k), wk = net.widths[k];
            const uint8_t* s = bits(k);
            cur_.clear();
            for (int i = 0; i < wk; ++i)
                if (s[i]) cur_.push_back(i);
            const int p = static_cast<int>(cur_.size());
            if (p == 0) return 0;
            Y_.assign(static_cast<size_t>(p) * q, 0.0);
            double absprod = 0.0, wnorm = 0.0;
            for (int r = 0; r < p; ++r) {
                const double* w = &net.W[k][static_cast<size_t>(cur_[r]) * in];
                for (size_t t = 0; t < prev.size(); ++t) {
                    const double v = w[prev[t]];
                    wnorm += v * v;
                    if (v == 0.0) continue;
                    const double* x = &X_[t * q];
                    for (int c = 0; c < q; ++c) Y_[static_cast<size_t>(r) * q + c] += v * x[c];
                }
                if (k > 1) {  // the rounding of this row: gamma(terms) sum_t |w_t| |x_t c|
                    for (int c = 0; c < q; ++c) {
                        double a = 0.0;
                        for (size_t t = 0; t < prev.size(); ++t) a += std::abs(w[prev[t]]) * std::abs(X_[t * q + c]);
                        absprod += a * a;
                    }
                }
            }
            if (k > 1) err = gamma_of(net, static_cast<int>(prev.size()) + 1) * std::sqrt(absprod) + std::sqrt(wnorm) * err;
            X_.swap(Y_);
            prev = cur_;
        }
        const int p = static_cast<int>(prev.size());
        for (double v : X_)
            if (!std::isfinite(v)) return -1;
        // singular values of the p x q matrix X (tall: the columns' Jacobi rotations)
        const int rows = std::max(p, q), cols = std::min(p, q);
        if (p < q) {
            T_.resize(X_.size());
            for (int r = 0; r < p; ++r)
                for (int c = 0; c < q; ++c) T_[static_cast<size_t>(c) * p + r] = X_[static_cast<size_t>(r) * q + c];
        } else {
            T_ = X_;
        }
        const std::vector<double> sv = singular_values(T_.data(), rows, cols);
        const double smax = *std::max_element(sv.begin(), sv.end()), smin = *std::min_element(sv.begin(), sv.end());
        if (!(smax > 0) || !std::isfinite(smax)) return -1;
        const double low = (smin - err) / (smax + err);  // X's least singular value over its largest, at worst
        return low * w0_ratio_ > kRankGap ? cols : -1;
    }

private:
    static size_t offset(const Net& net, int layer) {
        size_t o = 0;
        for (int j = 0; j < layer; ++j) o += static_cast<size_t>(net.widths[j]);
        return o;
    }

    bool ok_ = false;
    double w0_ratio_ = 0.0;  // W_0's least singular value over its largest
    std::vector<int> act_, cur_;
    std::vector<double> X_, Y_, T_;
};

}  // namespace lp_detail
}  // namespace nncells
