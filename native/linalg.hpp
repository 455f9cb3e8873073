// Small dense linear algebra for the compiled core: no dependencies, row-major arrays.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>
#include <vector>

#include "simd.hpp"

namespace nncells {

constexpr double kEps = std::numeric_limits<double>::epsilon();

// sum_j a_j x_j in interleaved partial sums (instruction-level parallelism; IEEE arithmetic, and
// the error bound gamma(n) sum |a_j x_j| holds for any order of the sum): below kWide entries four
// (s0..s3), from kWide on 16 (s[j % 16], summed by sum16: simd.hpp).
inline double dot(const double* a, const double* x, int n) {
    if (n < kWide) {
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        int j = 0;
        for (; j + 4 <= n; j += 4) {
            s0 += a[j] * x[j];
            s1 += a[j + 1] * x[j + 1];
            s2 += a[j + 2] * x[j + 2];
            s3 += a[j + 3] * x[j + 3];
        }
        for (; j < n; ++j) s0 += a[j] * x[j];
        return (s0 + s1) + (s2 + s3);
    }
    double s[16] = {};
    int j = 0;
#if NNCELLS_AVX2
    if (avx2_available()) {  // the same sums (simd.hpp), then the rest
        dot_avx2(a, x, n, s);
        j = n & ~15;
    }
#endif
    for (; j < n; ++j) s[j % 16] += a[j] * x[j];
    return sum16(s);
}

// a . x as `dot` sums it, and in `mag` |a| . xabs (xabs = |x|) as `dot` sums that: one pass
// (the value and magnitude of a row at a point, lp.cpp's certified margin).
inline double dot_mag(const double* a, const double* x, const double* xabs, int n, double& mag) {
    if (n < kWide) {
        double s[4] = {0.0, 0.0, 0.0, 0.0}, t[4] = {0.0, 0.0, 0.0, 0.0};
        int j = 0;
        for (; j + 4 <= n; j += 4)
            for (int l = 0; l < 4; ++l) {
                s[l] += a[j + l] * x[j + l];
                t[l] += std::abs(a[j + l]) * xabs[j + l];
            }
        for (; j < n; ++j) {
            s[0] += a[j] * x[j];
            t[0] += std::abs(a[j]) * xabs[j];
        }
        mag = (t[0] + t[1]) + (t[2] + t[3]);
        return (s[0] + s[1]) + (s[2] + s[3]);
    }
    double s[16] = {}, t[16] = {};
    int j = 0;
#if NNCELLS_AVX2
    if (avx2_available()) {  // the same sums (simd.hpp), then the rest
        dot_mag_avx2(a, x, xabs, n, s, t);
        j = n & ~15;
    }
#endif
    for (; j < n; ++j) {
        s[j % 16] += a[j] * x[j];
        t[j % 16] += std::abs(a[j]) * xabs[j];
    }
    mag = sum16(t);
    return sum16(s);
}

// out_j = (((out_j + r0 a0_j) + r1 a1_j) + r2 a2_j) + r3 a3_j (four rows of a matrix-vector product).
inline void axpy4(double* out, int n, double r0, double r1, double r2, double r3, const double* a0, const double* a1,
                  const double* a2, const double* a3) {
#if NNCELLS_AVX2
    if (n >= kWide && avx2_available()) return axpy4_avx2(out, n, r0, r1, r2, r3, a0, a1, a2, a3);  // the same sums
#endif
    for (int j = 0; j < n; ++j) out[j] = (((out[j] + r0 * a0[j]) + r1 * a1[j]) + r2 * a2[j]) + r3 * a3[j];
}

// The k best entries of x[0..n) above `bar` (k >= 1): their values and indices into val and idx
// (k room), the greatest first (ties: the lower index first), and their count; in `top` the
// largest entry of all (NaN entries skipped; -inf when there are none): exact in any order.
inline size_t best_above(const double* x, size_t n, double bar, size_t k, double* val, size_t* idx, double& top) {
    double m = -std::numeric_limits<double>::infinity(), cut = bar;
    size_t count = 0, b = 0;
    if (k == 0) k = 1;
#if NNCELLS_AVX2
    if (n >= kWide && avx2_available()) {  // the same entries and maximum (simd.hpp), then the rest
        double lane[4];
        best_above_avx2(x, n, k, val, idx, count, cut, lane);
        for (double v : lane) m = v > m ? v : m;
        b = n & ~static_cast<size_t>(3);
    }
#endif
    for (; b < n; ++b) {
        m = x[b] > m ? x[b] : m;
        if (x[b] > cut) best_above_insert(x[b], b, k, val, idx, count, cut);
    }
    top = m;
    return count;
}

// The Euclidean norm of x[0], x[stride], ... (n entries) without overflow or underflow: scaled by
// a power of two (exact), so in the normal range it is bit for bit sqrt(sum x_i^2)
// (nncells.geometry.norms.row_norms).
inline double norm2(const double* x, int n, int stride = 1) {
    double m = 0.0;
    for (int i = 0; i < n; ++i) m = std::max(m, std::abs(x[static_cast<std::size_t>(i) * stride]));
    if (m == 0.0 || !std::isfinite(m)) return m;
    if (m >= 0x1p-480 && m <= 0x1p480 && n <= (1 << 20)) {  // no square can under- or overflow:
        double s = 0.0;                                       // the scaled sum's bits, unscaled
        for (int i = 0; i < n; ++i) {
            const double v = x[static_cast<std::size_t>(i) * stride];
            s += v * v;
        }
        return std::sqrt(s);
    }
    int e = 0;
    std::frexp(m, &e);
    double s = 0.0;
    for (int i = 0; i < n; ++i) {
        const double v = std::ldexp(x[static_cast<std::size_t>(i) * stride], -e);
        s += v * v;
    }
    return std::ldexp(std::sqrt(s), e);
}

// Singular values of the (rows x cols) matrix `a` by one-sided Jacobi rotations on its columns
// (accurate for the small matrices of the engine: cols <= 8).
inline std::vector<double> singular_values(const double* a, int rows, int cols) {
    std::vector<double> u(a, a + static_cast<std::size_t>(rows) * cols);
    for (int sweep = 0; sweep < 60; ++sweep) {
        bool rotated = false;
        for (int p = 0; p < cols; ++p) {
            for (int q = p + 1; q < cols; ++q) {
                double alpha = 0, beta = 0, gamma = 0;
                for (int i = 0; i < rows; ++i) {
                    const double x = u[i * cols + p], y = u[i * cols + q];
                    alpha += x * x;
                    beta += y * y;
                    gamma += x * y;
                }
                if (gamma == 0.0 || std::abs(gamma) <= kEps * std::sqrt(alpha * beta)) continue;
                rotated = true;
                const double zeta = (beta - alpha) / (2.0 * gamma);
                const double t = std::copysign(1.0, zeta) / (std::abs(zeta) + std::sqrt(1.0 + zeta * zeta));
                const double c = 1.0 / std::sqrt(1.0 + t * t), s = c * t;
                for (int i = 0; i < rows; ++i) {
                    const double x = u[i * cols + p], y = u[i * cols + q];
                    u[i * cols + p] = c * x - s * y;
                    u[i * cols + q] = s * x + c * y;
                }
            }
        }
        if (!rotated) break;
    }
    std::vector<double> sv(cols);
    for (int j = 0; j < cols; ++j) {
        double n = 0;
        for (int i = 0; i < rows; ++i) n += u[i * cols + j] * u[i * cols + j];
        sv[j] = std::sqrt(n);
    }
    return sv;
}

// The (cols x cols) triangular factor R of a = QR (Householder, in place), rows > cols: the
// same singular values as a.
inline void triangular_factor(std::vector<double>& u, int rows, int cols) {
    for (int k = 0; k < cols; ++k) {
        double norm = 0.0;
        for (int i = k; i < rows; ++i) norm += u[i * cols + k] * u[i * cols + k];
        norm = std::sqrt(norm);
        if (norm == 0.0) continue;
        const double alpha = u[k * cols + k] > 0 ? -norm : norm;
        const double v0 = u[k * cols + k] - alpha;  // v = (v0, u[k+1:, k])
        double vv = v0 * v0;
        for (int i = k + 1; i < rows; ++i) vv += u[i * cols + k] * u[i * cols + k];
        if (vv == 0.0) continue;
        for (int j = k + 1; j < cols; ++j) {
            double dot = v0 * u[k * cols + j];
            for (int i = k + 1; i < rows; ++i) dot += u[i * cols + k] * u[i * cols + j];
            const double f = 2.0 * dot / vv;
            u[k * cols + j] -= f * v0;
            for (int i = k + 1; i < rows; ++i) u[i * cols + j] -= f * u[i * cols + k];
        }
        u[k * cols + k] = alpha;
        for (int i = k + 1; i < rows; ++i) u[i * cols + k] = 0.0;
    }
    u.resize(static_cast<std::size_t>(cols) * cols);
}

// The (rows x rows) factor of a = L Q (Householder reflections of the rows, in place), rows <=
// cols, returned transposed: an upper-triangular R with the same singular values as a. The rows
// stay contiguous (the transpose's QR, `triangular_factor`, walks a wide matrix by columns).
inline std::vector<double> row_factor(std::vector<double>& u, int rows, int cols) {
    for (int k = 0; k < rows; ++k) {
        double* uk = &u[static_cast<std::size_t>(k) * cols];
        const double tail = dot(uk + k + 1, uk + k + 1, cols - k - 1);
        const double norm = std::sqrt(uk[k] * uk[k] + tail);
        if (norm == 0.0) continue;
        const double alpha = uk[k] > 0 ? -norm : norm;
        const double v0 = uk[k] - alpha;  // v = (v0, uk[k+1:])
        const double vv = v0 * v0 + tail;
        if (vv == 0.0) continue;
        for (int j = k + 1; j < rows; ++j) {
            double* uj = &u[static_cast<std::size_t>(j) * cols];
            const double f = 2.0 * (v0 * uj[k] + dot(uk + k + 1, uj + k + 1, cols - k - 1)) / vv;
            uj[k] -= f * v0;
            for (int c = k + 1; c < cols; ++c) uj[c] -= f * uk[c];
        }
        uk[k] = alpha;
    }
    std::vector<double> r(static_cast<std::size_t>(rows) * rows, 0.0);
    for (int i = 0; i < rows; ++i)
        for (int j = i; j < rows; ++j) r[static_cast<std::size_t>(i) * rows + j] = u[static_cast<std::size_t>(j) * cols + i];
    return r;
}

// Whether the square upper-triangular r (n x n) has every singular value above rel * max(sv):
// sigma_min >= 1 / ||r^-1||_F and sigma_max <= ||r||_F, so this test never says yes when the
// SVD would say no (a filter: when it says no, the caller computes the singular values).
inline bool certainly_full_rank(const double* r, int n, double rel) {
    double fro = 0.0;
    for (int i = 0; i < n; ++i)
        for (int j = i; j < n; ++j) fro += r[i * n + j] * r[i * n + j];
    std::vector<double> inv(static_cast<std::size_t>(n) * n, 0.0);  // r^-1, upper triangular
    for (int j = 0; j < n; ++j) {
        for (int i = j; i >= 0; --i) {
            if (r[i * n + i] == 0.0) return false;
            double s = i == j ? 1.0 : 0.0;
            for (int k = i + 1; k <= j; ++k) s -= r[i * n + k] * inv[k * n + j];
            inv[i * n + j] = s / r[i * n + i];
        }
    }
    double inv_fro = 0.0;
    for (double x : inv) inv_fro += x * x;
    if (!std::isfinite(inv_fro)) return false;
    // 1 / sqrt(inv_fro) > 2 * rel * sqrt(fro)  (a factor 2 for the rounding of this test)
    return 1.0 > 4.0 * rel * rel * fro * inv_fro;
}

// numpy.linalg.matrix_rank: singular values above max(sv) * max(rows, cols) * eps, or above `tol`
// when `tol` >= 0. Zero rows are dropped first and the matrix is reduced to a square triangular
// factor with the same singular values (of its columns when tall, of its rows when wide), so the
// Jacobi sweeps run on at most min(rows, cols) squared.
inline int matrix_rank(const double* a, int rows, int cols, double tol = -1.0) {
    if (rows == 0 || cols == 0) return 0;
    std::vector<double> u;
    u.reserve(static_cast<std::size_t>(rows) * cols);
    int n = 0;
    for (int i = 0; i < rows; ++i) {
        bool any = false;
        for (int j = 0; j < cols; ++j) any = any || a[i * cols + j] != 0.0;
        if (!any) continue;
        u.insert(u.end(), a + i * cols, a + (i + 1) * cols);
        ++n;
    }
    if (n == 0) return 0;
    if (n >= cols) {
        triangular_factor(u, n, cols);
        n = cols;
    } else {
        u = row_factor(u, n, cols);
    }
    if (tol < 0 && certainly_full_rank(u.data(), n, static_cast<double>(std::max(rows, cols)) * kEps)) return n;
    std::vector<double> sv = singular_values(u.data(), n, n);
    const double smax = *std::max_element(sv.begin(), sv.end());
    if (smax == 0.0) return 0;
    const double t = tol >= 0 ? tol : smax * std::max(rows, cols) * kEps;
    int r = 0;
    for (double s : sv) r += s > t;
    return r;
}

}  // namespace nncells
