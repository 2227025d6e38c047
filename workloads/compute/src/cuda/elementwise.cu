// Elementwise ops on the GPU: one thread per element (grid-stride), each element one call of
// the formula in elementwise_math.h that the cpu backend also compiles.
#include "cuda/cuda_common.cuh"
#include "cuda/kernels.cuh"
#include "elementwise_math.h"

namespace probity::workloads::cuda {
namespace {

using namespace detmath;  // NOLINT

__global__ void BiasAddKernel(float* y, const float* x, const float* bias, int64_t rows,
                              int64_t cols) {
  PROBITY_GRID_STRIDE(i, rows * cols) { y[i] = Canonical(x[i] + bias[i % cols]); }
}
__global__ void ReluKernel(float* y, const float* x, int64_t n) {
  PROBITY_GRID_STRIDE(i, n) { y[i] = ReluForward(x[i]); }
}
__global__ void ReluBackwardKernel(float* dx, const float* dy, const float* x, int64_t n) {
  PROBITY_GRID_STRIDE(i, n) { dx[i] = ReluGrad(dy[i], x[i]); }
}
__global__ void GeluKernel(float* y, const float* x, int64_t n) {
  PROBITY_GRID_STRIDE(i, n) { y[i] = GeluForward(x[i]); }
}
__global__ void GeluBackwardKernel(float* dx, const float* dy, const float* x, int64_t n) {
  PROBITY_GRID_STRIDE(i, n) { dx[i] = GeluGrad(dy[i], x[i]); }
}
__global__ void U8ToF32Kernel(float* y, const uint8_t* x, int64_t n, float scale, float offset) {
  PROBITY_GRID_STRIDE(i, n) { y[i] = Canonical(Fma(static_cast<float>(x[i]), scale, offset)); }
}
__global__ void SgdKernel(float* w, float* v, const float* g, int64_t n, float lr, float mu,
                          float wd) {
  PROBITY_GRID_STRIDE(i, n) { SgdElement(&w[i], &v[i], g[i], lr, mu, wd); }
}
__global__ void AdamKernel(float* w, float* m, float* v, const float* g, int64_t n, AdamScalars s) {
  PROBITY_GRID_STRIDE(i, n) { AdamElement(&w[i], &m[i], &v[i], g[i], s); }
}
__global__ void FillRowsKernel(float* y, const float* values, int64_t rows, int64_t cols) {
  PROBITY_GRID_STRIDE(i, rows * cols) { y[i] = values ? values[i / cols] : 0.0f; }
}

}  // namespace

Status LaunchBiasAdd(cudaStream_t s, float* y, const float* x, const float* bias, int64_t rows,
                     int64_t cols) {
  BiasAddKernel<<<GridFor(rows * cols), kThreadsPerBlock, 0, s>>>(y, x, bias, rows, cols);
  return LaunchStatus("BiasAddKernel");
}
Status LaunchRelu(cudaStream_t s, float* y, const float* x, int64_t n) {
  ReluKernel<<<GridFor(n), kThreadsPerBlock, 0, s>>>(y, x, n);
  return LaunchStatus("ReluKernel");
}
Status LaunchReluBackward(cudaStream_t s, float* dx, const float* dy, const float* x, int64_t n) {
  ReluBackwardKernel<<<GridFor(n), kThreadsPerBlock, 0, s>>>(dx, dy, x, n);
  return LaunchStatus("ReluBackwardKernel");
}
Status LaunchGelu(cudaStream_t s, float* y, const float* x, int64_t n) {
  GeluKernel<<<GridFor(n), kThreadsPerBlock, 0, s>>>(y, x, n);
  return LaunchStatus("GeluKernel");
}
Status LaunchGeluBackward(cudaStream_t s, float* dx, const float* dy, const float* x, int64_t n) {
  GeluBackwardKernel<<<GridFor(n), kThreadsPerBlock, 0, s>>>(dx, dy, x, n);
  return LaunchStatus("GeluBackwardKernel");
}
Status LaunchU8ToF32(cudaStream_t s, float* y, const uint8_t* x, int64_t n, float scale,
                     float offset) {
  U8ToF32Kernel<<<GridFor(n), kThreadsPerBlock, 0, s>>>(y, x, n, scale, offset);
  return LaunchStatus("U8ToF32Kernel");
}
Status LaunchSgd(cudaStream_t s, float* w, float* v, const float* g, int64_t n, float lr,
                 float momentum, float wd) {
  SgdKernel<<<GridFor(n), kThreadsPerBlock, 0, s>>>(w, v, g, n, lr, momentum, wd);
  return LaunchStatus("SgdKernel");
}
Status LaunchAdam(cudaStream_t s, float* w, float* m, float* v, const float* g, int64_t n,
                  const AdamScalars& scalars) {
  AdamKernel<<<GridFor(n), kThreadsPerBlock, 0, s>>>(w, m, v, g, n, scalars);
  return LaunchStatus("AdamKernel");
}
Status LaunchFillRows(cudaStream_t s, float* y, const float* values, int64_t rows, int64_t cols) {
  FillRowsKernel<<<GridFor(rows * cols), kThreadsPerBlock, 0, s>>>(y, values, rows, cols);
  return LaunchStatus("FillRowsKernel");
}

}  // namespace probity::workloads::cuda
