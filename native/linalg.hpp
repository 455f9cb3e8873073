// Small dense linear algebra for the compiled core: no dependencies, row-major arrays.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <vector>

namespace nncells {

constexpr double kEps = std::numeric_limits<double>::epsilon();

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

// numpy.linalg.matrix_rank: singular values above max(sv) * max(rows, cols) * eps, or above `tol`
// when `tol` >= 0.
inline int matrix_rank(const double* a, int rows, int cols, double tol = -1.0) {
    if (rows == 0 || cols == 0) return 0;
    std::vector<double> sv = singular_values(a, rows, cols);
    const double smax = *std::max_element(sv.begin(), sv.end());
    if (smax == 0.0) return 0;
    const double t = tol >= 0 ? tol : smax * std::max(rows, cols) * kEps;
    int r = 0;
    for (double s : sv) r += s > t;
    return r;
}

// Determinant of the (n x n) matrix `a` (overwritten) by Gaussian elimination with partial pivoting.
inline double determinant(double* a, int n) {
    double det = 1.0;
    for (int k = 0; k < n; ++k) {
        int piv = k;
        for (int i = k + 1; i < n; ++i)
            if (std::abs(a[i * n + k]) > std::abs(a[piv * n + k])) piv = i;
        if (a[piv * n + k] == 0.0) return 0.0;
        if (piv != k) {
            for (int j = 0; j < n; ++j) std::swap(a[k * n + j], a[piv * n + j]);
            det = -det;
        }
        det *= a[k * n + k];
        for (int i = k + 1; i < n; ++i) {
            const double f = a[i * n + k] / a[k * n + k];
            for (int j = k; j < n; ++j) a[i * n + j] -= f * a[k * n + j];
        }
    }
    return det;
}

}  // namespace nncells
