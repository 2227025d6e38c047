// Conv2d on the GPU, as on the cpu: im2col, then the ordered GEMM (gemm_f32.cu), so every
// output is the chain of backend.h. The whole batch goes through one GEMM, with the columns
// of all images side by side (column n*PQ + p*Q + q); this changes which GEMM call computes a
// chain, never the chain. These kernels only move data, except col2im (sums over (r, s) in
// order, one thread per input element) and the bias gradient (one thread per channel).
#include "cuda/cuda_common.cuh"
#include "cuda/kernels.cuh"
#include "elementwise_math.h"

namespace probity::workloads::cuda {
namespace {

using internal::ConvShape;

__global__ void Im2ColKernel(float* cols, const float* x, ConvShape g) {
  const int64_t pq = g.p * g.q, npq = g.n * pq;
  PROBITY_GRID_STRIDE(e, g.c * g.r * g.s * npq) {
    const int64_t row = e / npq, col = e % npq;
    const int64_t c = row / (g.r * g.s), r = (row / g.s) % g.r, s = row % g.s;
    const int64_t n = col / pq, p = (col / g.q) % g.p, q = col % g.q;
    const int64_t h = p * g.stride + r - g.pad, w = q * g.stride + s - g.pad;
    const bool inside = h >= 0 && h < g.h && w >= 0 && w < g.w;
    cols[e] = inside ? x[((n * g.c + c) * g.h + h) * g.w + w] : 0.0f;
  }
}

__global__ void Col2ImKernel(float* dx, const float* dcols, ConvShape g) {
  const int64_t pq = g.p * g.q, npq = g.n * pq;
  PROBITY_GRID_STRIDE(e, g.n * g.c * g.h * g.w) {
    const int64_t n = e / (g.c * g.h * g.w), c = (e / (g.h * g.w)) % g.c;
    const int64_t h = (e / g.w) % g.h, w = e % g.w;
    float acc = 0.0f;
    for (int64_t r = 0; r < g.r; ++r) {
      const int64_t ph = h + g.pad - r;
      if (ph < 0 || ph % g.stride != 0 || ph / g.stride >= g.p) continue;
      const int64_t p = ph / g.stride;
      for (int64_t s = 0; s < g.s; ++s) {
        const int64_t qw = w + g.pad - s;
        if (qw < 0 || qw % g.stride != 0 || qw / g.stride >= g.q) continue;
        acc = acc + dcols[((c * g.r + r) * g.s + s) * npq + n * pq + p * g.q + qw / g.stride];
      }
    }
    dx[e] = detmath::Canonical(acc);
  }
}

// in [n, k, pq] -> out [k, n*pq]
__global__ void NkpToKnpKernel(float* out, const float* in, int64_t n, int64_t k, int64_t pq) {
  PROBITY_GRID_STRIDE(e, n * k * pq) {
    const int64_t ni = e / (k * pq), ki = (e / pq) % k, i = e % pq;
    out[(ki * n + ni) * pq + i] = in[e];
  }
}

// in [k, n*pq] -> out [n, k, pq]
__global__ void KnpToNkpKernel(float* out, const float* in, int64_t n, int64_t k, int64_t pq) {
  PROBITY_GRID_STRIDE(e, n * k * pq) {
    const int64_t ni = e / (k * pq), ki = (e / pq) % k, i = e % pq;
    out[e] = in[(ki * n + ni) * pq + i];
  }
}

__global__ void ConvBiasGradKernel(float* dbias, const float* dy, int64_t n, int64_t k,
                                   int64_t pq) {
  PROBITY_GRID_STRIDE(ki, k) {
    float acc = 0.0f;
    for (int64_t ni = 0; ni < n; ++ni) {
      const float* d = dy + (ni * k + ki) * pq;
      for (int64_t i = 0; i < pq; ++i) acc = acc + d[i];
    }
    dbias[ki] = detmath::Canonical(acc);
  }
}

}  // namespace

Status LaunchIm2Col(cudaStream_t s, float* cols, const float* x, const ConvShape& g) {
  Im2ColKernel<<<GridFor(g.c * g.r * g.s * g.n * g.p * g.q), kThreadsPerBlock, 0, s>>>(cols, x, g);
  return LaunchStatus("Im2ColKernel");
}
Status LaunchCol2Im(cudaStream_t s, float* dx, const float* dcols, const ConvShape& g) {
  Col2ImKernel<<<GridFor(g.n * g.c * g.h * g.w), kThreadsPerBlock, 0, s>>>(dx, dcols, g);
  return LaunchStatus("Col2ImKernel");
}
Status LaunchNkpToKnp(cudaStream_t s, float* out, const float* in, int64_t n, int64_t k,
                      int64_t pq) {
  NkpToKnpKernel<<<GridFor(n * k * pq), kThreadsPerBlock, 0, s>>>(out, in, n, k, pq);
  return LaunchStatus("NkpToKnpKernel");
}
Status LaunchKnpToNkp(cudaStream_t s, float* out, const float* in, int64_t n, int64_t k,
                      int64_t pq) {
  KnpToNkpKernel<<<GridFor(n * k * pq), kThreadsPerBlock, 0, s>>>(out, in, n, k, pq);
  return LaunchStatus("KnpToNkpKernel");
}
Status LaunchConvBiasGrad(cudaStream_t s, float* dbias, const float* dy, int64_t n, int64_t k,
                          int64_t pq) {
  ConvBiasGradKernel<<<GridFor(k, 64), 64, 0, s>>>(dbias, dy, n, k, pq);
  return LaunchStatus("ConvBiasGradKernel");
}

}  // namespace probity::workloads::cuda
