// AVX2 builds of the core's widest loops, chosen at run time where the CPU has AVX2 (x86-64 with
// GCC; elsewhere the plain loops run). Each computes the same operations in the same order as
// its plain twin, lane for lane (a product and a sum each rounded: no FMA, -ffp-contract=off),
// so the results are bit for bit the same on every machine: only the speed differs.
#pragma once
#include <cmath>
#include <cstddef>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define NNCELLS_AVX2 1
#include <immintrin.h>
#else
#define NNCELLS_AVX2 0
#endif

namespace nncells {

// Tests only (`_native.set_avx2`): false runs the plain loops even where AVX2 is there.
inline bool& avx2_allowed() {
    static bool on = true;
    return on;
}

// Whether the AVX2 builds run here (x86-64 with GCC, the CPU has AVX2, and they are allowed).
inline bool avx2_available() {
#if NNCELLS_AVX2
    static const bool yes = (__builtin_cpu_init(), __builtin_cpu_supports("avx2") != 0);
    return yes && avx2_allowed();
#else
    return false;
#endif
}

// Vectors shorter than this stay in the plain loops (the call would cost more than it saves).
constexpr int kWide = 32;

// The sums of linalg.hpp's dot and dot_mag and of lp.cpp's below keep 16 partial sums: entry j
// goes to s[j % 16] (in the AVX2 builds, four accumulators of four lanes: four chains of
// additions in flight instead of one), combined in this fixed order.
inline double sum16(const double s[16]) {
    double t[4];
    for (int l = 0; l < 4; ++l) t[l] = (s[l] + s[4 + l]) + (s[8 + l] + s[12 + l]);
    return (t[0] + t[1]) + (t[2] + t[3]);
}

// One step of linalg.hpp's best_above: x (index b) joins the k best (values descending, ties: the
// lower index first, so a later equal value never enters); `cut` is what the next must beat.
inline void best_above_insert(double x, size_t b, size_t k, double* val, size_t* idx, size_t& count, double& cut) {
    size_t q = count < k ? count++ : k - 1;
    for (; q > 0 && val[q - 1] < x; --q) {
        val[q] = val[q - 1];
        idx[q] = idx[q - 1];
    }
    val[q] = x;
    idx[q] = b;
    if (count == k) cut = val[k - 1];
}

#if NNCELLS_AVX2
// linalg.hpp's dot over the entries below n & ~15: partial sum s[j % 16] is lane j % 4 of
// accumulator (j / 4) % 4 (into s).
__attribute__((target("avx2"))) inline void dot_avx2(const double* a, const double* x, int n, double s[16]) {
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
    for (int j = 0; j + 16 <= n; j += 16) {
        a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_loadu_pd(a + j), _mm256_loadu_pd(x + j)));
        a1 = _mm256_add_pd(a1, _mm256_mul_pd(_mm256_loadu_pd(a + j + 4), _mm256_loadu_pd(x + j + 4)));
        a2 = _mm256_add_pd(a2, _mm256_mul_pd(_mm256_loadu_pd(a + j + 8), _mm256_loadu_pd(x + j + 8)));
        a3 = _mm256_add_pd(a3, _mm256_mul_pd(_mm256_loadu_pd(a + j + 12), _mm256_loadu_pd(x + j + 12)));
    }
    _mm256_storeu_pd(s, a0);
    _mm256_storeu_pd(s + 4, a1);
    _mm256_storeu_pd(s + 8, a2);
    _mm256_storeu_pd(s + 12, a3);
}

// linalg.hpp's dot_mag over the entries below n & ~15: a . x into s, |a| . xabs into t, as dot_avx2.
__attribute__((target("avx2"))) inline void dot_mag_avx2(const double* a, const double* x, const double* xabs, int n,
                                                         double s[16], double t[16]) {
    const __m256d sign = _mm256_set1_pd(-0.0);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
#define NNCELLS_DOT_MAG_STEP(o, sv, tv)                                                               \
    {                                                                                              \
        const __m256d va = _mm256_loadu_pd(a + j + o);                                             \
        sv = _mm256_add_pd(sv, _mm256_mul_pd(va, _mm256_loadu_pd(x + j + o)));                     \
        tv = _mm256_add_pd(tv, _mm256_mul_pd(_mm256_andnot_pd(sign, va), _mm256_loadu_pd(xabs + j + o))); \
    }
    for (int j = 0; j + 16 <= n; j += 16) {
        NNCELLS_DOT_MAG_STEP(0, s0, t0)
        NNCELLS_DOT_MAG_STEP(4, s1, t1)
        NNCELLS_DOT_MAG_STEP(8, s2, t2)
        NNCELLS_DOT_MAG_STEP(12, s3, t3)
    }
#undef NNCELLS_DOT_MAG_STEP
    _mm256_storeu_pd(s, s0);
    _mm256_storeu_pd(s + 4, s1);
    _mm256_storeu_pd(s + 8, s2);
    _mm256_storeu_pd(s + 12, s3);
    _mm256_storeu_pd(t, t0);
    _mm256_storeu_pd(t + 4, t1);
    _mm256_storeu_pd(t + 8, t2);
    _mm256_storeu_pd(t + 12, t3);
}

