// See planar.hpp: the mesh and its split, and the layer-by-layer driver. Each step mirrors a
// function of the numpy twin (src/nncells/planar/mesh.py), named in the comments; the face and
// vertex numbering is the twin's. Each layer's lines, bits and candidate cuts: planar_lines.cpp.
#include "planar.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <utility>

#include "planar_core.hpp"

namespace nncells {
namespace planar_detail {
namespace {

// numpy's pairwise summation, so that a reduceat over a face's loop is the twin's bit for bit.
double pairwise_sum(const double* a, int64_t n) {
    if (n < 8) {
        double r = -0.0;
        for (int64_t i = 0; i < n; ++i) r += a[i];
        return r;
    }
    if (n <= 128) {
        double r[8];
        for (int j = 0; j < 8; ++j) r[j] = a[j];
        int64_t i = 8;
        for (; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; ++j) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += a[i];
        return res;
    }
    int64_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

// np.add.reduceat over one segment: its first element plus the pairwise sum of the rest.
double segment_sum(const double* a, int64_t n) { return a[0] + pairwise_sum(a + 1, n - 1); }

}  // namespace

// _Mesh.geometry: per face area, centroid and farthest vertex from the centroid (compacts).
void geometry(Mesh& m, Geometry& g) {
    m.compact();
    const int64_t F = m.nf();
    g.area.resize(F);
    g.cx.resize(F);
    g.cy.resize(F);
    g.rad.resize(F);
    std::vector<double> cr, tx, ty;
    for (int64_t f = 0; f < F; ++f) {
        const int64_t* v = m.loops.data() + m.start[f];
        const int64_t n = m.len[f];
        cr.resize(n);
        tx.resize(n);
        ty.resize(n);
        const double ox = m.V[v[0]].x, oy = m.V[v[0]].y;
        for (int64_t j = 0; j < n; ++j) {
            const int64_t w = v[j + 1 == n ? 0 : j + 1];
            const double x0 = m.V[v[j]].x - ox, y0 = m.V[v[j]].y - oy, x1 = m.V[w].x - ox, y1 = m.V[w].y - oy;
            cr[j] = x0 * y1 - x1 * y0;
            tx[j] = (x0 + x1) * cr[j];
            ty[j] = (y0 + y1) * cr[j];
        }
        const double area2 = segment_sum(cr.data(), n);
        const double cx = segment_sum(tx.data(), n) / (3 * area2) + ox;
        const double cy = segment_sum(ty.data(), n) / (3 * area2) + oy;
        double rad = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < n; ++j) rad = std::max(rad, std::hypot(m.V[v[j]].x - cx, m.V[v[j]].y - cy));
        g.area[f] = area2 / 2;
        g.cx[f] = cx;
        g.cy[f] = cy;
        g.rad[f] = rad;
    }
}

namespace {

struct Scratch {
    std::vector<int64_t> vid, cut, cross_lo, cross_hi, order, newid, faces;
    std::vector<double> val;
    std::vector<int8_t> sgn;
};

// _split: cut `faces` (ascending) by their parents' lines a x + b y + c = 0 (unit normals) where
// a face has vertices on both sides beyond the error bound of their values.
void split_faces(Mesh& m, std::vector<std::vector<int64_t>>& kids, const double* A, const double* B,
                 const double* C, double g3, Scratch& S) {
    S.vid.clear();
    S.val.clear();
    S.sgn.clear();
    S.cut.clear();  // pairs (face, offset into vid)
    for (int64_t f : S.faces) {
        const int64_t p = m.parent[f];
        const double a = A[p], b = B[p], c = C[p];
        const double ab = std::abs(a) + std::abs(b), ac = std::abs(c);
        const size_t off = S.vid.size();
        const int64_t* v = m.loops.data() + m.start[f];
        const Mesh::Vertex* V = m.V.data();
        const int64_t n = m.len[f];
        S.vid.resize(off + n);
        S.val.resize(off + n);
        S.sgn.resize(off + n);
        bool pos = false, neg = false;
        for (int64_t j = 0; j < n; ++j) {
            const Mesh::Vertex& u = V[v[j]];
            const double val = a * u.x + b * u.y + c;
            const double err = g3 * (u.m * ab + ac);
            const int8_t s = val > err ? 1 : (val < -err ? -1 : 0);
            pos = pos || s > 0;
            neg = neg || s < 0;
            S.vid[off + j] = v[j];
            S.val[off + j] = val;
            S.sgn[off + j] = s;
        }
        if (pos && neg) {
            S.cut.push_back(f);
            S.cut.push_back(static_cast<int64_t>(off));
        } else {
            S.vid.resize(off);
            S.val.resize(off);
            S.sgn.resize(off);
        }
    }
    if (S.cut.empty()) return;
    // Crossed edges, keyed by their vertex-id pair: one new vertex per key (numbered in key
    // order, computed from the key's first occurrence), shared by both faces of the edge.
    const int64_t nc = static_cast<int64_t>(S.cut.size() / 2);
    S.cross_lo.clear();
    S.cross_hi.clear();
    std::vector<double> vlo, vhi;
    for (int64_t q = 0; q < nc; ++q) {
        const int64_t off = S.cut[2 * q + 1], n = m.len[S.cut[2 * q]];
        for (int64_t j = 0; j < n; ++j) {
            const int64_t jn = off + (j + 1 == n ? 0 : j + 1), ji = off + j;
            if (S.sgn[ji] * S.sgn[jn] >= 0) continue;
            const bool flip = S.vid[ji] > S.vid[jn];
            S.cross_lo.push_back(flip ? S.vid[jn] : S.vid[ji]);
            S.cross_hi.push_back(flip ? S.vid[ji] : S.vid[jn]);
            vlo.push_back(flip ? S.val[jn] : S.val[ji]);
            vhi.push_back(flip ? S.val[ji] : S.val[jn]);
        }
    }
    const int64_t ncross = static_cast<int64_t>(S.cross_lo.size());
    S.order.resize(ncross);
    std::iota(S.order.begin(), S.order.end(), int64_t(0));
    std::stable_sort(S.order.begin(), S.order.end(), [&](int64_t x, int64_t y) {
        return S.cross_lo[x] != S.cross_lo[y] ? S.cross_lo[x] < S.cross_lo[y] : S.cross_hi[x] < S.cross_hi[y];
    });
    S.newid.resize(ncross);
    int64_t id = static_cast<int64_t>(m.V.size()) - 1;
    for (int64_t r = 0; r < ncross; ++r) {
        const int64_t e = S.order[r];
        if (r == 0 || S.cross_lo[e] != S.cross_lo[S.order[r - 1]] || S.cross_hi[e] != S.cross_hi[S.order[r - 1]]) {
            const int64_t lo = S.cross_lo[e], hi = S.cross_hi[e];
            const double t = vlo[e] / (vlo[e] - vhi[e]);
            const Mesh::Vertex &u = m.V[lo], &w = m.V[hi];
            m.V.push_back({u.x + t * (w.x - u.x), u.y + t * (w.y - u.y), std::max(u.m, w.m)});
            ++id;
        }
        S.newid[e] = id;
    }
    // Children: each vertex to the side(s) it is on, each crossing to both, in loop order; the
    // positive half keeps the face's id, the negative half is a new face with the same parent.
    int64_t occ = 0;
    for (int64_t q = 0; q < nc; ++q) {
        const int64_t f = S.cut[2 * q], off = S.cut[2 * q + 1], n = m.len[f];
        m.garbage += n;
        const int64_t occ0 = occ;
        for (int side = 1; side >= -1; side -= 2) {
            occ = occ0;
            const int64_t s0 = static_cast<int64_t>(m.loops.size());
            for (int64_t j = 0; j < n; ++j) {
                const int64_t ji = off + j, jn = off + (j + 1 == n ? 0 : j + 1);
                if (S.sgn[ji] * side >= 0) m.loops.push_back(S.vid[ji]);
                if (S.sgn[ji] * S.sgn[jn] < 0) m.loops.push_back(S.newid[occ++]);
            }
            const int64_t ln = static_cast<int64_t>(m.loops.size()) - s0;
            if (side > 0) {
                m.start[f] = s0;
                m.len[f] = ln;
            } else {
                const int64_t g = m.nf(), p = m.parent[f];
                m.start.push_back(s0);
                m.len.push_back(ln);
                m.parent.push_back(p);
                m.origin.push_back(f);
                kids[p].push_back(g);
            }
        }
    }
    const int64_t nl = static_cast<int64_t>(m.loops.size());
    if (m.garbage > nl - m.garbage) m.compact();
}

// _cut_layer: refine every face by the candidate lines of its parent, neuron by neuron.
void cut_layer(Mesh& m, const Cands& cand, int width, double g3, Scratch& S) {
    const int64_t F = m.nf();
    std::vector<std::vector<int64_t>> kids(F);
    for (int64_t f = 0; f < F; ++f) {
        m.parent[f] = f;
        m.origin[f] = -1;
        kids[f].push_back(f);
    }
    std::vector<double> abc(3 * static_cast<size_t>(F), 0.0);  // each parent's line for neuron i
    double *a = abc.data(), *b = a + F, *c = b + F;
    for (int i = 0; i < width; ++i) {
        const int64_t lo = cand.offs[i], hi = cand.offs[i + 1];
        if (lo == hi) continue;
        S.faces.clear();
        for (int64_t q = lo; q < hi; ++q) {
            const int64_t p = cand.face[q];
            a[p] = cand.a[q];
            b[p] = cand.b[q];
            c[p] = cand.c[q];
            S.faces.insert(S.faces.end(), kids[p].begin(), kids[p].end());
        }
        if (m.nf() != F) std::sort(S.faces.begin(), S.faces.end());
        split_faces(m, kids, a, b, c, g3, S);
    }
}

}  // namespace
}  // namespace planar_detail

using namespace planar_detail;

PlanarOutput planar_partition(const PlanarInput& in) {
    const int nl = static_cast<int>(in.rows.size()) - 1;  // hidden layers
    const double g3 = in.gamma3;
    Mesh m;
    const int64_t k0 = static_cast<int64_t>(in.polygon.size() / 2);
    for (int64_t v = 0; v < k0; ++v) {
        const double x = in.polygon[2 * v], y = in.polygon[2 * v + 1];
        m.V.push_back({x, y, std::max(std::abs(x), std::abs(y))});
        m.loops.push_back(v);
    }
    m.start = {0};
    m.len = {k0};
    m.parent = {0};
    m.origin = {-1};
    Geometry g;
    geometry(m, g);
    // The first layer's lines on the one face (exact weights: error bound 0).
    const int w0 = in.rows[0];
    Big<double> L, nxt;
    L.resize(3 * static_cast<size_t>(w0));
    for (int i = 0; i < w0; ++i) {
        L[i] = in.W[0][2 * i];
        L[w0 + i] = in.W[0][2 * i + 1];
        L[2 * w0 + i] = in.b[0][i];
    }
    Cands cand;
    Near near, near_next;
    {
        CandList cl;
        std::vector<uint8_t> far;
        near.pre.resize(w0);
        face_candidates(L.data(), L.data() + w0, L.data() + 2 * w0, w0, nullptr, 0, g.cx[0], g.cy[0], g.rad[0], g3,
                        cl, near, far);
        group(cl, w0, cand);
    }
    std::vector<Big<uint8_t>> bits(nl);
    std::vector<std::vector<int64_t>> ranks(nl), parents(nl);
    PlanarOutput out;
    Scratch S;
    for (int l = 0; l < nl; ++l) {
        cut_layer(m, cand, in.rows[l], g3, S);
        parents[l] = m.parent;
        geometry(m, g);
        const bool last = l == nl - 1;
        advance(m, g, L, in.rows[l], near, in.W[l + 1].data(), in.b[l + 1].data(), in.rows[l + 1],
                last ? nullptr : in.line_err[l + 1].data(), g3, bits[l], ranks[l], nxt, last ? nullptr : &cand,
                last ? nullptr : &near_next);
        L.swap(nxt);
        std::swap(near, near_next);
        out.per_layer.push_back(m.nf());
    }
    const int64_t F = m.nf();
    const int out_dim = in.rows[nl];
    int n_hidden = 0;
    for (int l = 0; l < nl; ++l) n_hidden += in.rows[l];
    // Ancestors in every layer's partition: compose the parent maps backwards.
    std::vector<int64_t> anc(F);
    std::iota(anc.begin(), anc.end(), int64_t(0));
    out.patterns.assign(static_cast<size_t>(F) * n_hidden, 0);
    out.ranks.assign(static_cast<size_t>(F) * nl, 0);
    int off = n_hidden;
    for (int l = nl - 1; l >= 0; --l) {
        const int k = in.rows[l];
        off -= k;
        if (l < nl - 1)
            for (int64_t f = 0; f < F; ++f) anc[f] = parents[l + 1][anc[f]];
        for (int64_t f = 0; f < F; ++f) {
            std::copy_n(bits[l].data() + anc[f] * k, k, out.patterns.begin() + f * n_hidden + off);
            out.ranks[f * nl + l] = ranks[l][anc[f]];
        }
    }
    out.vertices.resize(2 * m.V.size());
    for (size_t v = 0; v < m.V.size(); ++v) {
        out.vertices[2 * v] = m.V[v].x;
        out.vertices[2 * v + 1] = m.V[v].y;
    }
    out.face_start.assign(m.start.begin(), m.start.end());
    out.face_start.push_back(static_cast<int64_t>(m.loops.size()));
    out.face_vertices = std::move(m.loops);
    out.A.resize(static_cast<size_t>(F) * out_dim * 2);
    out.c.resize(static_cast<size_t>(F) * out_dim);
    for (int64_t f = 0; f < F; ++f)
        for (int o = 0; o < out_dim; ++o) {
            const double* Lf = L.data() + static_cast<size_t>(f) * 3 * out_dim;
            out.A[(f * out_dim + o) * 2] = Lf[o];
            out.A[(f * out_dim + o) * 2 + 1] = Lf[out_dim + o];
            out.c[f * out_dim + o] = Lf[2 * out_dim + o];
        }
    out.areas = std::move(g.area);
    out.centroids.resize(2 * F);
    for (int64_t f = 0; f < F; ++f) {
        out.centroids[2 * f] = g.cx[f];
        out.centroids[2 * f + 1] = g.cy[f];
    }
    return out;
}

}  // namespace nncells
