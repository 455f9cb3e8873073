// nanobind bindings of the compiled core: conversions between numpy arrays and the core's
// structures, nothing else. Python side: src/nncells/kernels/.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "doubles.hpp"
#include "pullback.hpp"
#include "vertex.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace {

template <class T>
using In1 = nb::ndarray<const T, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
template <class T>
using In2 = nb::ndarray<const T, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

// A numpy array that owns `v` (no copy).
template <class T>
nb::object to_numpy(std::vector<T>&& v, std::initializer_list<size_t> shape) {
    auto* p = new std::vector<T>(std::move(v));
    nb::capsule owner(p, [](void* q) noexcept { delete static_cast<std::vector<T>*>(q); });
    return nb::cast(nb::ndarray<nb::numpy, T>(p->data(), shape, owner));
}

nb::object to_numpy(nncells::Doubles&& v, std::initializer_list<size_t> shape) {
    auto* p = new nncells::Doubles(std::move(v));
    nb::capsule owner(p, [](void* q) noexcept { delete static_cast<nncells::Doubles*>(q); });
    return nb::cast(nb::ndarray<nb::numpy, double>(p->data(), shape, owner));
}

template <class T>
std::vector<T> vec(nb::handle h) {
    auto a = nb::cast<In1<T>>(h);
    return std::vector<T>(a.data(), a.data() + a.shape(0));
}

nncells::Task task_from_tuple(nb::handle obj) {
    nb::tuple t = nb::cast<nb::tuple>(obj);
    if (t.size() != 12 && t.size() != 13) throw nb::value_error("a task is a tuple of 12 or 13 items");
    nncells::Task task;
    task.layer = nb::cast<int>(t[0]);
    task.pattern = vec<uint8_t>(t[1]);
    task.ranks = vec<int64_t>(t[2]);
    auto A = nb::cast<In2<double>>(t[3]);
    nncells::Cell& C = task.cell;
    C.R = static_cast<int>(A.shape(0));
    const size_t d = A.shape(1);
    C.A.assign(A.data(), A.data() + C.R * d);
    C.c = vec<double>(t[4]);
    C.point = vec<double>(t[5]);
    C.radius = nb::cast<double>(t[6]);
    auto V = nb::cast<In2<double>>(t[7]);
    C.nv = static_cast<int>(V.shape(0));
    if (V.shape(1) != d || C.point.size() != d || C.c.size() != static_cast<size_t>(C.R))
        throw nb::value_error("task arrays of inconsistent shapes");
    C.V.assign(V.data(), V.data() + C.nv * d);
    auto act = nb::cast<In2<uint8_t>>(t[8]);
    if (act.shape(0) != static_cast<size_t>(C.nv) || act.shape(1) != static_cast<size_t>(C.R))
        throw nb::value_error("active sets of the wrong shape");
    C.words = (C.R + 63) / 64;
    C.act.assign(static_cast<size_t>(C.nv) * C.words, 0);
    for (int v = 0; v < C.nv; ++v)
        for (int r = 0; r < C.R; ++r)
            if (act.data()[static_cast<size_t>(v) * C.R + r]) C.act[v * C.words + r / 64] |= uint64_t(1) << (r % 64);
    auto vmag = nb::cast<In2<double>>(t[9]);
    if (vmag.shape(0) != static_cast<size_t>(C.nv) || vmag.shape(1) != d)
        throw nb::value_error("vertex magnitudes of the wrong shape");
    C.vmag.assign(vmag.data(), vmag.data() + C.nv * d);
    task.fresh = t[10].is_none();
    if (!task.fresh) {
        task.signs = vec<uint8_t>(t[10]);
        task.rest = vec<int64_t>(t[11]);
    }
    if (t.size() == 13 && !t[12].is_none()) {  // the rows' labels (facets mode, Cell::label)
        C.label = vec<int64_t>(t[12]);
        if (C.label.size() != static_cast<size_t>(C.R)) throw nb::value_error("one label per row of A");
    }
    return task;
}

