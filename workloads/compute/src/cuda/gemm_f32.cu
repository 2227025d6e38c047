// Ordered fp32 GEMM on the GPU: tiled through shared memory, register-blocked, and still the
// chain of backend.h for every output. A thread owns TM x TN outputs of C and walks k from 0
// to K-1 in order, one fmaf per output per k, starting from +0.0, bias[j] or C[i,j]; tiles of
// K only decide when operands are staged in shared memory, never the order. The last, partial
// K tile runs exactly K mod BK steps (padding with zeros would turn a -0.0 chain into +0.0).
// There is no split-K, so the launch shape cannot change a bit.
//
// Three tile shapes are compiled: 128 x 128 (8 x 8 outputs per thread) for large problems,
// 64 x 64 (4 x 4) and 32 x 32 (2 x 2) when larger tiles would leave SMs idle. Each thread's outputs
// are two column groups and two row groups half a tile apart, so that the shared-memory reads
// of a warp fall in distinct banks.
#include "cuda/cuda_common.cuh"
#include "cuda/kernels.cuh"
#include "elementwise_math.h"

namespace probity::workloads::cuda {
namespace {

constexpr int kBk = 8;
constexpr int kGemmThreads = 256;

template <int BM, int BN, int TM, int TN, bool TA, bool TB>
__global__ void __launch_bounds__(kGemmThreads)
    OrderedGemmKernel(float* __restrict__ c, const float* __restrict__ a,
                      const float* __restrict__ b, const float* __restrict__ bias, int64_t m,
                      int64_t n, int64_t k, int init) {
  static_assert((BM / TM) * (BN / TN) == kGemmThreads, "one thread per TM x TN outputs");
  static_assert(BM * kBk % kGemmThreads == 0 && BN * kBk % kGemmThreads == 0, "even loads");
  constexpr int kALoads = BM * kBk / kGemmThreads;
  constexpr int kBLoads = BN * kBk / kGemmThreads;
  constexpr int kPad = 4;  // keeps the transposing stores of A and B free of bank conflicts
  __shared__ __align__(16) float as[2][kBk][BM + kPad];
  __shared__ __align__(16) float bs[2][kBk][BN + kPad];

  const int tid = static_cast<int>(threadIdx.x);
  const int tx = tid % (BN / TN);
  const int ty = tid / (BN / TN);
  const int64_t m0 = static_cast<int64_t>(blockIdx.y) * BM;
  const int64_t n0 = static_cast<int64_t>(blockIdx.x) * BN;

  // Element (mi, kj) of the A tile and (kj, nj) of the B tile for load slot l of this thread:
  // consecutive threads take consecutive elements along the stored (contiguous) dimension.
  auto a_slot = [&](int l, int* mi, int* kj) {
    const int e = tid + l * kGemmThreads;
    if (TA) {  // A stored [k, m]
      *kj = e / BM, *mi = e % BM;
    } else {  // A stored [m, k]
      *mi = e / kBk, *kj = e % kBk;
    }
  };
  auto b_slot = [&](int l, int* kj, int* nj) {
    const int e = tid + l * kGemmThreads;
    if (TB) {  // B stored [n, k]
      *nj = e / kBk, *kj = e % kBk;
    } else {  // B stored [k, n]
      *kj = e / BN, *nj = e % BN;
    }
  };

  float ra[kALoads], rb[kBLoads];
  auto load_tiles = [&](int64_t k0) {
#pragma unroll
    for (int l = 0; l < kALoads; ++l) {
      int mi, kj;
      a_slot(l, &mi, &kj);
      const int64_t gm = m0 + mi, gk = k0 + kj;
      ra[l] = (gm < m && gk < k) ? (TA ? a[gk * m + gm] : a[gm * k + gk]) : 0.0f;
    }
#pragma unroll
    for (int l = 0; l < kBLoads; ++l) {
      int kj, nj;
      b_slot(l, &kj, &nj);
      const int64_t gk = k0 + kj, gn = n0 + nj;
      rb[l] = (gk < k && gn < n) ? (TB ? b[gn * k + gk] : b[gk * n + gn]) : 0.0f;
    }
  };
  auto store_tiles = [&](int buf) {
#pragma unroll
    for (int l = 0; l < kALoads; ++l) {
      int mi, kj;
      a_slot(l, &mi, &kj);
      as[buf][kj][mi] = ra[l];
    }
#pragma unroll
    for (int l = 0; l < kBLoads; ++l) {
      int kj, nj;
      b_slot(l, &kj, &nj);
      bs[buf][kj][nj] = rb[l];
    }
  };

  // Output (i, j) of this thread is C[row(i), col(j)].
  constexpr int kHm = TM / 2, kHn = TN / 2;
  auto row_of = [&](int i) -> int64_t {
    return m0 + (i < kHm ? ty * kHm + i : BM / 2 + ty * kHm + (i - kHm));
  };
  auto col_of = [&](int j) -> int64_t {
    return n0 + (j < kHn ? tx * kHn + j : BN / 2 + tx * kHn + (j - kHn));
  };

  float acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i) {
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int64_t r = row_of(i), q = col_of(j);
      float v = 0.0f;
      if (r < m && q < n) {
        if (init == static_cast<int>(GemmInit::kBias)) v = bias[q];
        if (init == static_cast<int>(GemmInit::kAccumulate)) v = c[r * n + q];
      }
      acc[i][j] = v;
    }
  }

