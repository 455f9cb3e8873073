// The face lattice of a polytope from its vertices' vanishing constraints (lattice.hpp).
#include "lattice.hpp"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

namespace nncells {

namespace {

// The sets of `sets` (sorted, distinct) that no other set contains.
std::vector<uint64_t> maximal(const std::vector<uint64_t>& sets) {
    std::vector<uint64_t> out;
    for (uint64_t s : sets) {
        bool inside = false;
        for (uint64_t t : sets)
            if (t != s && (s & t) == s) {
                inside = true;
                break;
            }
        if (!inside) out.push_back(s);
    }
    return out;
}

}  // namespace

Lattice face_lattice(int d, int k, int words, const uint64_t* zero) {
    if (k < 0 || k > 64) throw std::invalid_argument("face_lattice: at most 64 vertices");
    if (d < 1 || words < 0) throw std::invalid_argument("face_lattice: d >= 1 and words >= 0");
    Lattice out;
    if (k < d + 1) {
        out.status = LatticeStatus::too_few_vertices;
        return out;
    }
    const uint64_t full = k == 64 ? ~uint64_t(0) : (uint64_t(1) << k) - 1;
    // for each constraint: the vertices where it vanishes
    std::vector<uint64_t> by_row;
    for (int w = 0; w < words; ++w)
        for (int b = 0; b < 64; ++b) {
            uint64_t s = 0;
            for (int v = 0; v < k; ++v)
                if (zero[static_cast<size_t>(v) * words + w] >> b & 1) s |= uint64_t(1) << v;
            if (s && s != full) by_row.push_back(s);
        }
    std::sort(by_row.begin(), by_row.end());
    by_row.erase(std::unique(by_row.begin(), by_row.end()), by_row.end());
    const std::vector<uint64_t> facets = maximal(by_row);

    std::unordered_map<uint64_t, int64_t> id;   // face mask -> its index
    out.faces.push_back(full);
    out.dims.push_back(d);
    id.emplace(full, 0);
    out.chi = d % 2 == 0 ? 1 : -1;
    std::vector<uint64_t> level{full}, next, subs;
    for (int lev = 1; lev <= d; ++lev) {
        next.clear();
        const int64_t dim = d - lev;
        for (uint64_t F : level) {
            subs.clear();
            for (uint64_t g : facets) {
                const uint64_t G = F & g;
                if (G && G != F) subs.push_back(G);
            }
            std::sort(subs.begin(), subs.end());
            subs.erase(std::unique(subs.begin(), subs.end()), subs.end());
            for (uint64_t G : maximal(subs)) {
                auto it = id.find(G);
                int64_t g;
                if (it == id.end()) {
                    g = static_cast<int64_t>(out.faces.size());
                    id.emplace(G, g);
                    out.faces.push_back(G);
                    out.dims.push_back(dim);
                    if ((G & (G - 1)) == 0 && dim != 0) {
                        out.status = LatticeStatus::vertex_above_0;
                        return out;
                    }
                    out.chi += dim % 2 == 0 ? 1 : -1;
                    next.push_back(G);
                } else {
                    g = it->second;
                    if (out.dims[g] != dim) {      // a face of an earlier level
                        out.status = LatticeStatus::not_graded;
                        return out;
                    }
                }
                out.inc.push_back(g);
                out.inc.push_back(id[F]);
            }
        }
        std::swap(level, next);
    }
    bool points = true;
    for (uint64_t G : level) points = points && (G & (G - 1)) == 0;
    if (out.chi != 1 || !points) out.status = LatticeStatus::not_a_polytope;
    return out;
}

}  // namespace nncells
