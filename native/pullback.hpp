// The pull-back of a hidden layer through a region's affine map, shared by vertex mode
// (vertex.cpp) and LP mode (lp_mode.cpp): the numpy twin is tasks._pull and tasks._children.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "linalg.hpp"
#include "vertex.hpp"

namespace nncells {

inline double gamma_of(const Net& net, int n) { return net.error_factor * std::max(n, 1) * kEps; }

// One (region, layer) split's shared state: the layer's neurons pulled back (tasks._children).
struct Layer {
    int layer = 0;
    int k = 0;
    std::vector<uint8_t> pattern;
    std::vector<int64_t> ranks;
    std::vector<double> H, g, Habs;  // raw pull-back (k x d), offsets, |W| |M| bound
    std::vector<double> Hn, gn, Ha;  // unit normals, offsets, |Hn| (entrywise)
    std::vector<uint8_t> zero;       // the neuron is constant on the region
};
using LayerPtr = std::shared_ptr<const Layer>;

// Below this many inputs pull_back runs along a wide layer's units (columns of W^T), not along d.
constexpr int kColumnsD = 8;
constexpr int kColumnsK = 64;   // and for layers at least this wide (narrow ones gain nothing)

// pull_back for few inputs: for each live input j (ascending), H[:, c] += W[:, j] M[j, c] along
// the units, a loop the compiler vectorizes. Each sum still adds its terms in ascending j, and a
// zero weight adds a zero (or is skipped where M's row is not finite), so the results are bit for
// bit those of the row-by-row loop: only the memory traffic changes (the live columns of W, once).
// The units go in blocks whose sums stay in L1 (kBlock numbers a column); d is a template
// parameter (1..kColumnsD), so one pass over a block of W's column feeds all 2 d + 1 sums. Built
// twice on x86-64 with GCC: for AVX2 and for the baseline, chosen at run time (no FMA either way:
// -ffp-contract=off, a product and a sum each rounded, as in the row loop).
#if defined(__GNUC__) && !defined(__clang__)
#define NNCELLS_VECTORIZE __attribute__((optimize("O3")))   // its loops vectorized (-O2 does not)
#else
#define NNCELLS_VECTORIZE
#endif
#if NNCELLS_AVX2  // (simd.hpp)
#define NNCELLS_INLINE __attribute__((always_inline, optimize("O3"))) inline
#else
#define NNCELLS_INLINE inline
#endif

constexpr int kBlock = 512;   // sums of a block: (2 d + 1) x kBlock / d doubles, 24 KB at most

template <int D>
NNCELLS_INLINE void columns_kernel(const Net& net, int l, const double* M, const double* m, const double* Mabs,
                                   const std::vector<int>& live, const std::vector<uint8_t>& finite, double* H,
                                   double* g, double* Habs) {
    constexpr int B = kBlock / D;
    const int k = net.widths[l];
    const double* WT = net.WT[l].data();
    const double* bias = net.b[l].data();
    double h[D][B], a[D][B], gc[B];
    for (int i0 = 0; i0 < k; i0 += B) {
        const int n = std::min(B, k - i0);
        for (int c = 0; c < D; ++c) {
            std::fill(h[c], h[c] + n, 0.0);
            std::fill(a[c], a[c] + n, 0.0);
        }
        std::fill(gc, gc + n, 0.0);
        for (size_t t = 0; t < live.size(); ++t) {
            const int j = live[t];
            const double* w = WT + static_cast<size_t>(j) * k + i0;
            double mc[D], ac[D];
            for (int c = 0; c < D; ++c) {
                mc[c] = M[j * D + c];
                ac[c] = Mabs[j * D + c];
            }
            const double mj = m[j];
            if (!finite[t]) {                   // 0 * inf: skip zero weights, as the row loop does
                for (int i = 0; i < n; ++i) {
                    if (w[i] == 0.0) continue;
                    for (int c = 0; c < D; ++c) {
                        h[c][i] += w[i] * mc[c];
                        a[c][i] += std::abs(w[i]) * ac[c];
                    }
                    gc[i] += w[i] * mj;
                }
                continue;
            }
            for (int i = 0; i < n; ++i) {
                const double wi = w[i], aw = std::abs(wi);
                for (int c = 0; c < D; ++c) {
                    h[c][i] += wi * mc[c];
                    a[c][i] += aw * ac[c];
                }
                gc[i] += wi * mj;
            }
        }
        for (int i = 0; i < n; ++i) {
            for (int c = 0; c < D; ++c) {
                H[static_cast<size_t>(i0 + i) * D + c] = h[c][i];
                Habs[static_cast<size_t>(i0 + i) * D + c] = a[c][i];
            }
            g[i0 + i] = gc[i] + bias[i0 + i];
        }
    }
}

template <int D>
NNCELLS_VECTORIZE void columns_plain(const Net& net, int l, const double* M, const double* m, const double* Mabs,
                                     const std::vector<int>& live, const std::vector<uint8_t>& finite, double* H,
                                     double* g, double* Habs) {
    columns_kernel<D>(net, l, M, m, Mabs, live, finite, H, g, Habs);
}

#if NNCELLS_AVX2
template <int D>
__attribute__((target("avx2"), optimize("O3"))) void columns_avx2(
        const Net& net, int l, const double* M, const double* m, const double* Mabs, const std::vector<int>& live,
        const std::vector<uint8_t>& finite, double* H, double* g, double* Habs) {
    columns_kernel<D>(net, l, M, m, Mabs, live, finite, H, g, Habs);
}
#endif

template <int D>
void columns_d(bool avx2, const Net& net, int l, const double* M, const double* m, const double* Mabs,
               const std::vector<int>& live, const std::vector<uint8_t>& finite, double* H, double* g, double* Habs) {
#if NNCELLS_AVX2
    if (avx2) return columns_avx2<D>(net, l, M, m, Mabs, live, finite, H, g, Habs);
#endif
    (void)avx2;
    columns_plain<D>(net, l, M, m, Mabs, live, finite, H, g, Habs);
}

// avx2: the AVX2 build where the CPU has it (false: the baseline build, for tests).
inline void pull_back_columns(const Net& net, int l, int d, const std::vector<double>& M,
                              const std::vector<double>& m, const std::vector<double>& Mabs,
                              const std::vector<int>& live, std::vector<double>& H, std::vector<double>& g,
                              std::vector<double>& Habs, bool avx2 = true) {
    std::vector<uint8_t> finite(live.size());
    for (size_t t = 0; t < live.size(); ++t) {
        const int j = live[t];
        bool f = std::isfinite(m[j]);
        for (int c = 0; c < d; ++c) f = f && std::isfinite(M[j * d + c]) && std::isfinite(Mabs[j * d + c]);
        finite[t] = f;
    }
    avx2 = avx2 && avx2_available();
    const double *pM = M.data(), *pm = m.data(), *pA = Mabs.data();
    double *pH = H.data(), *pg = g.data(), *pHa = Habs.data();
    switch (d) {
        case 1: return columns_d<1>(avx2, net, l, pM, pm, pA, live, finite, pH, pg, pHa);
        case 2: return columns_d<2>(avx2, net, l, pM, pm, pA, live, finite, pH, pg, pHa);
        case 3: return columns_d<3>(avx2, net, l, pM, pm, pA, live, finite, pH, pg, pHa);
        case 4: return columns_d<4>(avx2, net, l, pM, pm, pA, live, finite, pH, pg, pHa);
        case 5: return columns_d<5>(avx2, net, l, pM, pm, pA, live, finite, pH, pg, pHa);
        case 6: return columns_d<6>(avx2, net, l, pM, pm, pA, live, finite, pH, pg, pHa);
        case 7: return columns_d<7>(avx2, net, l, pM, pm, pA, live, finite, pH, pg, pHa);
        case 8: return columns_d<8>(avx2, net, l, pM, pm, pA, live, finite, pH, pg, pHa);
        default: throw std::logic_error("pull_back_columns: d beyond kColumnsD");
    }
}

// H = W_l M, g = W_l m + b_l, Habs = |W_l| Mabs (M: in x d). An empty M is the identity (the
// first layer: no d x d product at 784 inputs), with the values the product would give.
// path: -1 chooses (columns for few inputs, wide layers), 0 the row-by-row loop, 1 the columns, 2 the
// columns' baseline build (tests).
inline void pull_back(const Net& net, int l, int d, const std::vector<double>& M, const std::vector<double>& m,
               const std::vector<double>& Mabs, std::vector<double>& H, std::vector<double>& g,
               std::vector<double>& Habs, int path = -1) {
    const int k = net.widths[l], in = net.in_dim(l);
    const double* W = net.W[l].data();
    if (M.empty()) {
        H.resize(static_cast<size_t>(k) * d);
        Habs.resize(static_cast<size_t>(k) * d);
        g.resize(k);
        for (size_t e = 0; e < H.size(); ++e) {
            H[e] = W[e] == 0.0 ? 0.0 : W[e];
            Habs[e] = std::abs(W[e]);
        }
        for (int i = 0; i < k; ++i) g[i] = 0.0 + net.b[l][i];
        return;
    }
    H.assign(static_cast<size_t>(k) * d, 0.0);
    Habs.assign(static_cast<size_t>(k) * d, 0.0);
    g.assign(k, 0.0);
    std::vector<int> live;  // inputs whose map is not identically zero (inactive neurons are)
    live.reserve(in);
    for (int j = 0; j < in; ++j) {
        bool any = m[j] != 0.0;
        for (int c = 0; c < d && !any; ++c) any = Mabs[j * d + c] != 0.0;
        if (any) live.push_back(j);
    }
    if ((path == 1 || path == 2) && d > kColumnsD)
        throw std::invalid_argument("pull_back: the column loop takes at most kColumnsD inputs");
    if (path == 1 || path == 2 || (path == -1 && d <= kColumnsD && k >= kColumnsK)) {
        pull_back_columns(net, l, d, M, m, Mabs, live, H, g, Habs, path != 2);
        return;
    }
    for (int i = 0; i < k; ++i) {
        double gi = 0.0;
        for (int j : live) {
            const double w = W[i * in + j];
            if (w == 0.0) continue;
            const double aw = std::abs(w);
            for (int c = 0; c < d; ++c) {
                H[i * d + c] += w * M[j * d + c];
                Habs[i * d + c] += aw * Mabs[j * d + c];
            }
            gi += w * m[j];
        }
        g[i] = gi + net.b[l][i];
    }
}

// The map to layer l's output on the cell: rows of inactive neurons zeroed.
inline void mask(const std::vector<uint8_t>& s, int d, std::vector<double>& M, std::vector<double>& m,
          std::vector<double>& Mabs) {
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i]) continue;
        m[i] = 0.0;
        std::fill(M.begin() + i * d, M.begin() + (i + 1) * d, 0.0);
        std::fill(Mabs.begin() + i * d, Mabs.begin() + (i + 1) * d, 0.0);
    }
}

