// Ordered fp32 GEMM on the cpu (see gemm.h for why blocking and threads keep the bits).
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/gemm_tiling.h"
#include "elementwise_math.h"

namespace probity::workloads::cpu {
namespace {

constexpr int64_t kMr = 6;
constexpr int64_t kNr = 16;
constexpr int64_t kKc = 256;
constexpr int64_t kMaxMc = 120;
constexpr int64_t kMaxNc = 1024;

using internal::GemmShape;

// Packs rows [i0, i0+rows) x k in [k0, k0+kb) of op(A) into strips of kMr rows:
// out[s][k][r] = op(A)[i0 + s*kMr + r, k0 + k], zero past the last row.
void PackA(const float* a, const GemmShape& g, int64_t i0, int64_t rows, int64_t k0, int64_t kb,
           float* out) {
  for (int64_t s = 0; s * kMr < rows; ++s) {
    float* dst = out + s * kb * kMr;
    const int64_t valid = std::min(kMr, rows - s * kMr);
    if (!g.trans_a) {  // A is [m, k]
      for (int64_t r = 0; r < kMr; ++r) {
        if (r < valid) {
          const float* src = a + (i0 + s * kMr + r) * g.k + k0;
          for (int64_t k = 0; k < kb; ++k) dst[k * kMr + r] = src[k];
        } else {
          for (int64_t k = 0; k < kb; ++k) dst[k * kMr + r] = 0.0f;
        }
      }
    } else {  // A is [k, m]
      for (int64_t k = 0; k < kb; ++k) {
        const float* src = a + (k0 + k) * g.m + i0 + s * kMr;
        for (int64_t r = 0; r < kMr; ++r) dst[k * kMr + r] = r < valid ? src[r] : 0.0f;
      }
    }
  }
}

// Packs columns [j0, j0+cols) x k in [k0, k0+kb) of op(B) into panels of kNr columns:
// out[t][k][c] = op(B)[k0 + k, j0 + t*kNr + c], zero past the last column.
void PackB(const float* b, const GemmShape& g, int64_t j0, int64_t cols, int64_t k0, int64_t kb,
           float* out) {
  for (int64_t t = 0; t * kNr < cols; ++t) {
    float* dst = out + t * kb * kNr;
    const int64_t valid = std::min(kNr, cols - t * kNr);
    if (!g.trans_b) {  // B is [k, n]
      for (int64_t k = 0; k < kb; ++k) {
        const float* src = b + (k0 + k) * g.n + j0 + t * kNr;
        for (int64_t c = 0; c < kNr; ++c) dst[k * kNr + c] = c < valid ? src[c] : 0.0f;
      }
    } else {  // B is [n, k]
      for (int64_t c = 0; c < kNr; ++c) {
        if (c < valid) {
          const float* src = b + (j0 + t * kNr + c) * g.k + k0;
          for (int64_t k = 0; k < kb; ++k) dst[k * kNr + c] = src[k];
        } else {
          for (int64_t k = 0; k < kb; ++k) dst[k * kNr + c] = 0.0f;
        }
      }
    }
  }
}

// The micro-kernels: the 6 x 16 tile at c (row stride ldc) continues its chains over kb
// packed steps: c[r][j] = fma(ap[k][r], bp[k][j], c[r][j]) for k = 0 .. kb-1.
using MicroKernel = void (*)(int64_t kb, const float* ap, const float* bp, float* c, int64_t ldc);

void MicroPortable(int64_t kb, const float* ap, const float* bp, float* c, int64_t ldc) {
  float acc[kMr][kNr];
  for (int64_t r = 0; r < kMr; ++r) std::memcpy(acc[r], c + r * ldc, sizeof(acc[r]));
  for (int64_t k = 0; k < kb; ++k) {
    for (int64_t r = 0; r < kMr; ++r) {
      const float av = ap[k * kMr + r];
      for (int64_t j = 0; j < kNr; ++j) acc[r][j] = std::fma(av, bp[k * kNr + j], acc[r][j]);
    }
  }
  for (int64_t r = 0; r < kMr; ++r) std::memcpy(c + r * ldc, acc[r], sizeof(acc[r]));
}

__attribute__((target("avx2,fma"))) void MicroAvx2(int64_t kb, const float* ap, const float* bp,
                                                   float* c, int64_t ldc) {
  __m256 c00 = _mm256_loadu_ps(c + 0 * ldc), c01 = _mm256_loadu_ps(c + 0 * ldc + 8);
  __m256 c10 = _mm256_loadu_ps(c + 1 * ldc), c11 = _mm256_loadu_ps(c + 1 * ldc + 8);
  __m256 c20 = _mm256_loadu_ps(c + 2 * ldc), c21 = _mm256_loadu_ps(c + 2 * ldc + 8);
  __m256 c30 = _mm256_loadu_ps(c + 3 * ldc), c31 = _mm256_loadu_ps(c + 3 * ldc + 8);
  __m256 c40 = _mm256_loadu_ps(c + 4 * ldc), c41 = _mm256_loadu_ps(c + 4 * ldc + 8);
  __m256 c50 = _mm256_loadu_ps(c + 5 * ldc), c51 = _mm256_loadu_ps(c + 5 * ldc + 8);
#pragma GCC unroll 4
  for (int64_t k = 0; k < kb; ++k) {
    const __m256 b0 = _mm256_loadu_ps(bp);
    const __m256 b1 = _mm256_loadu_ps(bp + 8);
    __m256 a;
    a = _mm256_broadcast_ss(ap + 0);
    c00 = _mm256_fmadd_ps(a, b0, c00);
    c01 = _mm256_fmadd_ps(a, b1, c01);
    a = _mm256_broadcast_ss(ap + 1);
    c10 = _mm256_fmadd_ps(a, b0, c10);
    c11 = _mm256_fmadd_ps(a, b1, c11);
    a = _mm256_broadcast_ss(ap + 2);
    c20 = _mm256_fmadd_ps(a, b0, c20);
    c21 = _mm256_fmadd_ps(a, b1, c21);
    a = _mm256_broadcast_ss(ap + 3);
    c30 = _mm256_fmadd_ps(a, b0, c30);
    c31 = _mm256_fmadd_ps(a, b1, c31);
    a = _mm256_broadcast_ss(ap + 4);
    c40 = _mm256_fmadd_ps(a, b0, c40);
    c41 = _mm256_fmadd_ps(a, b1, c41);
    a = _mm256_broadcast_ss(ap + 5);
    c50 = _mm256_fmadd_ps(a, b0, c50);
    c51 = _mm256_fmadd_ps(a, b1, c51);
    ap += kMr;
    bp += kNr;
  }
  _mm256_storeu_ps(c + 0 * ldc, c00), _mm256_storeu_ps(c + 0 * ldc + 8, c01);
  _mm256_storeu_ps(c + 1 * ldc, c10), _mm256_storeu_ps(c + 1 * ldc + 8, c11);
  _mm256_storeu_ps(c + 2 * ldc, c20), _mm256_storeu_ps(c + 2 * ldc + 8, c21);
  _mm256_storeu_ps(c + 3 * ldc, c30), _mm256_storeu_ps(c + 3 * ldc + 8, c31);
  _mm256_storeu_ps(c + 4 * ldc, c40), _mm256_storeu_ps(c + 4 * ldc + 8, c41);
  _mm256_storeu_ps(c + 5 * ldc, c50), _mm256_storeu_ps(c + 5 * ldc + 8, c51);
}

// One task: C[i0:i1, j0:j1], all of K. `bpacked` holds all of op(B), packed by PackAllB.
void GemmTask(MicroKernel micro, float* c, const float* a, const float* bpacked, const float* bias,
              const GemmShape& g, bool accumulate, int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const int64_t rows = i1 - i0, cols = j1 - j0;
  const int64_t npad = RoundUp(g.n, kNr);
  if (!accumulate) {
    for (int64_t i = i0; i < i1; ++i) {
      float* row = c + i * g.n;
      for (int64_t j = j0; j < j1; ++j) row[j] = bias ? bias[j] : 0.0f;
    }
  }
  thread_local std::vector<float> apack;
  apack.resize(static_cast<size_t>(RoundUp(rows, kMr) * kKc));
  for (int64_t k0 = 0; k0 < g.k; k0 += kKc) {
    const int64_t kb = std::min(kKc, g.k - k0);
    PackA(a, g, i0, rows, k0, kb, apack.data());
    // Panels of this K block: the A block (in L2) meets each B panel (in L1) once per strip.
    const float* bblock = bpacked + k0 * npad + (j0 / kNr) * kb * kNr;
    for (int64_t t = 0; t * kNr < cols; ++t) {
      const float* bp = bblock + t * kb * kNr;
      const int64_t cvalid = std::min(kNr, cols - t * kNr);
      for (int64_t s = 0; s * kMr < rows; ++s) {
        const float* ap = apack.data() + s * kb * kMr;
        const int64_t rvalid = std::min(kMr, rows - s * kMr);
        float* ctile = c + (i0 + s * kMr) * g.n + j0 + t * kNr;
        if (rvalid == kMr && cvalid == kNr) {
          micro(kb, ap, bp, ctile, g.n);
        } else {
          // Edge tile: run on a padded copy; the padding lanes compute with zeros and are
          // dropped, the valid lanes are the same chains.
          float buf[kMr * kNr] = {};
          for (int64_t r = 0; r < rvalid; ++r) {
            std::memcpy(buf + r * kNr, ctile + r * g.n, sizeof(float) * cvalid);
          }
          micro(kb, ap, bp, buf, kNr);
          for (int64_t r = 0; r < rvalid; ++r) {
            std::memcpy(ctile + r * g.n, buf + r * kNr, sizeof(float) * cvalid);
          }
        }
      }
    }
  }
  for (int64_t i = i0; i < i1; ++i) {
    float* row = c + i * g.n;
    for (int64_t j = j0; j < j1; ++j) row[j] = detmath::Canonical(row[j]);
  }
}

// Packs all of op(B) once per call (shared by every task): K block k0 (kb deep) starts at
// k0 * npad, and within it panel t at t * kb * kNr, as PackB lays it out.
void PackAllB(const CpuContext& ctx, bool parallel, const float* b, const GemmShape& g,
              float* out) {
  const int64_t npad = RoundUp(g.n, kNr);
  const int64_t kblocks = (g.k + kKc - 1) / kKc;
  const int64_t col_chunks = (g.n + 255) / 256;  // 16 panels per job
  auto job = [&](int64_t id) {
    const int64_t k0 = (id / col_chunks) * kKc, kb = std::min(kKc, g.k - k0);
    const int64_t j0 = (id % col_chunks) * 256, cols = std::min<int64_t>(256, g.n - j0);
    PackB(b, g, j0, cols, k0, kb, out + k0 * npad + (j0 / kNr) * kb * kNr);
  };
  if (parallel) {
    ctx.pool->Run(kblocks * col_chunks, job);
  } else {
    for (int64_t id = 0; id < kblocks * col_chunks; ++id) job(id);
  }
}

}  // namespace

void GemmF32(const CpuContext& ctx, float* c, const float* a, const float* b, const float* bias,
             const GemmShape& g, bool accumulate) {
  const MicroKernel micro = ctx.avx2 ? MicroAvx2 : MicroPortable;
  const GemmTiling t =
      ChooseGemmTiling(g.m, g.n, g.k, ctx.pool->threads(), kMr, kNr, kMaxMc, kMaxNc);
  thread_local std::vector<float> bpacked;
  bpacked.resize(static_cast<size_t>(RoundUp(g.n, kNr) * g.k));
  PackAllB(ctx, t.tasks() > 1, b, g, bpacked.data());
  // Captured by value: a thread_local named inside the lambda would be the worker's own.
  const float* packed = bpacked.data();
  auto task = [&, packed](int64_t id) {
    const int64_t mb = id / t.nblocks, nb = id % t.nblocks;
    const int64_t i0 = mb * t.mc, j0 = nb * t.nc;
    GemmTask(micro, c, a, packed, bias, g, accumulate, i0, std::min(g.m, i0 + t.mc), j0,
             std::min(g.n, j0 + t.nc));
  };
  if (t.tasks() == 1) {
    task(0);
  } else {
    ctx.pool->Run(t.tasks(), task);
  }
}

}  // namespace probity::workloads::cpu
