// Vertex mode of the layer-wise refinement, compiled: a task's cell is cut by each remaining
// hidden layer's neurons (pulled back through the cell's affine map), depth-first, deciding every
// (sub-cell, neuron) pair from the sub-cell's vertices. The numpy twin is
// src/nncells/engine/vertex.py and src/nncells/engine/tasks.py; docs/numerics.md states the
// contract both implement. No Python here: nanobind conversions live in bindings.cpp.
#pragma once
#include <cstdint>
#include <vector>

namespace nncells {

struct Net {
    int d = 0;                              // input dimension
    std::vector<int> widths;                // hidden widths
    std::vector<std::vector<double>> W, b;  // hidden layers: W[l] is widths[l] x in_dim(l), row-major
    std::vector<std::vector<double>> WT;    // W[l] transposed (in_dim(l) x widths[l]), for pull_back
    std::vector<std::vector<uint8_t>> linear;  // per hidden layer: 1 for a linear (pass-through) unit;
                                               // empty: every unit a ReLU. A linear unit never cuts
                                               // and is always active (Network.linear).
    int n_hidden = 0;
    double error_factor = 8.0;              // _config.ERROR_FACTOR
    int in_dim(int l) const { return l == 0 ? d : widths[l - 1]; }
};

// The contract (nncells.geometry.contract.Rule): a cell counts when a ball (point, radius) inside
// it has radius > tol * ||point||_inf. In a lifted problem (lifted_d >= 0; cells live in
// (y, t) with t the last coordinate) the point must have t > 0 and the norm is over y only.
struct Rule {
    double tol = 1e-9;
    int lifted_d = -1;
};

struct Cell {
    int R = 0, nv = 0, words = 0;   // half-spaces, vertices, 64-bit words per vertex's active set
    std::vector<double> A, c;       // R x d (unit rows) and R: A x <= c
    std::vector<double> point;      // d, inside the cell
    double radius = 0;              // depth of `point`
    std::vector<double> V;          // nv x d vertices
    std::vector<uint64_t> act;      // nv x words: bit r set iff the vertex lies on half-space r
    std::vector<double> vmag;       // nv x d: magnitudes of the numbers each vertex was computed from
    // facets mode only (empty otherwise): per row, the global hidden neuron whose cut added it,
    // -1 - k for the root task's k-th row (the domain's), kUnknownLabel (facets.hpp) for rows of
    // unknown origin; `shared` marks rows along which a neuron that did not cut the cell lies (a
    // facet there has several neurons), `along` a cell where that could not be told. A task may
    // arrive with labels (those a pending task was handed back with); without, a root task's
    // rows are the domain's and any other task's unknown. A task handed back in facets mode
    // carries `shared` and `along` in its labels: a shared row as kUnknownLabel (the same flag
    // results), an `along` cell as kAlongLabel on every row.
    std::vector<int64_t> label;
    std::vector<uint8_t> shared;
    bool along = false;
};

// A cell of hidden layer `layer`'s split: `signs` (the layer's width) hold the decided neurons,
// `rest` the undecided ones in order (a fresh task has rest = every non-constant neuron).
struct Task {
    int layer = 0;
    std::vector<uint8_t> pattern;   // the layers before `layer`
    std::vector<int64_t> ranks;     // rank of the map to each of those layers' outputs
    Cell cell;
    bool fresh = true;              // signs/rest not given: start the layer's split
    std::vector<uint8_t> signs;
    std::vector<int64_t> rest;
};

struct Output {
    int64_t n = 0;                   // finished regions
    std::vector<uint8_t> patterns;   // n x n_hidden
    std::vector<double> points;      // n x d; lifted: n x lifted_d, the region's point x = y / t
    std::vector<double> radii;       // n; lifted: the depth of x in its region (x-space)
    std::vector<int64_t> ranks;      // n x len(widths)
    std::vector<int64_t> per_layer;  // regions created at each hidden layer
    std::vector<Task> pending;       // not explored when the time budget ran out
    std::vector<Task> deferred;      // splits where a child needs an LP (its witness failed): as received
    // facets mode: region i's facets are entries facet_start[i]..facet_start[i+1] of facet_group
    // (facet number within the region) and facet_label (its rows' labels, Cell::label);
    // facet_flag[i] is set when they cannot be used (a row of unknown label, or a neuron along a
    // facet: a facet of several neurons)
    std::vector<int64_t> facet_start, facet_group, facet_label;
    std::vector<uint8_t> facet_flag;
};

// Refine `tasks` depth-first through all remaining layers for at most `budget_s` seconds
// (at least one cell is always processed). With `facets`, every finished region's facets are
// computed from its vertices (facets.hpp) and returned in the Output's facet arrays.
Output refine(const Net& net, const Rule& rule, std::vector<Task>& tasks, double budget_s, bool facets = false);

}  // namespace nncells
