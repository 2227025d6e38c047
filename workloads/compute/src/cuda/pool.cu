// 2x2 max-pooling on the GPU: one thread per output (forward) or per input position
// (backward), with the window choice of elementwise_math.h's MaxPoolPick.
#include "cuda/cuda_common.cuh"
#include "cuda/kernels.cuh"
#include "elementwise_math.h"

namespace probity::workloads::cuda {
namespace {

using namespace detmath;  // NOLINT

__global__ void MaxPoolKernel(float* y, const float* x, int64_t planes, int64_t h, int64_t w) {
  const int64_t ho = h / 2, wo = w / 2;
  PROBITY_GRID_STRIDE(o, planes * ho * wo) {
    const int64_t pl = o / (ho * wo), i = (o / wo) % ho, j = o % wo;
    const float* r0 = x + (pl * h + 2 * i) * w + 2 * j;
    const float* r1 = r0 + w;
    const float v[4] = {r0[0], r0[1], r1[0], r1[1]};
    y[o] = Canonical(v[MaxPoolPick(v[0], v[1], v[2], v[3])]);
  }
}

// Each input position finds its window (if inside the pooled area) and whether it was picked.
__global__ void MaxPoolBackwardKernel(float* dx, const float* dy, const float* x, int64_t planes,
                                      int64_t h, int64_t w) {
  const int64_t ho = h / 2, wo = w / 2;
  PROBITY_GRID_STRIDE(e, planes * h * w) {
    const int64_t pl = e / (h * w), hh = (e / w) % h, ww = e % w;
    const int64_t i = hh / 2, j = ww / 2;
    float out = 0.0f;
    if (i < ho && j < wo) {
      const float* r0 = x + (pl * h + 2 * i) * w + 2 * j;
      const float* r1 = r0 + w;
      const int at = MaxPoolPick(r0[0], r0[1], r1[0], r1[1]);
      if (at == static_cast<int>((hh % 2) * 2 + (ww % 2))) {
        out = Canonical(dy[(pl * ho + i) * wo + j]);
      }
    }
    dx[e] = out;
  }
}

}  // namespace

Status LaunchMaxPool2x2(cudaStream_t s, float* y, const float* x, int64_t planes, int64_t h,
                        int64_t w) {
  MaxPoolKernel<<<GridFor(planes * (h / 2) * (w / 2)), kThreadsPerBlock, 0, s>>>(y, x, planes, h,
                                                                                 w);
  return LaunchStatus("MaxPoolKernel");
}
Status LaunchMaxPool2x2Backward(cudaStream_t s, float* dx, const float* dy, const float* x,
                                int64_t planes, int64_t h, int64_t w) {
  MaxPoolBackwardKernel<<<GridFor(planes * h * w), kThreadsPerBlock, 0, s>>>(dx, dy, x, planes, h,
                                                                             w);
  return LaunchStatus("MaxPoolBackwardKernel");
}

}  // namespace probity::workloads::cuda
