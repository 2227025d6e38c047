// Launchers of the cuda backend's kernels. Each enqueues on `stream` and returns the launch
// status; each computes exactly the order of operations of backend.h, with the per-element
// and per-row formulas taken from elementwise_math.h (the same source the cpu backend
// compiles), one thread per independent output (or output row), no atomics in any numeric
// reduction.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "backend_impl.h"

namespace probity::workloads::cuda {

// fp32 ordered GEMM (gemm_f32.cu). mode: 0 chains start at +0.0, 1 at bias[j], 2 at C.
enum class GemmInit { kZero = 0, kBias = 1, kAccumulate = 2 };
Status LaunchGemmF32(cudaStream_t stream, int sm_count, float* c, const float* a, const float* b,
                     const float* bias, const internal::GemmShape& g, GemmInit init);

// int8 GEMM by direct dp4a kernel (gemm_i8.cu); the cuBLASLt path is in cuda_backend.cu.
Status LaunchGemmI8Dp4a(cudaStream_t stream, int32_t* c, const int8_t* a, const int8_t* b,
                        const internal::GemmShape& g);
// out[c, r] = in[r, c] for int8 matrices [rows, cols] (to bring operands into cuBLASLt's
// layout).
Status LaunchTransposeI8(cudaStream_t stream, int8_t* out, const int8_t* in, int64_t rows,
                         int64_t cols);

// elementwise.cu
Status LaunchBiasAdd(cudaStream_t s, float* y, const float* x, const float* bias, int64_t rows,
                     int64_t cols);
Status LaunchRelu(cudaStream_t s, float* y, const float* x, int64_t n);
Status LaunchReluBackward(cudaStream_t s, float* dx, const float* dy, const float* x, int64_t n);
Status LaunchGelu(cudaStream_t s, float* y, const float* x, int64_t n);
Status LaunchGeluBackward(cudaStream_t s, float* dx, const float* dy, const float* x, int64_t n);
Status LaunchU8ToF32(cudaStream_t s, float* y, const uint8_t* x, int64_t n, float scale,
                     float offset);
Status LaunchSgd(cudaStream_t s, float* w, float* v, const float* g, int64_t n, float lr,
                 float momentum, float wd);
Status LaunchAdam(cudaStream_t s, float* w, float* m, float* v, const float* g, int64_t n,
                  const detmath::AdamScalars& scalars);
// Sets every element of row r of y [rows, cols] to values[r] (values may be null: +0.0).
Status LaunchFillRows(cudaStream_t s, float* y, const float* values, int64_t rows, int64_t cols);

// rows.cu
Status LaunchColumnSums(cudaStream_t s, float* out, const float* x, int64_t rows, int64_t cols);
Status LaunchSoftmax(cudaStream_t s, float* y, const float* x, int64_t rows, int64_t cols);
// Counts labels outside [0, cols) into bad[0] and the lowest such row into bad[1] (these
// atomics only validate; they never touch a number that is computed).
Status LaunchCheckLabels(cudaStream_t s, int64_t* bad, const int32_t* labels, int64_t rows,
                         int64_t cols);
// per_row[r] = loss of row r; dlogits (optional) rows; then loss = sum in order / rows.
Status LaunchCrossEntropy(cudaStream_t s, float* loss, float* dlogits, float* per_row,
                          const float* logits, const int32_t* labels, int64_t rows, int64_t cols);
Status LaunchArgmax(cudaStream_t s, int32_t* out, const float* x, int64_t rows, int64_t cols);
Status LaunchGatherRows(cudaStream_t s, void* y, const void* x, const int64_t* rows, int64_t count,
                        size_t row_bytes);

// conv2d.cu: im2col over the whole batch, cols[(c*R + r)*S + s, n*PQ + p*Q + q], and the
// layout changes between [N, K, PQ] and [K, N*PQ].
Status LaunchIm2Col(cudaStream_t s, float* cols, const float* x, const internal::ConvShape& g);
Status LaunchCol2Im(cudaStream_t s, float* dx, const float* dcols, const internal::ConvShape& g);
Status LaunchNkpToKnp(cudaStream_t s, float* out, const float* in, int64_t n, int64_t k,
                      int64_t pq);
Status LaunchKnpToNkp(cudaStream_t s, float* out, const float* in, int64_t n, int64_t k,
                      int64_t pq);
// dbias[k] = sum over n, then pq, of dy[n, k, pq], in order.
Status LaunchConvBiasGrad(cudaStream_t s, float* dbias, const float* dy, int64_t n, int64_t k,
                          int64_t pq);

// pool.cu
Status LaunchMaxPool2x2(cudaStream_t s, float* y, const float* x, int64_t planes, int64_t h,
                        int64_t w);
Status LaunchMaxPool2x2Backward(cudaStream_t s, float* dx, const float* dy, const float* x,
                                int64_t planes, int64_t h, int64_t w);

// sha256.cu: one thread hashes one message header || data (header <= 72 bytes).
struct HashJob {
  uint8_t header[72];
  uint32_t header_len;
  const uint8_t* data;
  uint64_t data_len;
};
Status LaunchSha256(cudaStream_t s, uint8_t* digests, const HashJob* jobs, int count);

}  // namespace probity::workloads::cuda
