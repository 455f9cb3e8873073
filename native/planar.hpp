// The exact planar mesh of a 2-input network, compiled: a vertex pool and convex CCW face loops,
// split layer by layer and neuron by neuron. The numpy twin is src/nncells/planar/mesh.py
// (`_Mesh`, `_split`, `_cut_layer`, `_candidates`, `_rank2`, `_advance`, `split_layers`), which
// this code mirrors step by step: same face and vertex numbering, same decisions from the same
// error bounds (docs/numerics.md). planar.cpp holds the mesh and its split, planar_lines.cpp each
// layer's lines, bits, ranks and candidate cuts, planar_core.hpp what they share. No Python
// here: nanobind conversions live in bindings.cpp.
#pragma once
#include <cstdint>
#include <vector>

namespace nncells {

struct PlanarInput {
    std::vector<double> polygon;                // k x 2 vertices of a convex CCW polygon
    std::vector<std::vector<double>> W, b;      // every layer, the output layer last: W[l] rows[l] x cols[l]
    std::vector<int> rows, cols;                // cols[0] == 2, cols[l] == rows[l - 1]
    std::vector<std::vector<double>> line_err;  // per hidden layer l >= 1 (rows[l] entries): error
                                                // bound of its lines' normal entries (constant lines)
    double gamma3 = 0.0;                        // gamma(3): relative error bound of a vertex value
};

struct PlanarOutput {
    std::vector<double> vertices;          // nv x 2
    std::vector<int64_t> face_start;       // F + 1 (CSR into face_vertices)
    std::vector<int64_t> face_vertices;    // CCW loops of vertex ids
    std::vector<uint8_t> patterns;         // F x n_hidden
    std::vector<int64_t> ranks;            // F x hidden layers
    std::vector<double> A, c;              // F x out x 2, F x out: the network's affine map per face
    std::vector<double> areas, centroids;  // F, F x 2
    std::vector<int64_t> per_layer;        // faces after each hidden layer
};

// The partition of the polygon by every hidden layer (at least one), and each face's output map.
PlanarOutput planar_partition(const PlanarInput& in);

}  // namespace nncells
