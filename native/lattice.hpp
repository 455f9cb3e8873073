// The face lattice of one convex polytope from its vertex-constraint incidences: every face as
// the set of its vertices (a bit mask; at most 64 vertices), its dimension and its facets. The
// twin is src/nncells/results/_lattice.py (`lattice`), which this code mirrors: the same faces in
// the same order, the same checks. No Python here: nanobind conversions live in bindings.cpp.
#pragma once
#include <cstdint>
#include <vector>

namespace nncells {

enum class LatticeStatus : int {
    ok = 0,
    too_few_vertices = 1,   // fewer than d + 1 vertices
    not_graded = 2,         // a face reached at two levels
    not_a_polytope = 3,     // Euler characteristic other than 1, or a face of dimension 0 with several vertices
    vertex_above_0 = 4,     // a single vertex as a face of dimension > 0 (the last face)
};

struct Lattice {
    std::vector<uint64_t> faces;   // vertex masks: the polytope first, then level by level (dimension d - 1, ...)
    std::vector<int64_t> dims;     // each face's dimension
    std::vector<int64_t> inc;      // pairs (face, coface), indices into faces
    int64_t chi = 0;               // the Euler characteristic sum_k (-1)^k f_k
    LatticeStatus status = LatticeStatus::ok;
};

// k vertices (k <= 64) in dimension d; zero[v * words .. (v + 1) * words) the bit set of the
// constraints vanishing at vertex v. A facet is a maximal proper vertex set on which a constraint
// vanishes; the faces of a face F one level down are the maximal proper non-empty intersections
// of F with the facets, taken in increasing order of their masks.
Lattice face_lattice(int d, int k, int words, const uint64_t* zero);

}  // namespace nncells
