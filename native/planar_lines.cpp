// See planar.hpp: each layer's lines on the faces of the mesh (the next layer's neurons pulled
// back through each face's affine map), the faces' pattern bits and ranks, and the candidate cuts
// of the next layer. Each step mirrors a function of the numpy twin (src/nncells/planar/mesh.py).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "planar_core.hpp"

namespace nncells {
namespace planar_detail {

// _candidates for one face: the lines through its circumscribed disc (with the error bound of
// the test), and among them those not constant (a normal entry above its error bound `err`),
// normalised to unit normals. Also the face's `near` list and sign bits.
void face_candidates(const double* Lx, const double* Ly, const double* Lc, int m, const double* err, int64_t f,
                     double cx, double cy, double rad, double g3, CandList& out, Near& near,
                     std::vector<uint8_t>& far) {
    const double r2 = rad * rad;
    far.resize(m);
    uint8_t* pre = near.pre.data() + static_cast<size_t>(f) * m;
    for (int j = 0; j < m; ++j) {  // element-wise (vectorised): sign bits, and the clearly far lines
        const double x = Lx[j], y = Ly[j], cc = Lc[j];
        const double val = x * cx + y * cy + cc;
        const double slack = g3 * (std::abs(x * cx) + std::abs(y * cy) + std::abs(cc));
        // margins for the rounding of this test itself, so no hypot is needed here
        const double d = std::abs(val) * (1 - 1e-12) - slack * (1 + 1e-12), q = r2 * (x * x + y * y);
        pre[j] = val > 0;
        far[j] = (d > 0) & (q > 1e-290) & (q < 1e290) & (d * d > q * (1 + 1e-6));
    }
    for (int j = 0; j < m; ++j) {
        if (far[j]) continue;
        const double x = Lx[j], y = Ly[j], cc = Lc[j];
        const double val = x * cx + y * cy + cc;
        const double nrm = std::hypot(x, y);
        if (!(std::abs(val) <= rad * nrm * (1 + 1e-9) + g3 * (std::abs(x * cx) + std::abs(y * cy) + std::abs(cc))))
            continue;
        near.idx.push_back(j);
        const double e = err ? err[j] : 0.0;
        if (!(std::abs(x) > e || std::abs(y) > e)) continue;
        out.neuron.push_back(j);
        out.face.push_back(f);
        out.a.push_back(x / nrm);
        out.b.push_back(y / nrm);
        out.c.push_back(cc / nrm);
    }
    near.offs.push_back(static_cast<int64_t>(near.idx.size()));
}

// Stable grouping by neuron (np.argsort(neuron, kind="stable")).
void group(const CandList& in, int width, Cands& out) {
    out.offs.assign(width + 1, 0);
    for (int32_t i : in.neuron) ++out.offs[i + 1];
    for (int i = 0; i < width; ++i) out.offs[i + 1] += out.offs[i];
    const size_t n = in.neuron.size();
    out.face.resize(n);
    out.a.resize(n);
    out.b.resize(n);
    out.c.resize(n);
    std::vector<int64_t> pos(out.offs.begin(), out.offs.end() - 1);
    for (size_t q = 0; q < n; ++q) {
        const int64_t t = pos[in.neuron[q]]++;
        out.face[t] = in.face[q];
        out.a[t] = in.a[q];
        out.b[t] = in.b[q];
        out.c[t] = in.c[q];
    }
}

namespace {

// Terms of a face's next lines: neuron idx[t] with coefficients (a, b, c)[t] (its line, signed).
struct Terms {
    std::vector<int32_t> idx;
    std::vector<double> a, b, c;
    size_t n = 0;
    explicit Terms(int k) : idx(k), a(k), b(k), c(k) {}
    void add(int i, double s, const double* Lx, const double* Ly, const double* Lc) {
        idx[n] = i;
        a[n] = s * Lx[i];
        b[n] = s * Ly[i];
        c[n] = s * Lc[i];
        ++n;
    }
};

// The next layer's weights W (mo x k) as panels of four output columns: P[(jb * k + i) * 4 + q]
// = W[4 jb + q, i], so that a panel's rows are contiguous; the last mo % 4 columns as WT (k x r).
struct Panels {
    int k = 0, mo = 0, r = 0;
    std::vector<double> P, WT;
    Panels(const double* W, int k_, int mo_) : k(k_), mo(mo_), r(mo_ % 4) {
        const int nb = mo / 4;
        P.resize(static_cast<size_t>(nb) * k * 4);
        for (int jb = 0; jb < nb; ++jb)
            for (int i = 0; i < k; ++i)
                for (int q = 0; q < 4; ++q)
                    P[(static_cast<size_t>(jb) * k + i) * 4 + q] = W[static_cast<size_t>(4 * jb + q) * k + i];
        WT.resize(static_cast<size_t>(k) * r);
        for (int i = 0; i < k; ++i)
            for (int q = 0; q < r; ++q) WT[static_cast<size_t>(i) * r + q] = W[static_cast<size_t>(4 * nb + q) * k + i];
    }
};

// (nx, ny, nc) = (src lines, or 0 if null) + the sum over the terms of their coefficients times
// W[:, idx[t]], four columns at a time in twelve accumulators (registers).
void add_terms(const Terms& T, const Panels& W, const double* src, double* nx, double* ny, double* nc) {
    const size_t n = T.n;
    const int32_t* idx = T.idx.data();
    const double *A = T.a.data(), *B = T.b.data(), *C = T.c.data();
    const int nb = W.mo / 4;
    for (int jb = 0; jb < nb; ++jb) {
        const int j = 4 * jb;
        const double* P = W.P.data() + static_cast<size_t>(jb) * W.k * 4;
        double x0 = 0, x1 = 0, x2 = 0, x3 = 0, y0 = 0, y1 = 0, y2 = 0, y3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
        if (src) {
            const double *sx = src + j, *sy = src + W.mo + j, *sc = src + 2 * W.mo + j;
            x0 = sx[0], x1 = sx[1], x2 = sx[2], x3 = sx[3];
            y0 = sy[0], y1 = sy[1], y2 = sy[2], y3 = sy[3];
            c0 = sc[0], c1 = sc[1], c2 = sc[2], c3 = sc[3];
        }
        for (size_t t = 0; t < n; ++t) {
            const double* w = P + static_cast<size_t>(idx[t]) * 4;
            const double a = A[t], b = B[t], c = C[t], w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3];
            x0 += a * w0, x1 += a * w1, x2 += a * w2, x3 += a * w3;
            y0 += b * w0, y1 += b * w1, y2 += b * w2, y3 += b * w3;
            c0 += c * w0, c1 += c * w1, c2 += c * w2, c3 += c * w3;
        }
        nx[j] = x0, nx[j + 1] = x1, nx[j + 2] = x2, nx[j + 3] = x3;
        ny[j] = y0, ny[j + 1] = y1, ny[j + 2] = y2, ny[j + 3] = y3;
        nc[j] = c0, nc[j + 1] = c1, nc[j + 2] = c2, nc[j + 3] = c3;
    }
    for (int q = 0; q < W.r; ++q) {
        const int j = 4 * nb + q;
        double x = src ? src[j] : 0.0, y = src ? src[W.mo + j] : 0.0, c = src ? src[2 * W.mo + j] : 0.0;
        for (size_t t = 0; t < n; ++t) {
            const double w = W.WT[static_cast<size_t>(idx[t]) * W.r + q];
            x += A[t] * w;
            y += B[t] * w;
            c += C[t] * w;
        }
        nx[j] = x, ny[j] = y, nc[j] = c;
    }
}

// numpy.linalg.matrix_rank of a (rows x 2) matrix given by its nonzero rows' columns x, y
// (overwritten): singular values by one-sided Jacobi rotations, above smax * max(rows, 2) * eps.
int64_t rank_two_columns(std::vector<double>& x, std::vector<double>& y, int rows) {
    constexpr double eps = std::numeric_limits<double>::epsilon();
    const size_t n = x.size();
    for (int sweep = 0; sweep < 60; ++sweep) {
        double alpha = 0, beta = 0, gam = 0;
        for (size_t i = 0; i < n; ++i) {
            alpha += x[i] * x[i];
            beta += y[i] * y[i];
            gam += x[i] * y[i];
        }
        if (gam == 0.0 || std::abs(gam) <= eps * std::sqrt(alpha * beta)) break;
        const double zeta = (beta - alpha) / (2.0 * gam);
        const double t = std::copysign(1.0, zeta) / (std::abs(zeta) + std::sqrt(1.0 + zeta * zeta));
        const double c = 1.0 / std::sqrt(1.0 + t * t), s = c * t;
        for (size_t i = 0; i < n; ++i) {
            const double u = x[i], v = y[i];
            x[i] = c * u - s * v;
            y[i] = s * u + c * v;
        }
    }
    double sx = 0, sy = 0;
    for (size_t i = 0; i < n; ++i) {
        sx += x[i] * x[i];
        sy += y[i] * y[i];
    }
    const double s0 = std::sqrt(sx), s1 = std::sqrt(sy), smax = std::max(s0, s1);
    if (smax == 0.0) return 0;
    const double tol = smax * std::max(rows, 2) * eps;
    return static_cast<int64_t>(s0 > tol) + static_cast<int64_t>(s1 > tol);
}

// _rank2 from the Gram matrix (g00, g11, g01) of a face's (k x 2) map to the layer's output;
// the doubtful ones by an SVD of the map's active rows, with numpy's tolerance.
int64_t rank2(double g00, double g11, double g01, const double* Lx, const double* Ly, const uint8_t* on, int k,
              std::vector<double>& bx, std::vector<double>& by) {
    const double tr = g00 + g11, det = g00 * g11 - g01 * g01;
    const double lmax = 0.5 * (tr + std::sqrt(std::max(tr * tr - 4 * det, 0.0)));
    int64_t r = (lmax > 0) + (det > 1e-12 * lmax * lmax);
    if (r == 1 && det > -1e-12 * lmax * lmax && lmax > 0) {
        bx.clear();
        by.clear();
        for (int i = 0; i < k; ++i)
            if (on[i] && (Lx[i] != 0.0 || Ly[i] != 0.0)) {
                bx.push_back(Lx[i]);
                by.push_back(Ly[i]);
            }
        r = rank_two_columns(bx, by, k);
    }
    return r;
}

}  // namespace

// _advance: for the faces of a finished layer, whose lines L (faces of the previous layer x 3 x k)
// come by parent with the parents' `near` lists: pattern bits at the centroids (a parent's sign
// bits but for the neurons near it), ranks, the next layer's lines (faces x 3 x mo) and, unless
// `err` is null (the output layer), their candidate cuts and `near` lists. Lines are summed
// afresh for the faces that kept their parent's id; a face split off another (`origin`) gets
// them from that face's by adding and removing the few near neurons whose bits differ, as long
// as the roundings accumulated that way stay within a quarter of the lines' error bound (gamma(k
// + 2) relative to |W| |M|: at most 2 (k + 2) additions) and the face's map has rank 2 (a map of
// lower rank is summed afresh, so that the next layer's lines keep its exact structure).
void advance(const Mesh& m, const Geometry& g, const Big<double>& L, int k, const Near& nin, const double* W,
             const double* bias, int mo, const double* err, double g3, Big<uint8_t>& bits,
             std::vector<int64_t>& ranks, Big<double>& nxt, Cands* cand, Near* nout) {
    const int64_t F = m.nf(), Fp = static_cast<int64_t>(nin.offs.size()) - 1;
    bits.resize(static_cast<size_t>(F) * k);
    ranks.resize(F);
    nxt.resize(static_cast<size_t>(F) * 3 * mo);
    const Panels WP(W, k, mo);
    std::vector<double> bx, by, base(3 * Fp);
    std::vector<uint8_t> flag(k, 0), far;
    std::vector<int> n_on(F), cost(F);
    for (int64_t f = 0; f < F; ++f) {  // bits and ranks
        const int64_t p = m.parent[f];
        const double* Lx = L.data() + static_cast<size_t>(p) * 3 * k;
        const double *Ly = Lx + k, *Lc = Lx + 2 * k;
        const int32_t *nb = nin.idx.data() + nin.offs[p], *ne = nin.idx.data() + nin.offs[p + 1];
        uint8_t* on = bits.data() + static_cast<size_t>(f) * k;
        const uint8_t* pre = nin.pre.data() + static_cast<size_t>(p) * k;
        if (f < Fp) {  // the parent's Gram matrix over its active rows not near it
            for (const int32_t* q = nb; q != ne; ++q) flag[*q] = 1;
            double g00 = 0, g11 = 0, g01 = 0;
            for (int i = 0; i < k; ++i) {
                const double s = pre[i] & (flag[i] ^ 1), x = Lx[i] * s, y = Ly[i] * s;
                g00 += x * x;
                g11 += y * y;
                g01 += x * y;
            }
            for (const int32_t* q = nb; q != ne; ++q) flag[*q] = 0;
            base[3 * p] = g00;
            base[3 * p + 1] = g11;
            base[3 * p + 2] = g01;
        }
        std::copy(pre, pre + k, on);
        const double cx = g.cx[f], cy = g.cy[f];
        double g00 = base[3 * p], g11 = base[3 * p + 1], g01 = base[3 * p + 2];
        for (const int32_t* q = nb; q != ne; ++q) {
            const int i = *q;
            on[i] = (Lx[i] * cx + Ly[i] * cy + Lc[i]) > 0;
            if (!on[i]) continue;
            g00 += Lx[i] * Lx[i];
            g11 += Ly[i] * Ly[i];
            g01 += Lx[i] * Ly[i];
        }
        int c = 0;
        for (int i = 0; i < k; ++i) c += on[i];
        n_on[f] = c;
        ranks[f] = rank2(g00, g11, g01, Lx, Ly, on, k, bx, by);
    }
    CandList cl;
    if (nout) *nout = Near();
    if (nout) nout->pre.resize(static_cast<size_t>(F) * mo);
    Terms T(k);
    for (int64_t f = 0; f < F; ++f) {  // lines (faces that kept their parent's id first) and cuts
        const int64_t p = m.parent[f], o = m.origin[f];
        const double* Lx = L.data() + static_cast<size_t>(p) * 3 * k;
        const double *Ly = Lx + k, *Lc = Lx + 2 * k;
        const uint8_t* on = bits.data() + static_cast<size_t>(f) * k;
        double* nx = nxt.data() + static_cast<size_t>(f) * 3 * mo;
        T.n = 0;
        bool incremental = o >= 0 && ranks[f] == 2;
        if (incremental) {
            const uint8_t* ref = bits.data() + static_cast<size_t>(o) * k;
            for (int64_t q = nin.offs[p]; q < nin.offs[p + 1]; ++q) {
                const int i = nin.idx[q];
                if (on[i] != ref[i]) T.add(i, on[i] ? 1.0 : -1.0, Lx, Ly, Lc);
            }
            const int nd = static_cast<int>(T.n);
            incremental = nd <= n_on[f] && cost[o] + nd <= 2 * (k + 2);
            if (incremental) {
                add_terms(T, WP, nxt.data() + static_cast<size_t>(o) * 3 * mo, nx, nx + mo, nx + 2 * mo);
                cost[f] = cost[o] + nd;
                
            }
        }
        if (!incremental) {
            T.n = 0;
            for (int i = 0; i < k; ++i)
                if (on[i]) T.add(i, 1.0, Lx, Ly, Lc);
            add_terms(T, WP, nullptr, nx, nx + mo, nx + 2 * mo);
            for (int j = 0; j < mo; ++j) nx[2 * mo + j] += bias[j];
            cost[f] = n_on[f] + 1;
            
        }
        if (cand) face_candidates(nx, nx + mo, nx + 2 * mo, mo, err, f, g.cx[f], g.cy[f], g.rad[f], g3, cl, *nout, far);
    }
    if (cand) group(cl, mo, *cand);
}

}  // namespace planar_detail
}  // namespace nncells