nb::tuple task_to_tuple(nncells::Task&& t) {
    nncells::Cell& C = t.cell;
    const size_t d = C.point.size();
    std::vector<uint8_t> act(static_cast<size_t>(C.nv) * C.R, 0);
    for (int v = 0; v < C.nv; ++v)
        for (int r = 0; r < C.R; ++r) act[static_cast<size_t>(v) * C.R + r] = (C.act[v * C.words + r / 64] >> (r % 64)) & 1;
    const size_t np = t.pattern.size(), nr = t.ranks.size(), R = C.R, nv = C.nv, k = t.signs.size(),
                 nrest = t.rest.size();
    nb::object labels = C.label.empty() ? nb::none() : to_numpy(std::move(C.label), {R});
    return nb::make_tuple(t.layer, to_numpy(std::move(t.pattern), {np}), to_numpy(std::move(t.ranks), {nr}),
                          to_numpy(std::move(C.A), {R, d}), to_numpy(std::move(C.c), {R}),
                          to_numpy(std::move(C.point), {d}), C.radius, to_numpy(std::move(C.V), {nv, d}),
                          to_numpy(std::move(act), {nv, R}), to_numpy(std::move(C.vmag), {nv, d}),
                          to_numpy(std::move(t.signs), {k}), to_numpy(std::move(t.rest), {nrest}), labels);
}

nncells::Net make_net(nb::list weights, nb::list biases, double error_factor, nb::list linear) {
    nncells::Net net;
    if (weights.size() != biases.size()) throw nb::value_error("one bias vector per weight matrix");
    if (linear.size() != 0 && linear.size() != weights.size())
        throw nb::value_error("one mask of linear units per hidden layer, or none");
    net.error_factor = error_factor;
    for (size_t l = 0; l < weights.size(); ++l) {
        auto W = nb::cast<In2<double>>(weights[l]);
        auto b = nb::cast<In1<double>>(biases[l]);
        const int in = static_cast<int>(W.shape(1)), k = static_cast<int>(W.shape(0));
        if (l == 0) net.d = in;
        else if (in != net.widths.back()) throw nb::value_error("layer shapes do not chain");
        if (b.shape(0) != static_cast<size_t>(k)) throw nb::value_error("bias of the wrong length");
        net.widths.push_back(k);
        net.W.emplace_back(W.data(), W.data() + static_cast<size_t>(k) * in);
        std::vector<double> WT(static_cast<size_t>(k) * in);
        for (int i = 0; i < k; ++i)
            for (int j = 0; j < in; ++j) WT[static_cast<size_t>(j) * k + i] = net.W.back()[static_cast<size_t>(i) * in + j];
        net.WT.push_back(std::move(WT));
        net.b.emplace_back(b.data(), b.data() + k);
        net.n_hidden += k;
        if (linear.size() != 0) {
            auto mask = nb::cast<In1<uint8_t>>(linear[l]);
            if (mask.shape(0) != static_cast<size_t>(k)) throw nb::value_error("mask of linear units of the wrong length");
            net.linear.emplace_back(mask.data(), mask.data() + k);
        }
    }
    return net;
}

std::vector<nncells::Task> tasks_from_list(const nncells::Net& net, nb::list tasks) {
    std::vector<nncells::Task> ts;
    ts.reserve(tasks.size());
    for (nb::handle t : tasks) ts.push_back(task_from_tuple(t));
    const size_t d = ts.empty() ? static_cast<size_t>(net.d) : ts[0].cell.point.size();
    for (const auto& t : ts)
        if (t.cell.point.size() != d || t.layer < 0 || t.layer >= static_cast<int>(net.widths.size()))
            throw nb::value_error("tasks of different dimensions or a layer out of range");
    return ts;
}

}  // namespace

void bind_homology(nb::module_& m); // GF(2) persistence pairs' bindings, at the end of this file
void bind_lattice(nb::module_& m);  // the face lattice's bindings, at the end of this file
void bind_planar(nb::module_& m);  // the planar mesh's bindings, at the end of this file
void bind_lp(nb::module_& m);      // the box LP's bindings, at the end of this file
void bind_lp_mode(nb::module_& m); // LP mode's bindings, at the end of this file

