// Elementwise ops on the cpu: each element is one call of a formula in elementwise_math.h.
#include "cpu/dual_loop.h"
#include "cpu/kernels.h"
#include "elementwise_math.h"

namespace probity::workloads::cpu {

using namespace detmath;  // NOLINT: the formulas are this file's vocabulary

void BiasAdd(const CpuContext& ctx, float* y, const float* x, const float* bias, int64_t rows,
             int64_t cols) {
  ParallelElements(ctx, rows, std::max<int64_t>(1, kElementGrain / cols),
                   [&](int64_t r) PROBITY_INLINE_BODY {
                     const float* xr = x + r * cols;
                     float* yr = y + r * cols;
                     for (int64_t j = 0; j < cols; ++j) yr[j] = Canonical(xr[j] + bias[j]);
                   });
}

void Relu(const CpuContext& ctx, float* y, const float* x, int64_t n) {
  ParallelElements(ctx, n, kElementGrain,
                   [&](int64_t i) PROBITY_INLINE_BODY { y[i] = ReluForward(x[i]); });
}

void ReluBackward(const CpuContext& ctx, float* dx, const float* dy, const float* x, int64_t n) {
  ParallelElements(ctx, n, kElementGrain,
                   [&](int64_t i) PROBITY_INLINE_BODY { dx[i] = ReluGrad(dy[i], x[i]); });
}

void Gelu(const CpuContext& ctx, float* y, const float* x, int64_t n) {
  ParallelElements(ctx, n, kElementGrain / 8,
                   [&](int64_t i) PROBITY_INLINE_BODY { y[i] = GeluForward(x[i]); });
}

void GeluBackward(const CpuContext& ctx, float* dx, const float* dy, const float* x, int64_t n) {
  ParallelElements(ctx, n, kElementGrain / 8,
                   [&](int64_t i) PROBITY_INLINE_BODY { dx[i] = GeluGrad(dy[i], x[i]); });
}

void U8ToF32(const CpuContext& ctx, float* y, const uint8_t* x, int64_t n, float scale,
             float offset) {
  ParallelElements(ctx, n, kElementGrain, [&](int64_t i) PROBITY_INLINE_BODY {
    y[i] = Canonical(Fma(static_cast<float>(x[i]), scale, offset));
  });
}

void SgdMomentum(const CpuContext& ctx, float* w, float* v, const float* g, int64_t n,
                 const SgdParams& p) {
  const float lr = p.learning_rate, mu = p.momentum, wd = p.weight_decay;
  ParallelElements(ctx, n, kElementGrain, [&](int64_t i) PROBITY_INLINE_BODY {
    SgdElement(&w[i], &v[i], g[i], lr, mu, wd);
  });
}

void Adam(const CpuContext& ctx, float* w, float* m, float* v, const float* g, int64_t n,
          const AdamScalars& s) {
  ParallelElements(ctx, n, kElementGrain / 4, [&](int64_t i) PROBITY_INLINE_BODY {
    AdamElement(&w[i], &m[i], &v[i], g[i], s);
  });
}

}  // namespace probity::workloads::cpu
