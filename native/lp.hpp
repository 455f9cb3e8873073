// A small dense bounded-variable LP solver for LP mode in high dimension (DESIGN.md, "LP mode in
// high dimension"), and the float64 checks of its answers. The LP, in "shrunk cell" form:
//
//     maximise z  subject to  A_i x + z <= c_i  (i < m; unit rows, dense, d columns),
//                             lo_j <= x_j <= hi_j  (j < d: bounds, not rows),  z <= zcap.
//
// Solved by a dual simplex on the m rows with an explicit m x m basis inverse (lp.cpp): the box
// bounds never become rows, so an iteration costs O(m d) and few are needed for m << d. Nothing
// here is trusted by the caller: a "yes" is checked by `certified_margin`, a "no" by
// `farkas_bound`. The Python side is src/nncells/geometry/box_lp.py (numpy twins of both checks).
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

namespace nncells {

// How a solve ended.
enum class LpStatus : int {
    Optimal = 0,         // x, z optimal (to the solver's tolerances); y the optimal row duals
    Infeasible = 1,      // some lo_j > hi_j (z is free below: nothing else makes the LP infeasible)
    IterationLimit = 2,  // x, z, y the last iterate's (y dual feasible: still a Farkas candidate)
    Failed = 3,          // numerical trouble (a singular basis that refactoring did not cure)
    Cutoff = 4,          // the dual bound on z fell below `cutoff`: y is a certificate candidate
};

// A column's place in a basis: columns are x_0..x_{d-1}, z, then the rows' slacks s_0..s_{m-1}
// (s_i = c_i - A_i x - z >= 0), so a child LP with one more row extends its parent's basis by
// appending kBasic (the new row's slack).
constexpr int8_t kAtLower = 0, kAtUpper = 1, kBasic = 2;

struct BoxLp {
    int m = 0, d = 0;
    const double* A = nullptr;   // m x d, row-major, rows of unit Euclidean norm
    const double* c = nullptr;   // m
    const double* lo = nullptr;  // d (may be -inf)
    const double* hi = nullptr;  // d (may be +inf)
    double zcap = 1.0;
};

struct BoxLpOptions {
    int max_iter = -1;           // -1: 1000 + 20 (m + 1)
    double cutoff = -1e300;      // stop once the dual bound on z (an upper bound) is below this
    double primal_tol = 1e-9;    // relative to the problem's scale (its largest |c|, |lo|, |hi|, zcap)
    double dual_tol = 1e-9;      // absolute (unit rows: reduced costs are O(1))
    bool perturb = false;        // perturb the costs from the start: now always done (lp.cpp)
};

struct BoxLpResult {
    LpStatus status = LpStatus::Failed;
    std::vector<double> x;          // d, inside [lo, hi]
    double z = 0.0;                 // optimal: min(zcap, min_i c_i - A_i x) for the x returned
    std::vector<double> y;          // m row duals >= 0; sum 1 when z is basic (sum 0: z = zcap)
    std::vector<int8_t> basis;      // d + 1 + m column statuses (kAtLower, kAtUpper, kBasic)
    int iterations = 0;
    bool warm = false;              // whether the basis given was used (else a cold start)
    bool perturbed = false;         // whether the costs were perturbed (and the primal simplex cleaned up)
};

// Solve the LP; `basis` (d + 1 + m statuses, exactly m of them kBasic) or nullptr: a warm start.
// A basis that is singular or not dual feasible is replaced by the cold one (all slacks basic).
BoxLpResult solve_box_lp(const BoxLp& lp, const int8_t* basis, const BoxLpOptions& opt);

// The certified margin of x clamped into [lo0, hi0]:
//   min( min_i (c0_i - A_i x) - err_i,  min_j (x_j - lo0_j, hi0_j - x_j) less their rounding ),
// err_i = gamma(d + 1) (|c0_i| + |A_i| . |x|), gamma(n) = error_factor n eps (contract.gamma).
// When positive, the point x is at least this far inside every row and inside the box.
double certified_margin(const double* A, const double* c0, const double* lo0, const double* hi0,
                        const double* x, int m, int d, double error_factor);
// The same over rows given by pointers (each of d entries): no copy of a cell's rows.
double certified_margin(const double* const* rows, const double* c0, const double* lo0, const double* hi0,
                        const double* x, int m, int d, double error_factor);

// The Farkas (weak duality) bound of y >= 0 (negatives clipped, then normalised to sum 1):
// every x in [lo0, hi0] has min_i (c0_i - A_i x) <= U(y) = y.c0 - sum_j min(g_j lo0_j, g_j hi0_j),
// g = A^T y. Returns (U(y) in float64, a rigorous bound on its rounding error): value + error <= 0
// proves that no point of the box has a positive margin. (+inf, 0) when y is 0 or the box is
// unbounded where g may point out of it.
std::pair<double, double> farkas_bound(const double* A, const double* c0, const double* lo0, const double* hi0,
                                       const double* y, int m, int d, double error_factor);

}  // namespace nncells