  // One step of every chain: acc[i][j] = fma(A[row(i), k], B[k, col(j)], acc[i][j]).
  auto step = [&](int buf, int kk) {
    float av[TM], bv[TN];
#pragma unroll
    for (int i = 0; i < kHm; ++i) {
      av[i] = as[buf][kk][ty * kHm + i];
      av[kHm + i] = as[buf][kk][BM / 2 + ty * kHm + i];
    }
#pragma unroll
    for (int j = 0; j < kHn; ++j) {
      bv[j] = bs[buf][kk][tx * kHn + j];
      bv[kHn + j] = bs[buf][kk][BN / 2 + tx * kHn + j];
    }
#pragma unroll
    for (int i = 0; i < TM; ++i) {
#pragma unroll
      for (int j = 0; j < TN; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
  };

  const int64_t tiles = (k + kBk - 1) / kBk;
  if (tiles > 0) {
    load_tiles(0);
    store_tiles(0);
  }
  __syncthreads();
  for (int64_t t = 0; t < tiles; ++t) {
    const int buf = static_cast<int>(t & 1);
    if (t + 1 < tiles) load_tiles((t + 1) * kBk);  // global -> registers, hidden by compute
    const int64_t left = k - t * kBk;
    if (left >= kBk) {
#pragma unroll
      for (int kk = 0; kk < kBk; ++kk) step(buf, kk);
    } else {
      for (int kk = 0; kk < static_cast<int>(left); ++kk) step(buf, kk);
    }
    // The other buffer was last read in iteration t-1, which every thread finished before the
    // barrier that ended it.
    if (t + 1 < tiles) store_tiles(buf ^ 1);
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < TM; ++i) {
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      const int64_t r = row_of(i), q = col_of(j);
      if (r < m && q < n) c[r * n + q] = detmath::Canonical(acc[i][j]);
    }
  }
}

template <int BM, int BN, int TM, int TN>
Status Launch(cudaStream_t stream, float* c, const float* a, const float* b, const float* bias,
              const internal::GemmShape& g, GemmInit init) {
  const dim3 grid(static_cast<unsigned>((g.n + BN - 1) / BN),
                  static_cast<unsigned>((g.m + BM - 1) / BM));
  if (grid.y > 65535) {
    return Status::Unsupported("cuda GemmF32: M = " + std::to_string(g.m) + " exceeds the grid");
  }
  const int mode = static_cast<int>(init);
  if (!g.trans_a && !g.trans_b) {
    OrderedGemmKernel<BM, BN, TM, TN, false, false>
        <<<grid, kGemmThreads, 0, stream>>>(c, a, b, bias, g.m, g.n, g.k, mode);
  } else if (g.trans_a && !g.trans_b) {
    OrderedGemmKernel<BM, BN, TM, TN, true, false>
        <<<grid, kGemmThreads, 0, stream>>>(c, a, b, bias, g.m, g.n, g.k, mode);
  } else if (!g.trans_a && g.trans_b) {
    OrderedGemmKernel<BM, BN, TM, TN, false, true>
        <<<grid, kGemmThreads, 0, stream>>>(c, a, b, bias, g.m, g.n, g.k, mode);
  } else {
    OrderedGemmKernel<BM, BN, TM, TN, true, true>
        <<<grid, kGemmThreads, 0, stream>>>(c, a, b, bias, g.m, g.n, g.k, mode);
  }
  return LaunchStatus("OrderedGemmKernel");
}

}  // namespace

Status LaunchGemmF32(cudaStream_t stream, int sm_count, float* c, const float* a, const float* b,
                     const float* bias, const internal::GemmShape& g, GemmInit init) {
  // Bigger tiles reuse operands more; smaller ones keep more SMs busy when C is small. (Without
  // split-K, a small C with a long K cannot use the whole GPU; that is the price of one chain
  // per output.)
  const int64_t big_tiles = ((g.m + 127) / 128) * ((g.n + 127) / 128);
  const int64_t mid_tiles = ((g.m + 63) / 64) * ((g.n + 63) / 64);
  if (big_tiles >= 2 * static_cast<int64_t>(sm_count)) {
    return Launch<128, 128, 8, 8>(stream, c, a, b, bias, g, init);
  }
  if (mid_tiles >= static_cast<int64_t>(sm_count)) {
    return Launch<64, 64, 4, 4>(stream, c, a, b, bias, g, init);
  }
  return Launch<32, 32, 2, 2>(stream, c, a, b, bias, g, init);
}

}  // namespace probity::workloads::cuda
