// See facets.hpp.
#include "facets.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "linalg.hpp"

namespace nncells {
namespace {

// The rows set in `eq` (C.words words), in increasing order.
void rows_of(const uint64_t* eq, int words, std::vector<int>& rows) {
    rows.clear();
    for (int q = 0; q < words; ++q) {
        uint64_t x = eq[q];
        while (x) {
            rows.push_back(q * 64 + __builtin_ctzll(x));
            x &= x - 1;
        }
    }
}

// The extent of a face of C coordinate by coordinate (max - min over its vertices: those on row
// `row` when row >= 0, those set in `on` when given; 1 where it is 0). Whether rows are one
// hyperplane is decided on the rows scaled by it and normalised again (`scaled_rows`), so it does
// not depend on the units of each coordinate: a face thin in one coordinate (the lifted t of a
// far region, or of a huge box's faces, nearly parallel there) has rows that differ only in that
// coordinate's small entries, independent all the same.
void cell_extent(const Cell& C, int d, std::vector<double>& ext, int row, const uint8_t* on) {
    ext.assign(d, 0.0);
    const double inf = std::numeric_limits<double>::infinity();
    std::vector<double> lo(d, inf), hi(d, -inf);
    for (int v = 0; v < C.nv; ++v) {
        if (row >= 0 && !((C.act[static_cast<size_t>(v) * C.words + row / 64] >> (row % 64)) & 1)) continue;
        if (on != nullptr && !on[v]) continue;
        for (int c = 0; c < d; ++c) {
            const double x = C.V[static_cast<size_t>(v) * d + c];
            lo[c] = std::min(lo[c], x);
            hi[c] = std::max(hi[c], x);
        }
    }
    for (int c = 0; c < d; ++c) ext[c] = hi[c] > lo[c] ? hi[c] - lo[c] : 1.0;
}

// Rows `rows` of C.A scaled column by column by `ext` and normalised, into `buf` (n x d).
void scaled_rows(const Cell& C, int d, const std::vector<int>& rows, const std::vector<double>& ext,
                 std::vector<double>& buf) {
    const int n = static_cast<int>(rows.size());
    buf.resize(static_cast<size_t>(n) * d);
    for (int i = 0; i < n; ++i) {
        double* r = &buf[static_cast<size_t>(i) * d];
        double s = 0.0, big = 0.0;
        for (int c = 0; c < d; ++c) {
            r[c] = C.A[static_cast<size_t>(rows[i]) * d + c] * ext[c];
            big = std::max(big, std::abs(r[c]));
        }
        for (int c = 0; c < d && big > 0.0; ++c) {
            r[c] /= big;  // (against underflow: extents may be tiny)
            s += r[c] * r[c];
        }
        s = std::sqrt(s);
        for (int c = 0; c < d && s > 0.0; ++c) r[c] /= s;
    }
}

// Whether the unit rows `rows` of C are one hyperplane: rank 1 (numpy's matrix_rank with tolerance
// 1e-9) once scaled by the extent `ext` of the face they hold (`cell_extent`).
bool one_hyperplane(const Cell& C, int d, const std::vector<int>& rows, const std::vector<double>& ext,
                    std::vector<double>& buf) {
    if (rows.size() <= 1) return !rows.empty();
    scaled_rows(C, d, rows, ext, buf);
    return matrix_rank(buf.data(), static_cast<int>(rows.size()), d, 1e-9) == 1;
}

// Rows in the order nncells.results.adjacency numbers them: domain rows (-1 - k) by k, then
// neurons by index, rows of unknown origin last.
int64_t row_key(int64_t label) {
    if (label == kUnknownLabel) return std::numeric_limits<int64_t>::max();
    return label < 0 ? -1 - label : (int64_t(1) << 40) + label;
}

}  // namespace

bool cell_facets(const Cell& C, int d, int64_t first_group, std::vector<int64_t>& group,
                 std::vector<int64_t>& label, FacetScratch& w) {
    const int R = C.R, W = C.words;
    w.count.assign(R, 0);
    w.eq.assign(static_cast<size_t>(R) * W, ~uint64_t(0));
    for (int v = 0; v < C.nv; ++v) {
        const uint64_t* a = &C.act[static_cast<size_t>(v) * W];
        for (int q = 0; q < W; ++q) {
            uint64_t x = a[q];
            while (x) {
                const int r = q * 64 + __builtin_ctzll(x);
                x &= x - 1;
                ++w.count[r];
                uint64_t* e = &w.eq[static_cast<size_t>(r) * W];
                for (int k = 0; k < W; ++k) e[k] &= a[k];
            }
        }
    }
    w.done.assign(W, 0);
    bool unknown = false;
    w.found.clear();  // (sort key, group, row) of each facet row
    int64_t ng = 0;
    for (int r = 0; r < R; ++r) {
        if (w.count[r] < d || ((w.done[r / 64] >> (r % 64)) & 1)) continue;
        rows_of(&w.eq[static_cast<size_t>(r) * W], W, w.rows);
        if (w.rows.size() > 1) cell_extent(C, d, w.ext, r, nullptr);  // the face's own extent
        if (!one_hyperplane(C, d, w.rows, w.ext, w.buf)) continue;  // a lower-dimensional face
        for (int j : w.rows) {
            if ((w.done[j / 64] >> (j % 64)) & 1) continue;
            w.done[j / 64] |= uint64_t(1) << (j % 64);
            w.found.push_back({row_key(C.label[j]), ng, j});
            unknown = unknown || C.label[j] == kUnknownLabel || C.shared[j];
        }
        ++ng;
    }
    // facets in the order of their first row's key, rows within a facet by key: the domain's rows
    // (by index) before the neurons (by index), as nncells.results.adjacency numbers them
    std::sort(w.found.begin(), w.found.end(), [](const FacetRow& a, const FacetRow& b) {
        return a.group != b.group ? a.group < b.group : a.key < b.key;
    });
    w.first.assign(ng, 0);
    for (size_t i = w.found.size(); i-- > 0;) w.first[w.found[i].group] = w.found[i].key;
    std::stable_sort(w.found.begin(), w.found.end(), [&w](const FacetRow& a, const FacetRow& b) {
        return w.first[a.group] < w.first[b.group];
    });
    int64_t g = first_group - 1, prev = -1;
    for (const FacetRow& f : w.found) {
        if (f.group != prev) ++g;
        prev = f.group;
        group.push_back(g);
        label.push_back(C.label[f.row]);
    }
    return unknown;
}

int along_facet(const Cell& C, int d, const double* vals, double err, FacetScratch& w) {
    const int W = C.words;
    int on = 0;
    w.common.assign(W, ~uint64_t(0));
    w.on.assign(C.nv, 0);
    for (int v = 0; v < C.nv; ++v) {
        if (std::abs(vals[v]) > err) continue;
        ++on;
        w.on[v] = 1;
        const uint64_t* a = &C.act[static_cast<size_t>(v) * W];
        for (int k = 0; k < W; ++k) w.common[k] &= a[k];
    }
    if (on < d) return 0;
    rows_of(w.common.data(), W, w.rows);
    if (w.rows.empty()) return 2;  // no row holds them all: be safe
    cell_extent(C, d, w.ext, -1, w.on.data());
    return one_hyperplane(C, d, w.rows, w.ext, w.buf) ? 1 : 0;
}

}  // namespace nncells
