// int8 x int8 -> int32 GEMM on the GPU without cuBLASLt: a tiled dp4a kernel, for the shapes
// and layouts cuBLASLt's int8 kernels refuse. Integer sums are exact in any order, so this
// kernel, cuBLASLt and the cpu backend all produce the same int32 values.
#include "cuda/cuda_common.cuh"
#include "cuda/kernels.cuh"

namespace probity::workloads::cuda {
namespace {

constexpr int kTile = 64;  // C tile kTile x kTile, 256 threads with 4 x 4 outputs each
constexpr int kBkBytes = 32;
constexpr int kBkWords = kBkBytes / 4;

// A tile: as[m][kw] holds A[m, k0 + 4kw .. 4kw+3] packed little-endian (what dp4a reads);
// B tile: bs[n][kw] likewise along k. Zero padding is harmless: it adds exact zeros.
__global__ void __launch_bounds__(256)
    GemmI8Dp4aKernel(int32_t* c, const int8_t* a, const int8_t* b, int64_t m, int64_t n, int64_t k,
                     bool ta, bool tb) {
  __shared__ int32_t as[kTile][kBkWords + 1];
  __shared__ int32_t bs[kTile][kBkWords + 1];
  const int tid = static_cast<int>(threadIdx.x);
  const int tx = tid % 16, ty = tid / 16;
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * kTile;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * kTile;
  int32_t acc[4][4] = {};
  for (int64_t k0 = 0; k0 < k; k0 += kBkBytes) {
    // 64 rows x 8 words per tile = 512 words; two per thread per operand.
    for (int l = 0; l < 2; ++l) {
      const int e = tid + l * 256;
      const int row = e / kBkWords, kw = e % kBkWords;
      uint32_t wa = 0, wb = 0;
      for (int byte = 3; byte >= 0; --byte) {
        const int64_t kk = k0 + 4 * kw + byte;
        const int64_t gm = m0 + row, gn = n0 + row;
        int8_t va = 0, vb = 0;
        if (kk < k && gm < m) va = ta ? a[kk * m + gm] : a[gm * k + kk];
        if (kk < k && gn < n) vb = tb ? b[gn * k + kk] : b[kk * n + gn];
        wa = (wa << 8) | static_cast<uint8_t>(va);
        wb = (wb << 8) | static_cast<uint8_t>(vb);
      }
      as[row][kw] = static_cast<int32_t>(wa);
      bs[row][kw] = static_cast<int32_t>(wb);
    }
    __syncthreads();
#pragma unroll
    for (int kw = 0; kw < kBkWords; ++kw) {
      int32_t av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = as[ty + 16 * i][kw];
#pragma unroll
      for (int j = 0; j < 4; ++j) bv[j] = bs[tx + 16 * j][kw];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = __dp4a(av[i], bv[j], acc[i][j]);
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t r = m0 + ty + 16 * i, q = n0 + tx + 16 * j;
      if (r < m && q < n) c[r * n + q] = acc[i][j];
    }
  }
}

__global__ void TransposeI8Kernel(int8_t* out, const int8_t* in, int64_t rows, int64_t cols) {
  PROBITY_GRID_STRIDE(e, rows * cols) {
    const int64_t r = e / cols, q = e % cols;
    out[q * rows + r] = in[e];
  }
}

}  // namespace

Status LaunchGemmI8Dp4a(cudaStream_t stream, int32_t* c, const int8_t* a, const int8_t* b,
                        const internal::GemmShape& g) {
  const dim3 grid(static_cast<unsigned>((g.n + kTile - 1) / kTile),
                  static_cast<unsigned>((g.m + kTile - 1) / kTile));
  if (grid.y > 65535) {
    return Status::Unsupported("cuda GemmI8: M = " + std::to_string(g.m) + " exceeds the grid");
  }
  GemmI8Dp4aKernel<<<grid, 256, 0, stream>>>(c, a, b, g.m, g.n, g.k, g.trans_a, g.trans_b);
  return LaunchStatus("GemmI8Dp4aKernel");
}

Status LaunchTransposeI8(cudaStream_t stream, int8_t* out, const int8_t* in, int64_t rows,
                         int64_t cols) {
  TransposeI8Kernel<<<GridFor(rows * cols), kThreadsPerBlock, 0, stream>>>(out, in, rows, cols);
  return LaunchStatus("TransposeI8Kernel");
}

}  // namespace probity::workloads::cuda
