// Row and column reductions on the cpu: a row (or a column) is one sequential chain, computed
// by one thread; threads split the rows (columns).
#include <vector>

#include "cpu/dual_loop.h"
#include "cpu/kernels.h"
#include "elementwise_math.h"

namespace probity::workloads::cpu {

using namespace detmath;  // NOLINT

void ColumnSums(const CpuContext& ctx, float* out, const float* x, int64_t rows, int64_t cols) {
  // Threads take ranges of columns; inside a range the loop runs down the rows so that each
  // out[j] is x[0,j] + x[1,j] + ... in order, and the j loop vectorises across columns.
  constexpr int64_t kBlock = 64;
  const int64_t blocks = (cols + kBlock - 1) / kBlock;
  ParallelElements(ctx, blocks, std::max<int64_t>(1, 4096 / std::max<int64_t>(rows, 1)),
                   [&](int64_t blk) PROBITY_INLINE_BODY {
                     const int64_t j0 = blk * kBlock, j1 = std::min(cols, j0 + kBlock);
                     for (int64_t j = j0; j < j1; ++j) out[j] = 0.0f;
                     for (int64_t i = 0; i < rows; ++i) {
                       const float* xr = x + i * cols;
                       for (int64_t j = j0; j < j1; ++j) out[j] = out[j] + xr[j];
                     }
                     for (int64_t j = j0; j < j1; ++j) out[j] = Canonical(out[j]);
                   });
}

void Softmax(const CpuContext& ctx, float* y, const float* x, int64_t rows, int64_t cols) {
  ParallelElements(ctx, rows, std::max<int64_t>(1, 2048 / cols),
                   [&](int64_t r)
                       PROBITY_INLINE_BODY { SoftmaxRow(y + r * cols, x + r * cols, cols); });
}

void CrossEntropy(const CpuContext& ctx, float* loss, float* dlogits, const float* logits,
                  const int32_t* labels, int64_t rows, int64_t cols) {
  std::vector<float> per_row(static_cast<size_t>(rows));
  const float batch = static_cast<float>(rows);
  ParallelElements(ctx, rows, std::max<int64_t>(1, 2048 / cols),
                   [&](int64_t r) PROBITY_INLINE_BODY {
                     per_row[r] = CrossEntropyRow(dlogits ? dlogits + r * cols : nullptr,
                                                  logits + r * cols, cols, labels[r], batch);
                   });
  float total = 0.0f;
  for (int64_t r = 0; r < rows; ++r) total = total + per_row[r];
  *loss = Canonical(total / batch);
}

void Argmax(const CpuContext& ctx, int32_t* out, const float* x, int64_t rows, int64_t cols) {
  ParallelElements(ctx, rows, std::max<int64_t>(1, 4096 / cols),
                   [&](int64_t r) PROBITY_INLINE_BODY { out[r] = ArgmaxRow(x + r * cols, cols); });
}

}  // namespace probity::workloads::cpu
