// Facets of the cells of vertex mode (the compiled core's facets mode, vertex.hpp): which rows of
// a finished cell are facets, read from its vertices' active sets, and whether a neuron that did
// not cut a cell lies along one of its facets (a facet of several rows, which the core sees as one
// row: such regions are left to the qhull path of nncells.results.adjacency).
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

#include "vertex.hpp"

namespace nncells {

// The label of a row that arrived with a task that was not the root (its origin is unknown).
constexpr int64_t kUnknownLabel = std::numeric_limits<int64_t>::min();
// The label of every row of a cell handed back (Task) when the cell could not tell whether a
// neuron lies along one of its facets (Cell::along): the core reads it back as `along`.
constexpr int64_t kAlongLabel = std::numeric_limits<int64_t>::min() + 1;

struct FacetRow {
    int64_t key, group;
    int row;
};

struct FacetScratch {
    std::vector<FacetRow> found;
    std::vector<int64_t> first;
    std::vector<int> count, rows;
    std::vector<uint64_t> eq, done, common;
    std::vector<double> buf, ext;
    std::vector<uint8_t> on;
};

// Append the facets of the bounded cell C (d dimensions; C.label set) to `group`/`label`: one entry
// per row on a facet, `group` numbering the facets from `first_group` (rows on one hyperplane
// make one facet), facets ordered by their first row and rows by label: domain rows (-1 - k)
// by k, then neurons by index. Row r is a facet iff at least d vertices lie on it and the rows on every one of
// them (the face's equality set) have rank 1: the face spans d - 1 dimensions. The vertices'
// active sets were set with the contract's error bounds, so this is the enumeration's own view of
// the cell. Returns whether a facet has a row of unknown label or a row marked Cell::shared.
bool cell_facets(const Cell& C, int d, int64_t first_group, std::vector<int64_t>& group,
                 std::vector<int64_t>& label, FacetScratch& w);

// Whether the hyperplane of a neuron that leaves C on one side (`vals`: its values at C's vertices,
// `err` the bound under which a value is zero) lies along a facet of C: at least d vertices on it
// whose equality set has rank 1. Returns 0 (no), 1 (yes: the facet's rows are left in w.rows) or 2
// (d vertices on it share no row: the cell cannot tell).
int along_facet(const Cell& C, int d, const double* vals, double err, FacetScratch& w);

}  // namespace nncells
