// Internals of the planar mesh shared by planar.cpp (the mesh and its split) and
// planar_lines.cpp (each layer's lines, bits, ranks and candidate cuts). See planar.hpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace nncells {
namespace planar_detail {

// A large scratch array, not zero-initialised; on Linux backed by transparent huge pages where
// the system allows them (faulting in hundreds of MB of 4 KiB pages costs more than filling them).
template <class T>
class Big {
    T* p_ = nullptr;
    size_t n_ = 0;
    void* map_ = nullptr;
    size_t map_bytes_ = 0;

    void release() {
#if defined(__linux__)
        if (map_) munmap(map_, map_bytes_);
        else
#endif
            delete[] p_;
        p_ = nullptr;
        map_ = nullptr;
        n_ = map_bytes_ = 0;
    }

public:
    Big() = default;
    Big(const Big&) = delete;
    Big& operator=(const Big&) = delete;
    Big(Big&& o) noexcept { swap(o); }
    Big& operator=(Big&& o) noexcept {
        swap(o);
        return *this;
    }
    ~Big() { release(); }
    void swap(Big& o) noexcept {
        std::swap(p_, o.p_);
        std::swap(n_, o.n_);
        std::swap(map_, o.map_);
        std::swap(map_bytes_, o.map_bytes_);
    }
    // n elements, contents undefined
    void resize(size_t n) {
        release();
        n_ = n;
#if defined(__linux__)
        constexpr size_t huge = size_t(1) << 21;
        if (n * sizeof(T) >= 2 * huge) {
            const size_t bytes = n * sizeof(T) + huge;
            void* q = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (q != MAP_FAILED) {
                map_ = q;
                map_bytes_ = bytes;
                const uintptr_t a = (reinterpret_cast<uintptr_t>(q) + huge - 1) & ~(uintptr_t(huge) - 1);
                madvise(reinterpret_cast<void*>(a), n * sizeof(T), MADV_HUGEPAGE);
                p_ = reinterpret_cast<T*>(a);
                return;
            }
        }
#endif
        p_ = new T[n];
    }
    T* data() { return p_; }
    const T* data() const { return p_; }
    size_t size() const { return n_; }
    T& operator[](size_t i) { return p_[i]; }
    const T& operator[](size_t i) const { return p_[i]; }
};

// The mesh (_Mesh): vertex pool (coordinates and magnitude), a loop pool, and per face its loop,
// its parent (face of the previous layer's partition) and the face it was split from (-1: none).
struct Mesh {
    struct Vertex {
        double x, y, m;  // coordinates, magnitude of the numbers they were computed from
    };
    std::vector<Vertex> V;
    std::vector<int64_t> loops, start, len, parent, origin;
    int64_t garbage = 0;
    int64_t nf() const { return static_cast<int64_t>(start.size()); }

    void compact() {  // _Mesh.compact
        std::vector<int64_t> out;
        out.reserve(loops.size() - garbage);
        for (int64_t f = 0; f < nf(); ++f) {
            const int64_t s = static_cast<int64_t>(out.size());
            out.insert(out.end(), loops.begin() + start[f], loops.begin() + start[f] + len[f]);
            start[f] = s;
        }
        loops.swap(out);
        garbage = 0;
    }
};

struct Geometry {
    std::vector<double> area, cx, cy, rad;
};

// Candidate cuts of a layer, grouped by neuron (CSR), faces ascending within a neuron.
struct Cands {
    std::vector<int64_t> offs, face;
    std::vector<double> a, b, c;
};

// Candidate cuts found face by face (grouped by neuron afterwards, see `group`), and per face
// the neurons whose lines come near it (`near`, CSR) with the sign bits of every neuron at its
// centroid (`pre`): a neuron not near a face has that sign all over the face.
struct CandList {
    std::vector<int32_t> neuron;
    std::vector<int64_t> face;
    std::vector<double> a, b, c;
};
struct Near {
    std::vector<int64_t> offs{0};
    std::vector<int32_t> idx;
    Big<uint8_t> pre;  // faces x width
};

// _Mesh.geometry: per face area, centroid and farthest vertex from the centroid (compacts).
void geometry(Mesh& m, Geometry& g);

// _candidates for one face (see planar_lines.cpp).
void face_candidates(const double* Lx, const double* Ly, const double* Lc, int m, const double* err, int64_t f,
                     double cx, double cy, double rad, double g3, CandList& out, Near& near,
                     std::vector<uint8_t>& far);

// Stable grouping of candidate cuts by neuron.
void group(const CandList& in, int width, Cands& out);

// _advance (see planar_lines.cpp).
void advance(const Mesh& m, const Geometry& g, const Big<double>& L, int k, const Near& nin, const double* W,
             const double* bias, int mo, const double* err, double g3, Big<uint8_t>& bits,
             std::vector<int64_t>& ranks, Big<double>& nxt, Cands* cand, Near* nout);

}  // namespace planar_detail
}  // namespace nncells
