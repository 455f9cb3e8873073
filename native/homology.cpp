// The column reduction over GF(2) with clearing (homology.hpp).
#include "homology.hpp"

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace nncells {

namespace {

int64_t find_root(std::vector<int64_t>& parent, int64_t x) {
    int64_t root = x;
    while (parent[root] != root) root = parent[root];
    while (parent[x] != root) {
        const int64_t next = parent[x];
        parent[x] = root;
        x = next;
    }
    return root;
}

// Rows of the columns of one dimension: positions (in filtration order) among the cells one
// dimension down. A reduced column is kept sorted, its pivot (lowest row) last.
using Column = std::vector<int64_t>;

}  // namespace

Gf2Pairs gf2_pairs(int64_t n, const int64_t* dims, const int64_t* order, const int64_t* start,
                   const int64_t* faces) {
    Gf2Pairs out;
    if (n == 0) return out;
    int64_t top = 0;
    for (int64_t i = 0; i < n; ++i) {
        if (dims[i] < 0) throw std::invalid_argument("gf2_pairs: a negative dimension");
        top = std::max(top, dims[i]);
    }
    std::vector<int64_t> pos(n, -1);
    std::vector<std::vector<int64_t>> by_dim(top + 1);
    for (int64_t i = 0; i < n; ++i) {
        const int64_t c = order[i];
        if (c < 0 || c >= n || pos[c] >= 0) throw std::invalid_argument("gf2_pairs: order is not a permutation");
        pos[c] = static_cast<int64_t>(by_dim[dims[c]].size());
        by_dim[dims[c]].push_back(c);
    }
    std::vector<char> cleared(by_dim[top].size(), 0);
    Column work, tmp;
    for (int64_t k = top; k >= 1; --k) {
        const std::vector<int64_t>& cols = by_dim[k];
        const std::vector<int64_t>& rows = by_dim[k - 1];
        std::vector<char> skip(rows.size(), 0);
        std::swap(skip, cleared);                 // skip: this dimension's; cleared: the next one's
        bool two = true;
        for (int64_t c : cols) two = two && start[c + 1] - start[c] == 2;
        if (two) {                                 // union-find over the rows, by position
            std::vector<int64_t> parent(rows.size());
            for (size_t i = 0; i < parent.size(); ++i) parent[i] = static_cast<int64_t>(i);
            for (size_t j = 0; j < cols.size(); ++j) {
                if (skip[j]) continue;
                const int64_t c = cols[j];
                const int64_t a = find_root(parent, pos[faces[start[c]]]);
                const int64_t b = find_root(parent, pos[faces[start[c] + 1]]);
                if (a == b) continue;
                const int64_t young = std::max(a, b), old = std::min(a, b);
                parent[young] = old;
                out.births.push_back(rows[young]);
                out.deaths.push_back(c);
                cleared[young] = 1;
            }
            continue;
        }
        std::vector<int64_t> owner(rows.size(), -1);   // the reduced column whose pivot is each row
        std::vector<Column> reduced;
        for (size_t j = 0; j < cols.size(); ++j) {
            if (skip[j]) continue;
            const int64_t c = cols[j];
            work.clear();
            for (int64_t e = start[c]; e < start[c + 1]; ++e) work.push_back(pos[faces[e]]);
            std::sort(work.begin(), work.end());
            if (std::adjacent_find(work.begin(), work.end()) != work.end())
                throw std::invalid_argument("gf2_pairs: a face given twice in one cell's boundary");
            while (!work.empty()) {
                const int64_t o = owner[work.back()];
                if (o < 0) break;
                const Column& y = reduced[o];
                tmp.clear();
                std::set_symmetric_difference(work.begin(), work.end(), y.begin(), y.end(), std::back_inserter(tmp));
                std::swap(work, tmp);
                ++out.additions;
            }
            if (work.empty()) continue;
            const int64_t low = work.back();
            owner[low] = static_cast<int64_t>(reduced.size());
            reduced.push_back(work);
            out.births.push_back(rows[low]);
            out.deaths.push_back(c);
            cleared[low] = 1;
        }
    }
    return out;
}

}  // namespace nncells
