// A growable array of doubles, grown by realloc: a large one (a mapping of its own) then grows by
// remapping its pages, neither copied nor touched again. For the arrays LP mode grows by hundreds
// of MB in the largest cells at 784 inputs: a split's witness balls (lp_split.hpp, doubled by
// each cutting hyperplane) and the finished regions' points (lp_mode.hpp).
#pragma once
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace nncells {

class Doubles {
public:
    Doubles() = default;
    Doubles(const Doubles&) = delete;
    Doubles& operator=(const Doubles&) = delete;
    Doubles(Doubles&& o) noexcept : p_(o.p_), n_(o.n_), cap_(o.cap_) { o.p_ = nullptr, o.n_ = o.cap_ = 0; }
    Doubles& operator=(Doubles&& o) noexcept {
        std::swap(p_, o.p_);
        std::swap(n_, o.n_);
        std::swap(cap_, o.cap_);
        return *this;
    }
    ~Doubles() { std::free(p_); }
    double* data() { return p_; }
    const double* data() const { return p_; }
    size_t size() const { return n_; }
    void reserve(size_t n) {
        if (n <= cap_) return;
        void* q = std::realloc(p_, n * sizeof(double));
        if (!q) throw std::bad_alloc();
        p_ = static_cast<double*>(q);
        cap_ = n;
    }
    void append(const double* x, size_t k) {  // (x must not point into this array)
        if (k == 0) return;
        if (n_ + k > cap_) reserve(std::max(n_ + k, 2 * cap_));
        std::memcpy(p_ + n_, x, k * sizeof(double));
        n_ += k;
    }
    void truncate(size_t n) { n_ = std::min(n, n_); }

private:
    double* p_ = nullptr;
    size_t n_ = 0, cap_ = 0;
};

}  // namespace nncells