// linalg.hpp's best_above over the entries below n & ~3: a lane whose entry beats the cut is
// taken in index order (as the plain loop would), each lane's largest entry in `lane` (MAXPD
// keeps its second operand where the first is NaN: NaN entries are skipped, as there).
__attribute__((target("avx2"))) inline void best_above_avx2(const double* x, size_t n, size_t k, double* val,
                                                            size_t* idx, size_t& count, double& cut, double lane[4]) {
    __m256d acc = _mm256_set1_pd(-__builtin_inf());
    for (size_t b = 0; b + 4 <= n; b += 4) {
        const __m256d v = _mm256_loadu_pd(x + b);
        acc = _mm256_max_pd(v, acc);
        if (_mm256_movemask_pd(_mm256_cmp_pd(v, _mm256_set1_pd(cut), _CMP_GT_OQ)))
            for (size_t l = 0; l < 4; ++l)
                if (x[b + l] > cut) best_above_insert(x[b + l], b + l, k, val, idx, count, cut);
    }
    _mm256_storeu_pd(lane, acc);
}

// lp_split.hpp's price_pass over the balls below n & ~3, four at a time (the same products and
// sums in the same order, lane by lane).
template <int G, bool First>
__attribute__((target("avx2"))) inline void price_pass_avx2(double* out, size_t n, double y0, const double* R,
                                                            double y1, const double* v, const double* const* c,
                                                            const double* f, const double* s) {
    const __m256d vy0 = _mm256_set1_pd(y0), vy1 = _mm256_set1_pd(y1);
    __m256d vf[G > 0 ? G : 1], vs[G > 0 ? G : 1];
    for (int q = 0; q < G; ++q) vf[q] = _mm256_set1_pd(f[q]), vs[q] = _mm256_set1_pd(s[q]);
    for (size_t b = 0; b + 4 <= n; b += 4) {
        __m256d p = First ? _mm256_add_pd(_mm256_mul_pd(vy0, _mm256_loadu_pd(R + b)),
                                          _mm256_mul_pd(vy1, _mm256_loadu_pd(v + b)))
                          : _mm256_loadu_pd(out + b);
        for (int q = 0; q < G; ++q)
            p = _mm256_add_pd(p, _mm256_sub_pd(vf[q], _mm256_mul_pd(vs[q], _mm256_loadu_pd(c[q] + b))));
        _mm256_storeu_pd(out + b, p);
    }
}

// lp.cpp's ratio_scan over the columns below n & ~3, four at a time (the same products,
// quotients, minima and maxima, lane by lane: `part` holds each lane's least Harris bound, least
// ratio, least positive ratio and largest finite ratio; the count of blocking columns returned).
__attribute__((target("avx2"))) inline size_t ratio_scan_avx2(const double* al, const double* dj, const double* ori,
                                                              const double* range, size_t n, double sign, double piv,
                                                              double dtol, bool bland, double* rat, double* wt,
                                                              double* har, double part[4][4]) {
    const __m256d vinf = _mm256_set1_pd(__builtin_inf()), vninf = _mm256_set1_pd(-__builtin_inf());
    const __m256d vsign = _mm256_set1_pd(sign), vnpiv = _mm256_set1_pd(-piv), vdtol = _mm256_set1_pd(dtol);
    const __m256d zero = _mm256_setzero_pd(), one = _mm256_set1_pd(1.0), neg = _mm256_set1_pd(-0.0);
    __m256d hmin = vinf, low = vinf, lowpos = vinf, rmax = vninf;
    size_t k = 0;
    for (size_t j = 0; j + 4 <= n; j += 4) {
        const __m256d a = _mm256_mul_pd(vsign, _mm256_loadu_pd(al + j));
        const __m256d blocks = _mm256_cmp_pd(_mm256_mul_pd(_mm256_loadu_pd(ori + j), a), vnpiv, _CMP_LT_OQ);
        const __m256d inv = _mm256_div_pd(one, a);
        const __m256d raw = _mm256_mul_pd(_mm256_xor_pd(_mm256_loadu_pd(dj + j), neg), inv);
        const __m256d ratio = _mm256_blendv_pd(zero, raw, _mm256_cmp_pd(raw, zero, _CMP_GT_OQ));
        const __m256d h = bland ? ratio : _mm256_add_pd(raw, _mm256_mul_pd(vdtol, _mm256_andnot_pd(neg, inv)));
        const __m256d r = _mm256_blendv_pd(vinf, ratio, blocks);
        _mm256_storeu_pd(rat + j, r);
        _mm256_storeu_pd(wt + j, _mm256_mul_pd(_mm256_andnot_pd(neg, a), _mm256_loadu_pd(range + j)));
        _mm256_storeu_pd(har + j, h);
        hmin = _mm256_min_pd(_mm256_blendv_pd(vinf, h, blocks), hmin);
        low = _mm256_min_pd(r, low);
        lowpos = _mm256_min_pd(_mm256_blendv_pd(vinf, r, _mm256_cmp_pd(r, zero, _CMP_GT_OQ)), lowpos);
        rmax = _mm256_max_pd(_mm256_blendv_pd(vninf, r, _mm256_cmp_pd(r, vinf, _CMP_LT_OQ)), rmax);
        k += static_cast<size_t>(__builtin_popcount(_mm256_movemask_pd(blocks)));
    }
    _mm256_storeu_pd(part[0], hmin);
    _mm256_storeu_pd(part[1], low);
    _mm256_storeu_pd(part[2], lowpos);
    _mm256_storeu_pd(part[3], rmax);
    return k;
}