NB_MODULE(_native, m) {
    m.doc() = "The compiled core of nncells (see src/nncells/kernels/__init__.py).";
    bind_homology(m);
    bind_lattice(m);
    bind_planar(m);
    bind_lp(m);
    bind_lp_mode(m);

    nb::class_<nncells::Net>(m, "Net", "The hidden layers of a network, as the core reads them.")
        .def("__init__",
             [](nncells::Net* self, nb::list weights, nb::list biases, double error_factor, nb::list linear) {
                 new (self) nncells::Net(make_net(weights, biases, error_factor, linear));
             },
             "weights"_a, "biases"_a, "error_factor"_a, "linear"_a = nb::list())
        .def_ro("input_dim", &nncells::Net::d)
        .def_ro("n_hidden", &nncells::Net::n_hidden);

    m.def(
        "set_avx2",
        [](bool on) {
            const bool was = nncells::avx2_available();
            nncells::avx2_allowed() = on;
            return was;
        },
        "on"_a,
        "Tests only: whether the AVX2 builds of the widest loops may run (simd.hpp; they give the same bits as "
        "the plain loops); returns whether they ran before the call.");

    m.def(
        "pull_back",
        [](const nncells::Net& net, int layer, In2<double> M, In1<double> m, In2<double> Mabs, int path) {
            if (layer < 1 || layer >= static_cast<int>(net.widths.size())) throw nb::value_error("pull_back: a layer after the first");
            const int in = net.in_dim(layer), d = static_cast<int>(M.shape(1));
            if (M.shape(0) != static_cast<size_t>(in) || m.shape(0) != static_cast<size_t>(in) ||
                Mabs.shape(0) != M.shape(0) || Mabs.shape(1) != M.shape(1) || d < 1)
                throw nb::value_error("pull_back: M, m, Mabs of the layer's inputs");
            std::vector<double> vM(M.data(), M.data() + in * d), vm(m.data(), m.data() + in),
                vA(Mabs.data(), Mabs.data() + in * d), H, g, Habs;
            nncells::pull_back(net, layer, d, vM, vm, vA, H, g, Habs, path);
            const size_t k = static_cast<size_t>(net.widths[layer]);
            return nb::make_tuple(to_numpy(std::move(H), {k, static_cast<size_t>(d)}), to_numpy(std::move(g), {k}),
                                  to_numpy(std::move(Habs), {k, static_cast<size_t>(d)}));
        },
        "net"_a, "layer"_a, "M"_a, "m"_a, "Mabs"_a, "path"_a = -1,
        "Layer `layer`'s rows pulled back through the map M x + m (|M| bounded by Mabs): (H, g, Habs); "
        "path -1 as the core chooses, 0 row by row, 1 along the units, 2 along the units in the baseline build "
        "(pullback.hpp).");

    m.def(
        "refine_vertex",
        [](const nncells::Net& net, double tol, int lifted_d, nb::list tasks, double budget_s, bool facets) {
            std::vector<nncells::Task> ts = tasks_from_list(net, tasks);
            size_t d = ts.empty() ? static_cast<size_t>(net.d) : ts[0].cell.point.size();
            nncells::Rule rule;
            rule.tol = tol;
            rule.lifted_d = lifted_d;
            nncells::Output out;
            {
                nb::gil_scoped_release release;
                out = nncells::refine(net, rule, ts, budget_s, facets);
            }
            const size_t n = static_cast<size_t>(out.n), L = net.widths.size(), nh = net.n_hidden;
            if (lifted_d >= 0) d = static_cast<size_t>(lifted_d);
            nb::list pending, deferred;
            for (auto& t : out.pending) pending.append(task_to_tuple(std::move(t)));
            for (auto& t : out.deferred) deferred.append(task_to_tuple(std::move(t)));
            nb::object fac = nb::none();
            if (facets) {
                const size_t m = out.facet_label.size();
                fac = nb::make_tuple(to_numpy(std::move(out.facet_start), {n + 1}),
                                     to_numpy(std::move(out.facet_group), {m}), to_numpy(std::move(out.facet_label), {m}),
                                     to_numpy(std::move(out.facet_flag), {n}));
            }
            return nb::make_tuple(to_numpy(std::move(out.patterns), {n, nh}), to_numpy(std::move(out.points), {n, d}),
                                  to_numpy(std::move(out.radii), {n}), to_numpy(std::move(out.ranks), {n, L}),
                                  to_numpy(std::move(out.per_layer), {L}), pending, deferred, fac);
        },
        "net"_a, "tol"_a, "lifted_d"_a, "tasks"_a, "budget_s"_a, "facets"_a = false,
        "Refine vertex-mode tasks depth-first through all remaining layers (see kernels.vertex).");
}

// ------------------------------------------------------------------------------------------------
// The planar mesh (planar.hpp; Python side: src/nncells/kernels/planar.py).
#include "planar.hpp"

