// Persistence pairs over GF(2) of a regular cell complex (a polyhedral complex's face poset), by
// the standard column reduction with clearing. The twin is src/nncells/analysis/_gf2.py
// (`pairs`), which this code mirrors: the same pairs, which the filtration alone determines.
// No Python here: nanobind conversions live in bindings.cpp.
#pragma once
#include <cstdint>
#include <vector>

namespace nncells {

struct Gf2Pairs {
    std::vector<int64_t> births, deaths;   // cell ids: the cell that creates a class, the one that kills it
    int64_t additions = 0;                 // column additions made (tests, benchmarks)
};

// The pairs of the filtration that adds the n cells in `order` (each face before its cofaces).
// dims: each cell's dimension; the faces of cell c are faces[start[c] .. start[c + 1]).
// Columns of dimension k are reduced from the top dimension down; a column whose cell is the
// pivot of a reduced column one dimension up is skipped (clearing). Dimensions whose cells all
// have exactly two faces (edges) are paired by union-find (the elder rule), which gives the
// same pairs.
Gf2Pairs gf2_pairs(int64_t n, const int64_t* dims, const int64_t* order, const int64_t* start,
                   const int64_t* faces);

}  // namespace nncells