// lp.cpp's below over the columns below n & ~15: the weights of the columns whose ratio is at
// most tau, summed as dot_avx2 sums (into sum).
__attribute__((target("avx2"))) inline void below_avx2(const double* rat, const double* wt, size_t n, double tau,
                                                       double sum[16]) {
    const __m256d vt = _mm256_set1_pd(tau);
    __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
#define NNCELLS_BELOW(o) _mm256_and_pd(_mm256_cmp_pd(_mm256_loadu_pd(rat + j + o), vt, _CMP_LE_OQ), _mm256_loadu_pd(wt + j + o))
    for (size_t j = 0; j + 16 <= n; j += 16) {
        a0 = _mm256_add_pd(a0, NNCELLS_BELOW(0));
        a1 = _mm256_add_pd(a1, NNCELLS_BELOW(4));
        a2 = _mm256_add_pd(a2, NNCELLS_BELOW(8));
        a3 = _mm256_add_pd(a3, NNCELLS_BELOW(12));
    }
#undef NNCELLS_BELOW
    _mm256_storeu_pd(sum, a0);
    _mm256_storeu_pd(sum + 4, a1);
    _mm256_storeu_pd(sum + 8, a2);
    _mm256_storeu_pd(sum + 12, a3);
}

// lp.cpp's gather over the columns below n & ~3, four at a time: the indices j with
// rat[j] <= tau (NaN: not), in order, into `out`; their count.
__attribute__((target("avx2"))) inline size_t at_most_avx2(const double* rat, size_t n, double tau, int* out) {
    const __m256d vt = _mm256_set1_pd(tau);
    size_t k = 0;
    for (size_t j = 0; j + 4 <= n; j += 4) {
        int mask = _mm256_movemask_pd(_mm256_cmp_pd(_mm256_loadu_pd(rat + j), vt, _CMP_LE_OQ));
        for (; mask; mask &= mask - 1) out[k++] = static_cast<int>(j) + __builtin_ctz(mask);
    }
    return k;
}

// lp_split.hpp's box_exit over the coordinates below n & ~3, every quotient computed (the same
// correctly rounded quotients, so the same least one): each lane's least into `lane`.
__attribute__((target("avx2"))) inline void box_exit_avx2(const double* p, const double* u, const double* lo,
                                                          const double* hi, size_t n, double lane[4]) {
    const __m256d vinf = _mm256_set1_pd(__builtin_inf()), zero = _mm256_setzero_pd(), neg = _mm256_set1_pd(-0.0);
    __m256d acc = vinf;
    for (size_t k = 0; k + 4 <= n; k += 4) {
        const __m256d w = _mm256_loadu_pd(u + k), pk = _mm256_loadu_pd(p + k);
        const __m256d up = _mm256_sub_pd(_mm256_loadu_pd(hi + k), pk), down = _mm256_sub_pd(pk, _mm256_loadu_pd(lo + k));
        const __m256d num = _mm256_blendv_pd(down, up, _mm256_cmp_pd(w, zero, _CMP_GT_OQ));
        const __m256d t = _mm256_div_pd(num, _mm256_andnot_pd(neg, w));
        acc = _mm256_min_pd(_mm256_blendv_pd(t, vinf, _mm256_cmp_pd(w, zero, _CMP_EQ_OQ)), acc);
    }
    _mm256_storeu_pd(lane, acc);
}

// linalg.hpp's axpy4, four columns at a time.
__attribute__((target("avx2"))) inline void axpy4_avx2(double* out, int n, double r0, double r1, double r2, double r3,
                                                       const double* a0, const double* a1, const double* a2,
                                                       const double* a3) {
    const __m256d v0 = _mm256_set1_pd(r0), v1 = _mm256_set1_pd(r1), v2 = _mm256_set1_pd(r2), v3 = _mm256_set1_pd(r3);
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        __m256d o = _mm256_loadu_pd(out + j);
        o = _mm256_add_pd(o, _mm256_mul_pd(v0, _mm256_loadu_pd(a0 + j)));
        o = _mm256_add_pd(o, _mm256_mul_pd(v1, _mm256_loadu_pd(a1 + j)));
        o = _mm256_add_pd(o, _mm256_mul_pd(v2, _mm256_loadu_pd(a2 + j)));
        o = _mm256_add_pd(o, _mm256_mul_pd(v3, _mm256_loadu_pd(a3 + j)));
        _mm256_storeu_pd(out + j, o);
    }
    for (; j < n; ++j) out[j] = (((out[j] + r0 * a0[j]) + r1 * a1[j]) + r2 * a2[j]) + r3 * a3[j];
}
#endif

}  // namespace nncells