void bind_planar(nb::module_& m) {
    m.def(
        "planar_partition",
        [](In2<double> polygon, nb::list weights, nb::list biases, nb::list line_err, double gamma3) {
            nncells::PlanarInput in;
            if (polygon.shape(1) != 2 || polygon.shape(0) < 3) throw nb::value_error("the polygon must be (k >= 3, 2)");
            in.polygon.assign(polygon.data(), polygon.data() + polygon.shape(0) * 2);
            if (weights.size() != biases.size() || weights.size() < 2 || line_err.size() != weights.size() - 1)
                throw nb::value_error("one bias per layer, at least one hidden layer, one error array per hidden layer");
            for (size_t l = 0; l < weights.size(); ++l) {
                auto W = nb::cast<In2<double>>(weights[l]);
                auto b = nb::cast<In1<double>>(biases[l]);
                const int rows = static_cast<int>(W.shape(0)), cols = static_cast<int>(W.shape(1));
                if (cols != (l == 0 ? 2 : in.rows.back()) || b.shape(0) != W.shape(0))
                    throw nb::value_error("layer shapes do not chain from 2 inputs");
                in.rows.push_back(rows);
                in.cols.push_back(cols);
                in.W.emplace_back(W.data(), W.data() + W.shape(0) * W.shape(1));
                in.b.emplace_back(b.data(), b.data() + rows);
            }
            for (size_t l = 0; l + 1 < weights.size(); ++l) {
                auto e = nb::cast<In1<double>>(line_err[l]);
                if (l > 0 && e.shape(0) != static_cast<size_t>(in.rows[l]))
                    throw nb::value_error("an error bound per neuron of each hidden layer after the first");
                in.line_err.emplace_back(e.data(), e.data() + e.shape(0));
            }
            in.gamma3 = gamma3;
            nncells::PlanarOutput out;
            {
                nb::gil_scoped_release release;
                out = nncells::planar_partition(in);
            }
            const size_t F = out.areas.size(), nv = out.vertices.size() / 2, nl = in.rows.size() - 1,
                         H = F ? out.patterns.size() / F : 0, o = static_cast<size_t>(in.rows.back());
            const size_t nfv = out.face_vertices.size();
            return nb::make_tuple(
                to_numpy(std::move(out.vertices), {nv, 2}), to_numpy(std::move(out.face_start), {F + 1}),
                to_numpy(std::move(out.face_vertices), {nfv}), to_numpy(std::move(out.patterns), {F, H}),
                to_numpy(std::move(out.ranks), {F, nl}), to_numpy(std::move(out.A), {F, o, 2}),
                to_numpy(std::move(out.c), {F, o}), to_numpy(std::move(out.areas), {F}),
                to_numpy(std::move(out.centroids), {F, 2}), to_numpy(std::move(out.per_layer), {nl}));
        },
        "polygon"_a, "weights"_a, "biases"_a, "line_err"_a, "gamma3"_a,
        "The exact planar partition of a convex CCW polygon by a 2-input network (see kernels.planar).");
}
// ------------------------------------------------------------------------------------------------
// Persistence pairs over GF(2) (homology.hpp; Python side: src/nncells/kernels/homology.py).
#include "homology.hpp"

void bind_homology(nb::module_& m) {
    m.def(
        "gf2_pairs",
        [](In1<int64_t> dims, In1<int64_t> order, In1<int64_t> start, In1<int64_t> faces) {
            const int64_t n = static_cast<int64_t>(dims.shape(0));
            if (order.shape(0) != dims.shape(0) || start.shape(0) != dims.shape(0) + 1)
                throw nb::value_error("gf2_pairs: order has n entries, start n + 1");
            const int64_t* s = start.data();
            if (s[0] != 0 || s[n] != static_cast<int64_t>(faces.shape(0)))
                throw nb::value_error("gf2_pairs: start must run from 0 to len(faces)");
            for (int64_t c = 0; c < n; ++c)
                if (s[c + 1] < s[c]) throw nb::value_error("gf2_pairs: start must not decrease");
            for (size_t e = 0; e < faces.shape(0); ++e)
                if (faces.data()[e] < 0 || faces.data()[e] >= n) throw nb::value_error("gf2_pairs: a face out of range");
            nncells::Gf2Pairs r;
            {
                nb::gil_scoped_release release;
                r = nncells::gf2_pairs(n, dims.data(), order.data(), s, faces.data());
            }
            const size_t k = r.births.size();
            return nb::make_tuple(to_numpy(std::move(r.births), {k}), to_numpy(std::move(r.deaths), {k}), r.additions);
        },
        "dims"_a, "order"_a, "start"_a, "faces"_a,
        "Persistence pairs over GF(2) by column reduction with clearing (see kernels.homology).");
}
// ------------------------------------------------------------------------------------------------
// The face lattice of a polytope (lattice.hpp; Python side: src/nncells/kernels/lattice.py).
#include "lattice.hpp"