// The layer's split state from the map to its input (tasks._children and cells.split_cell).
// lifted_d >= 0: the cells live in (y, t) (t the last coordinate); a neuron is constant in x = y / t
// when its y part is within rounding of zero, and then its value is H_t t with t > 0.
inline LayerPtr make_layer(const Net& net, int l, int d, int lifted_d, std::vector<uint8_t> pattern,
                    std::vector<int64_t> ranks, const std::vector<double>& M, const std::vector<double>& m,
                    const std::vector<double>& Mabs) {
    auto L = std::make_shared<Layer>();
    L->layer = l;
    L->k = net.widths[l];
    L->pattern = std::move(pattern);
    L->ranks = std::move(ranks);
    pull_back(net, l, d, M, m, Mabs, L->H, L->g, L->Habs);
    int terms = d + 1;
    for (int j = 0; j < l; ++j) terms += net.widths[j];
    const double gam = gamma_of(net, terms);
    const int k = L->k;
    L->Hn.assign(static_cast<size_t>(k) * d, 0.0);
    L->gn.assign(k, 0.0);
    L->Ha.assign(static_cast<size_t>(k) * d, 0.0);
    L->zero.assign(k, 0);
    const std::vector<uint8_t>* linear = net.linear.empty() ? nullptr : &net.linear[l];
    for (int i = 0; i < k; ++i) {
        if (linear && (*linear)[i]) {  // decided as a constant, always active
            L->zero[i] = 1;
            L->gn[i] = 1.0;
            continue;
        }
        bool zero = true;
        const int ny = lifted_d >= 0 ? lifted_d : d;
        for (int c = 0; c < ny; ++c) zero = zero && std::abs(L->H[i * d + c]) <= gam * L->Habs[i * d + c];
        const double nrm = norm2(&L->H[i * d], d);
        L->zero[i] = zero || nrm == 0.0;
        if (L->zero[i]) {
            L->gn[i] = lifted_d >= 0 ? L->H[i * d + lifted_d] : L->g[i];  // the constant's sign
            continue;
        }
        for (int c = 0; c < d; ++c) {
            L->Hn[i * d + c] = L->H[i * d + c] / nrm;
            L->Ha[i * d + c] = std::abs(L->Hn[i * d + c]);
        }
        L->gn[i] = L->g[i] / nrm;
    }
    return L;
}

