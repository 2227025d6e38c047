// Row and column ops on the GPU. A row's (or column's) reduction is one sequential chain in
// one thread, exactly as on the cpu; threads take different rows (columns). The batch loss is
// the per-row losses added in order by a single thread.
#include "cuda/cuda_common.cuh"
#include "cuda/kernels.cuh"
#include "elementwise_math.h"

namespace probity::workloads::cuda {
namespace {

using namespace detmath;  // NOLINT

// Thread j walks down column j: coalesced across the warp, in row order within the thread.
__global__ void ColumnSumsKernel(float* out, const float* x, int64_t rows, int64_t cols) {
  PROBITY_GRID_STRIDE(j, cols) {
    float acc = 0.0f;
    for (int64_t i = 0; i < rows; ++i) acc = acc + x[i * cols + j];
    out[j] = Canonical(acc);
  }
}

__global__ void SoftmaxKernel(float* y, const float* x, int64_t rows, int64_t cols) {
  PROBITY_GRID_STRIDE(r, rows) { SoftmaxRow(y + r * cols, x + r * cols, cols); }
}

__global__ void CheckLabelsKernel(int64_t* bad, const int32_t* labels, int64_t rows, int64_t cols) {
  PROBITY_GRID_STRIDE(r, rows) {
    if (labels[r] < 0 || labels[r] >= cols) {
      atomicAdd(reinterpret_cast<unsigned long long*>(&bad[0]), 1ull);
      atomicMin(reinterpret_cast<long long*>(&bad[1]), static_cast<long long>(r));
    }
  }
}

__global__ void CrossEntropyRowsKernel(float* dlogits, float* per_row, const float* logits,
                                       const int32_t* labels, int64_t rows, int64_t cols) {
  const float batch = static_cast<float>(rows);
  PROBITY_GRID_STRIDE(r, rows) {
    per_row[r] = CrossEntropyRow(dlogits ? dlogits + r * cols : nullptr, logits + r * cols, cols,
                                 labels[r], batch);
  }
}

__global__ void SumInOrderKernel(float* loss, const float* per_row, int64_t rows) {
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  float total = 0.0f;
  for (int64_t r = 0; r < rows; ++r) total = total + per_row[r];
  *loss = Canonical(total / static_cast<float>(rows));
}

__global__ void ArgmaxKernel(int32_t* out, const float* x, int64_t rows, int64_t cols) {
  PROBITY_GRID_STRIDE(r, rows) { out[r] = ArgmaxRow(x + r * cols, cols); }
}

__global__ void GatherRowsKernel(uint8_t* y, const uint8_t* x, const int64_t* rows, int64_t count,
                                 size_t row_bytes) {
  const int64_t total = count * static_cast<int64_t>(row_bytes);
  PROBITY_GRID_STRIDE(i, total) {
    const int64_t r = i / static_cast<int64_t>(row_bytes);
    const int64_t o = i % static_cast<int64_t>(row_bytes);
    y[i] = x[rows[r] * static_cast<int64_t>(row_bytes) + o];
  }
}

__global__ void GatherRows4Kernel(uint32_t* y, const uint32_t* x, const int64_t* rows,
                                  int64_t count, int64_t row_words) {
  PROBITY_GRID_STRIDE(i, count * row_words) {
    y[i] = x[rows[i / row_words] * row_words + i % row_words];
  }
}

}  // namespace

Status LaunchColumnSums(cudaStream_t s, float* out, const float* x, int64_t rows, int64_t cols) {
  ColumnSumsKernel<<<GridFor(cols), kThreadsPerBlock, 0, s>>>(out, x, rows, cols);
  return LaunchStatus("ColumnSumsKernel");
}
Status LaunchSoftmax(cudaStream_t s, float* y, const float* x, int64_t rows, int64_t cols) {
  SoftmaxKernel<<<GridFor(rows, 128), 128, 0, s>>>(y, x, rows, cols);
  return LaunchStatus("SoftmaxKernel");
}
Status LaunchCheckLabels(cudaStream_t s, int64_t* bad, const int32_t* labels, int64_t rows,
                         int64_t cols) {
  CheckLabelsKernel<<<GridFor(rows), kThreadsPerBlock, 0, s>>>(bad, labels, rows, cols);
  return LaunchStatus("CheckLabelsKernel");
}
Status LaunchCrossEntropy(cudaStream_t s, float* loss, float* dlogits, float* per_row,
                          const float* logits, const int32_t* labels, int64_t rows, int64_t cols) {
  CrossEntropyRowsKernel<<<GridFor(rows, 128), 128, 0, s>>>(dlogits, per_row, logits, labels, rows,
                                                            cols);
  PROBITY_RETURN_IF_ERROR(LaunchStatus("CrossEntropyRowsKernel"));
  SumInOrderKernel<<<1, 1, 0, s>>>(loss, per_row, rows);
  return LaunchStatus("SumInOrderKernel");
}
Status LaunchArgmax(cudaStream_t s, int32_t* out, const float* x, int64_t rows, int64_t cols) {
  ArgmaxKernel<<<GridFor(rows, 128), 128, 0, s>>>(out, x, rows, cols);
  return LaunchStatus("ArgmaxKernel");
}
Status LaunchGatherRows(cudaStream_t s, void* y, const void* x, const int64_t* rows, int64_t count,
                        size_t row_bytes) {
  if (row_bytes % 4 == 0) {  // device allocations are 256-byte aligned: whole words
    const int64_t words = static_cast<int64_t>(row_bytes / 4);
    GatherRows4Kernel<<<GridFor(count * words), kThreadsPerBlock, 0, s>>>(
        static_cast<uint32_t*>(y), static_cast<const uint32_t*>(x), rows, count, words);
    return LaunchStatus("GatherRows4Kernel");
  }
  GatherRowsKernel<<<GridFor(count * static_cast<int64_t>(row_bytes)), kThreadsPerBlock, 0, s>>>(
      static_cast<uint8_t*>(y), static_cast<const uint8_t*>(x), rows, count, row_bytes);
  return LaunchStatus("GatherRowsKernel");
}

}  // namespace probity::workloads::cuda