void bind_lattice(nb::module_& m) {
    m.def(
        "face_lattice",
        [](In2<uint64_t> zero, int d) {
            nncells::Lattice r = nncells::face_lattice(d, static_cast<int>(zero.shape(0)),
                                                       static_cast<int>(zero.shape(1)), zero.data());
            const size_t f = r.faces.size(), e = r.inc.size() / 2;
            return nb::make_tuple(to_numpy(std::move(r.faces), {f}), to_numpy(std::move(r.dims), {f}),
                                  to_numpy(std::move(r.inc), {e, 2}), r.chi, static_cast<int>(r.status));
        },
        "zero"_a, "d"_a, "The face lattice of a polytope from its vertices' vanishing constraints (see kernels.lattice).");
}
// ------------------------------------------------------------------------------------------------
// The box LP of LP mode (lp.hpp; Python side: src/nncells/geometry/box_lp.py).
#include "lp.hpp"
#include "lp_mix.hpp"

namespace {

void check_box_lp_shapes(const In2<double>& A, const In1<double>& c, const In1<double>& lo, const In1<double>& hi) {
    if (c.shape(0) != A.shape(0) || lo.shape(0) != A.shape(1) || hi.shape(0) != A.shape(1))
        throw nb::value_error("box LP: A is (m, d), c (m,), lo and hi (d,)");
}

}  // namespace

