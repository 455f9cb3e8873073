// LP mode of the layer-wise refinement, compiled (DESIGN.md, "LP mode in high dimension"): the
// cells of a box domain in more than VERTEX_MAX_DIM inputs, the box kept once as variable bounds,
// each cell light (its pattern, the neurons that cut it, an interior ball). A task runs
// depth-first through all remaining layers; each split decides every (sub-cell, side) pair by
// witness balls, kept Farkas certificates, rays, and last the shrunk-box LP of lp.hpp, whose
// "yes" is a witness point and whose "no" a Farkas bound, both checked in float64. A decision
// neither settles (a side thinner than about the threshold, or an LP the core could not solve)
// defers the whole split to the numpy twin, which asks the exact LP (HiGHS) and counts a fallback.
// The numpy twin is src/nncells/engine/split.py (_split_by_lps, _Sides, _shoot: lp_split.hpp) and
// src/nncells/geometry/box_depth.py (BoxDepth: lp_decide.hpp); the Python side is
// src/nncells/engine/lp_core.py.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "doubles.hpp"
#include "vertex.hpp"

namespace nncells {

// A light task: a region of the first `layer` hidden layers waiting for layer `layer`'s neurons.
struct LpTask {
    int layer = 0;
    std::vector<uint8_t> pattern;  // the layers before `layer`
    std::vector<int64_t> ranks;    // rank of the map to each of those layers' outputs
    std::vector<uint8_t> cuts;     // per neuron of `pattern`: its hyperplane bounds the cell
    std::vector<double> point;     // d, inside the cell, `radius` deep (certified)
    double radius = 0.0;
    std::vector<int8_t> basis;     // a final basis of a shrunk-box LP over exactly the cell's rows
                                   // (its parent split's; a warm start), or empty
};

struct LpSettings {
    double tol = 1e-9;          // the contract's threshold (Rule.tol)
    double borderline = 100.0;  // _config.BORDERLINE
    double lp_tol = 1e-9;       // _config.LP_FEASIBILITY_TOL (the box LP's tolerances)
    int off = 0;                // tests only: kOff* bits switch a way of deciding off
    // Asked every few milliseconds, also inside a split (one split of a wide layer can take
    // minutes): true stops the call by throwing LpInterrupted (the bindings run Python's signal
    // handlers here, so Ctrl-C and timers reach a long split). Empty: never asked.
    std::function<bool()> interrupted;
};

struct LpInterrupted {};  // thrown out of lp_refine when `interrupted` said so

// Bits of LpSettings::off. Each switched-off path turns its answers into "unsure" (balls, rays
// and certificates then leave the side to the LP; an LP's point or Farkas bound that is refused
// defers the split), so tests can show that every path is used and that none is needed for the
// right answer. kOffCutoff: no LP stops at its dual bound's cutoff (lp_decide.hpp); kOffCutoffProof:
// the certificate of one so stopped counts as unverified (the LP then runs on to its optimum);
// kOffReducedRanks: every rank from the k x d map (lp_ranks.hpp).
constexpr int kOffBalls = 1, kOffRays = 2, kOffCertificates = 4, kOffWitness = 8, kOffFarkas = 16,
              kOffCutoff = 32, kOffCutoffProof = 64, kOffReducedRanks = 128, kOffMix = 256;

// Counters of one call: how the (sub-cell, side) pairs were decided.
struct LpCounts {
    int64_t lp_solves = 0;      // shrunk-box LPs
    int64_t iterations = 0;     // their simplex iterations
    int64_t warm = 0;           // LPs of splits that started from a basis given (warm_iterations: theirs)
    int64_t warm_iterations = 0;
    int64_t lp_yes = 0;         // sides an LP's verified point proved
    int64_t lp_no = 0;          // sides an LP's verified Farkas bound refuted
    int64_t by_ball = 0;        // sides a witness ball's cap proved (no LP)
    int64_t by_ray = 0;         // sides a ray proved (no LP)
    int64_t by_mix = 0;         // sides a mixture of witness balls proved (no LP; lp_split.hpp `mix`)
    int64_t mixes = 0;          // mixtures certified (whether or not they proved the side)
    int64_t by_certificate = 0; // sides a kept certificate refuted (no LP)
    int64_t deferred = 0;       // splits handed to the numpy twin (an undecided side)
    int64_t recentred = 0;      // finished regions near the borderline given one more LP (a deeper point)
    int64_t ranks_reduced = 0;  // ranks decided from the pattern's small matrix (lp_ranks.hpp)
};

struct LpOutput {
    int64_t n = 0;                   // finished regions
    std::vector<uint8_t> patterns;   // n x n_hidden
    Doubles points;                  // n x d
    std::vector<double> radii;       // n
    std::vector<int64_t> ranks;      // n x len(widths)
    std::vector<int64_t> per_layer;  // regions created at each hidden layer
    std::vector<LpTask> pending;     // not explored when the time budget ran out
    std::vector<LpTask> deferred;    // splits an LP could not settle: as received, for the numpy twin
    LpCounts counts;
};

// Refine `tasks` (cells of the box [lo, hi]) depth-first through all remaining layers for at
// most `budget_s` seconds (at least one task is always processed).
LpOutput lp_refine(const Net& net, const LpSettings& settings, const std::vector<double>& lo,
                   const std::vector<double>& hi, std::vector<LpTask>& tasks, double budget_s);

}  // namespace nncells