// The map to the input of layer `layer` on the region of `pattern` (tasks._prefix_map), by the
// same operations as the descent, so bit for bit the map the cell's rows were computed with.
inline LayerPtr layer_from_pattern(const Net& net, int layer, int d, int lifted_d, const std::vector<uint8_t>& pattern,
                            const std::vector<int64_t>& ranks) {
    std::vector<double> M, m(d, 0.0), Mabs, H, g, Habs;  // (M empty: the identity)
    size_t off = 0;
    for (int l = 0; l < layer; ++l) {
        pull_back(net, l, d, M, m, Mabs, H, g, Habs);
        std::vector<uint8_t> s(pattern.begin() + off, pattern.begin() + off + net.widths[l]);
        off += net.widths[l];
        mask(s, d, H, g, Habs);
        M.swap(H);
        m.swap(g);
        Mabs.swap(Habs);
    }
    return make_layer(net, layer, d, lifted_d, pattern, ranks, M, m, Mabs);
}

inline void fresh_split(const Layer& L, std::vector<uint8_t>& signs, std::vector<int64_t>& rest) {
    signs.assign(L.k, 0);
    rest.clear();
    for (int i = 0; i < L.k; ++i) {
        if (L.zero[i]) signs[i] = L.gn[i] > 0.0;
        else rest.push_back(i);
    }
}

}  // namespace nncells