void bind_lp(nb::module_& m) {
    m.def(
        "box_lp_solve",
        [](In2<double> A, In1<double> c, In1<double> lo, In1<double> hi, double zcap, nb::handle basis, int max_iter,
           double cutoff, double primal_tol, double dual_tol, bool perturb) {
            check_box_lp_shapes(A, c, lo, hi);
            nncells::BoxLp lp;
            lp.m = static_cast<int>(A.shape(0));
            lp.d = static_cast<int>(A.shape(1));
            lp.A = A.data();
            lp.c = c.data();
            lp.lo = lo.data();
            lp.hi = hi.data();
            lp.zcap = zcap;
            std::vector<int8_t> start;
            if (!basis.is_none()) {
                start = vec<int8_t>(basis);
                if (start.size() != static_cast<size_t>(lp.d + 1 + lp.m))
                    throw nb::value_error("box LP: the basis has one status per column: d + 1 + m");
            }
            nncells::BoxLpOptions opt;
            opt.max_iter = max_iter;
            opt.cutoff = cutoff;
            opt.primal_tol = primal_tol;
            opt.dual_tol = dual_tol;
            opt.perturb = perturb;
            nncells::BoxLpResult r;
            {
                nb::gil_scoped_release release;
                r = nncells::solve_box_lp(lp, basis.is_none() ? nullptr : start.data(), opt);
            }
            const size_t d = r.x.size(), k = r.y.size(), n = r.basis.size();
            return nb::make_tuple(static_cast<int>(r.status), to_numpy(std::move(r.x), {d}), r.z,
                                  to_numpy(std::move(r.y), {k}), to_numpy(std::move(r.basis), {n}), r.iterations,
                                  r.warm, r.perturbed);
        },
        "A"_a, "c"_a, "lo"_a, "hi"_a, "zcap"_a, "basis"_a.none(), "max_iter"_a, "cutoff"_a, "primal_tol"_a,
        "dual_tol"_a, "perturb"_a = false, "max z s.t. A x + z <= c, lo <= x <= hi, z <= zcap (see geometry.box_lp).");
    m.def(
        "best_mixture",
        [](In2<double> M) -> nb::object {
            if (M.shape(0) < 1 || M.shape(1) < 1) throw nb::value_error("best_mixture: M is (rows >= 1, columns >= 1)");
            const size_t R = M.shape(0), P = M.shape(1);
            nncells::Mixture g = nncells::best_mixture(M.data(), static_cast<int>(R), static_cast<int>(P));
            if (!g.ok) return nb::none();
            return nb::make_tuple(g.value, to_numpy(std::move(g.lambda), {P}), to_numpy(std::move(g.y), {R}));
        },
        "M"_a, "The game max over lambda in the simplex of min_r (M lambda)_r (native/lp_mix.hpp): (value, lambda, y) or None.");
    m.def(
        "mixture_rounds",
        [](In2<double> M, nb::list batches) -> nb::list {
            const int R = static_cast<int>(M.shape(0)), P = static_cast<int>(M.shape(1));
            if (R < 1 || P < 1) throw nb::value_error("mixture_rounds: M is (rows >= 1, columns >= 1)");
            nncells::MixtureGame game;
            game.reset(R);
            std::vector<double> col(R);
            nb::list out;
            int k = 0;
            for (nb::handle h : batches) {
                const int upto = nb::cast<int>(h);
                if (upto <= k || upto > P) throw nb::value_error("mixture_rounds: batches rise within 1..columns");
                for (; k < upto; ++k) {
                    for (int r = 0; r < R; ++r) col[r] = M.data()[static_cast<size_t>(r) * P + k];
                    game.add(col.data());
                }
                nncells::Mixture g = game.solve();
                if (!g.ok) {
                    out.append(nb::none());
                    continue;
                }
                const size_t np = static_cast<size_t>(k);
                out.append(nb::make_tuple(g.value, to_numpy(std::move(g.lambda), {np}),
                                          to_numpy(std::move(g.y), {static_cast<size_t>(R)}), g.warm, g.iterations));
            }
            return out;
        },
        "M"_a, "batches"_a,
        "Tests only: the game of M's first batches[0] columns, then of its first batches[1], ... played on "
        "from each optimum (native/lp_mix.hpp MixtureGame): for each, (value, lambda, y, warm, iterations) or None.");
    m.def(
        "box_lp_certified_margin",
        [](In2<double> A, In1<double> c0, In1<double> lo0, In1<double> hi0, In1<double> x, double error_factor) {
            check_box_lp_shapes(A, c0, lo0, hi0);
            if (x.shape(0) != A.shape(1)) throw nb::value_error("box LP: x has d entries");
            return nncells::certified_margin(A.data(), c0.data(), lo0.data(), hi0.data(), x.data(),
                                             static_cast<int>(A.shape(0)), static_cast<int>(A.shape(1)), error_factor);
        },
        "A"_a, "c0"_a, "lo0"_a, "hi0"_a, "x"_a, "error_factor"_a, "The certified margin of x (see geometry.box_lp).");
    m.def(
        "box_lp_farkas_bound",
        [](In2<double> A, In1<double> c0, In1<double> lo0, In1<double> hi0, In1<double> y, double error_factor) {
            check_box_lp_shapes(A, c0, lo0, hi0);
            if (y.shape(0) != A.shape(0)) throw nb::value_error("box LP: y has m entries");
            auto r = nncells::farkas_bound(A.data(), c0.data(), lo0.data(), hi0.data(), y.data(),
                                           static_cast<int>(A.shape(0)), static_cast<int>(A.shape(1)), error_factor);
            return nb::make_tuple(r.first, r.second);
        },
        "A"_a, "c0"_a, "lo0"_a, "hi0"_a, "y"_a, "error_factor"_a,
        "The Farkas bound of y and its error bound (see geometry.box_lp).");
}
// ------------------------------------------------------------------------------------------------
// LP mode (lp_mode.hpp; Python side: src/nncells/kernels/lp.py).
#include "lp_mode.hpp"

