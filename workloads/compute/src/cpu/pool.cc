// 2x2 max-pooling on the cpu, one plane (n, c) per task.
#include <cstring>

#include "cpu/dual_loop.h"
#include "cpu/kernels.h"
#include "elementwise_math.h"

namespace probity::workloads::cpu {

using namespace detmath;  // NOLINT

void MaxPool2x2(const CpuContext& ctx, float* y, const float* x, int64_t planes, int64_t h,
                int64_t w) {
  const int64_t ho = h / 2, wo = w / 2;
  ParallelElements(ctx, planes, std::max<int64_t>(1, kElementGrain / (h * w)),
                   [&](int64_t pl) PROBITY_INLINE_BODY {
                     const float* xp = x + pl * h * w;
                     float* yp = y + pl * ho * wo;
                     for (int64_t i = 0; i < ho; ++i) {
                       const float* r0 = xp + (2 * i) * w;
                       const float* r1 = r0 + w;
                       for (int64_t j = 0; j < wo; ++j) {
                         const float v[4] = {r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]};
                         yp[i * wo + j] = Canonical(v[MaxPoolPick(v[0], v[1], v[2], v[3])]);
                       }
                     }
                   });
}

void MaxPool2x2Backward(const CpuContext& ctx, float* dx, const float* dy, const float* x,
                        int64_t planes, int64_t h, int64_t w) {
  const int64_t ho = h / 2, wo = w / 2;
  ParallelElements(ctx, planes, std::max<int64_t>(1, kElementGrain / (h * w)),
                   [&](int64_t pl) PROBITY_INLINE_BODY {
                     const float* xp = x + pl * h * w;
                     const float* dyp = dy + pl * ho * wo;
                     float* dxp = dx + pl * h * w;
                     for (int64_t i = 0; i < h * w; ++i) dxp[i] = 0.0f;
                     for (int64_t i = 0; i < ho; ++i) {
                       const float* r0 = xp + (2 * i) * w;
                       const float* r1 = r0 + w;
                       for (int64_t j = 0; j < wo; ++j) {
                         const int at =
                             MaxPoolPick(r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]);
                         const int64_t pos = (2 * i + at / 2) * w + 2 * j + at % 2;
                         dxp[pos] = Canonical(dyp[i * wo + j]);
                       }
                     }
                   });
}

}  // namespace probity::workloads::cpu