namespace {

// A light task: (layer, pattern uint8, ranks int64, cuts uint8, point float64, radius, basis int8).
nncells::LpTask lp_task_from_tuple(nb::handle obj, size_t d) {
    nb::tuple t = nb::cast<nb::tuple>(obj);
    if (t.size() != 7) throw nb::value_error("an LP-mode task is a tuple of 7 items");
    nncells::LpTask task;
    task.layer = nb::cast<int>(t[0]);
    task.pattern = vec<uint8_t>(t[1]);
    task.ranks = vec<int64_t>(t[2]);
    task.cuts = vec<uint8_t>(t[3]);
    task.point = vec<double>(t[4]);
    task.radius = nb::cast<double>(t[5]);
    task.basis = vec<int8_t>(t[6]);
    if (task.point.size() != d || task.cuts.size() != task.pattern.size() ||
        task.ranks.size() != static_cast<size_t>(task.layer))
        throw nb::value_error("LP-mode task arrays of inconsistent shapes");
    return task;
}

nb::tuple lp_task_to_tuple(nncells::LpTask&& t) {
    const size_t np = t.pattern.size(), nr = t.ranks.size(), d = t.point.size(), nb_ = t.basis.size();
    return nb::make_tuple(t.layer, to_numpy(std::move(t.pattern), {np}), to_numpy(std::move(t.ranks), {nr}),
                          to_numpy(std::move(t.cuts), {np}), to_numpy(std::move(t.point), {d}), t.radius,
                          to_numpy(std::move(t.basis), {nb_}));
}

}  // namespace

void bind_lp_mode(nb::module_& m) {
    m.def(
        "refine_lp",
        [](const nncells::Net& net, double tol, double borderline, double lp_tol, In1<double> lo, In1<double> hi,
           nb::list tasks, double budget_s, int off) {
            const size_t d = static_cast<size_t>(net.d);
            if (lo.shape(0) != d || hi.shape(0) != d) throw nb::value_error("the box has one bound per input");
            std::vector<double> vlo(lo.data(), lo.data() + d), vhi(hi.data(), hi.data() + d);
            std::vector<nncells::LpTask> ts;
            for (nb::handle t : tasks) {
                ts.push_back(lp_task_from_tuple(t, d));
                const auto& b = ts.back();
                size_t expect = 0;
                for (int l = 0; l < b.layer && l < static_cast<int>(net.widths.size()); ++l) expect += net.widths[l];
                if (b.layer < 0 || b.layer >= static_cast<int>(net.widths.size()) || b.pattern.size() != expect)
                    throw nb::value_error("an LP-mode task's layer or pattern does not fit the network");
            }
            nncells::LpSettings st;
            st.tol = tol;
            st.borderline = borderline;
            st.lp_tol = lp_tol;
            st.off = off;
            // Python's signal handlers run here (Ctrl-C, a dry run's timer): one that raises stops the core
            st.interrupted = [] {
                nb::gil_scoped_acquire acquire;
                return PyErr_CheckSignals() != 0;
            };
            nncells::LpOutput out;
            try {
                nb::gil_scoped_release release;
                out = nncells::lp_refine(net, st, vlo, vhi, ts, budget_s);
            } catch (const nncells::LpInterrupted&) {
                throw nb::python_error();  // the exception the handler raised
            }
            const size_t n = static_cast<size_t>(out.n), L = net.widths.size(), nh = net.n_hidden;
            nb::list pending, deferred;
            for (auto& t : out.pending) pending.append(lp_task_to_tuple(std::move(t)));
            for (auto& t : out.deferred) deferred.append(lp_task_to_tuple(std::move(t)));
            const auto& c = out.counts;
            nb::dict counts;
            counts["lp_solves"] = c.lp_solves;
            counts["iterations"] = c.iterations;
            counts["warm"] = c.warm;
            counts["warm_iterations"] = c.warm_iterations;
            counts["lp_yes"] = c.lp_yes;
            counts["lp_no"] = c.lp_no;
            counts["by_ball"] = c.by_ball;
            counts["by_ray"] = c.by_ray;
            counts["by_mix"] = c.by_mix;
            counts["mixes"] = c.mixes;
            counts["by_certificate"] = c.by_certificate;
            counts["deferred"] = c.deferred;
            counts["recentred"] = c.recentred;
            counts["ranks_reduced"] = c.ranks_reduced;
            return nb::make_tuple(to_numpy(std::move(out.patterns), {n, nh}), to_numpy(std::move(out.points), {n, d}),
                                  to_numpy(std::move(out.radii), {n}), to_numpy(std::move(out.ranks), {n, L}),
                                  to_numpy(std::move(out.per_layer), {L}), pending, deferred, counts);
        },
        "net"_a, "tol"_a, "borderline"_a, "lp_tol"_a, "lo"_a, "hi"_a, "tasks"_a, "budget_s"_a, "off"_a = 0,
        "Refine LP-mode tasks of a box depth-first through all remaining layers (see kernels.lp).");
}
