// Exact int8 x int8 -> int32 GEMM on the cpu. Integer sums are exact in any order (gemm.h
// REQUIRES bounds K so that no sum overflows), so the AVX2 kernel may add pairs of products
// with vpmaddwd; it still matches the portable kernel and the GPU bit for bit.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "cpu/gemm.h"
#include "cpu/gemm_tiling.h"

namespace probity::workloads::cpu {
namespace {

constexpr int64_t kMr = 4;  // 8 accumulators: all operands stay in the 16 ymm registers
constexpr int64_t kNr = 16;
constexpr int64_t kKc = 512;  // even: K is consumed in pairs
constexpr int64_t kMaxMc = 120;
constexpr int64_t kMaxNc = 1024;

using internal::GemmShape;

int8_t ElemA(const int8_t* a, const GemmShape& g, int64_t i, int64_t k) {
  return g.trans_a ? a[k * g.m + i] : a[i * g.k + k];
}
int8_t ElemB(const int8_t* b, const GemmShape& g, int64_t k, int64_t j) {
  return g.trans_b ? b[j * g.k + k] : b[k * g.n + j];
}

// out[s][kp][r][2] = op(A)[i0 + s*kMr + r, k0 + 2kp + {0,1}] as int16, zero-padded.
void PackA(const int8_t* a, const GemmShape& g, int64_t i0, int64_t rows, int64_t k0, int64_t kb,
           int16_t* out) {
  const int64_t kp_count = (kb + 1) / 2;
  for (int64_t s = 0; s * kMr < rows; ++s) {
    int16_t* dst = out + s * kp_count * kMr * 2;
    for (int64_t kp = 0; kp < kp_count; ++kp) {
      for (int64_t r = 0; r < kMr; ++r) {
        const int64_t i = i0 + s * kMr + r;
        const bool valid = s * kMr + r < rows;
        for (int64_t h = 0; h < 2; ++h) {
          const int64_t k = 2 * kp + h;
          dst[(kp * kMr + r) * 2 + h] = valid && k < kb ? ElemA(a, g, i, k0 + k) : 0;
        }
      }
    }
  }
}

// out[t][kp][c][2] = op(B)[k0 + 2kp + {0,1}, j0 + t*kNr + c] as int16, zero-padded.
void PackB(const int8_t* b, const GemmShape& g, int64_t j0, int64_t cols, int64_t k0, int64_t kb,
           int16_t* out) {
  const int64_t kp_count = (kb + 1) / 2;
  for (int64_t t = 0; t * kNr < cols; ++t) {
    int16_t* dst = out + t * kp_count * kNr * 2;
    for (int64_t kp = 0; kp < kp_count; ++kp) {
      for (int64_t c = 0; c < kNr; ++c) {
        const int64_t j = j0 + t * kNr + c;
        const bool valid = t * kNr + c < cols;
        for (int64_t h = 0; h < 2; ++h) {
          const int64_t k = 2 * kp + h;
          dst[(kp * kNr + c) * 2 + h] = valid && k < kb ? ElemB(b, g, k0 + k, j) : 0;
        }
      }
    }
  }
}

using MicroKernel = void (*)(int64_t kp_count, const int16_t* ap, const int16_t* bp, int32_t* c,
                             int64_t ldc);

void MicroPortable(int64_t kp_count, const int16_t* ap, const int16_t* bp, int32_t* c,
                   int64_t ldc) {
  int32_t acc[kMr][kNr];
  for (int64_t r = 0; r < kMr; ++r) std::memcpy(acc[r], c + r * ldc, sizeof(acc[r]));
  for (int64_t kp = 0; kp < kp_count; ++kp) {
    for (int64_t r = 0; r < kMr; ++r) {
      const int32_t a0 = ap[(kp * kMr + r) * 2], a1 = ap[(kp * kMr + r) * 2 + 1];
      for (int64_t j = 0; j < kNr; ++j) {
        acc[r][j] += a0 * bp[(kp * kNr + j) * 2] + a1 * bp[(kp * kNr + j) * 2 + 1];
      }
    }
  }
  for (int64_t r = 0; r < kMr; ++r) std::memcpy(c + r * ldc, acc[r], sizeof(acc[r]));
}

#define PROBITY_AVX2_INLINE __attribute__((target("avx2"), always_inline)) inline
PROBITY_AVX2_INLINE __m256i Load(const int32_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
PROBITY_AVX2_INLINE void Store(int32_t* p, __m256i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
}
// The int16 pair (A[i, 2kp], A[i, 2kp+1]) of one row, broadcast to every 32-bit lane.
PROBITY_AVX2_INLINE __m256i Pair(const int16_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

__attribute__((target("avx2"))) void MicroAvx2(int64_t kp_count, const int16_t* ap,
                                               const int16_t* bp, int32_t* c, int64_t ldc) {
  __m256i c00 = Load(c + 0 * ldc), c01 = Load(c + 0 * ldc + 8);
  __m256i c10 = Load(c + 1 * ldc), c11 = Load(c + 1 * ldc + 8);
  __m256i c20 = Load(c + 2 * ldc), c21 = Load(c + 2 * ldc + 8);
  __m256i c30 = Load(c + 3 * ldc), c31 = Load(c + 3 * ldc + 8);
#pragma GCC unroll 2
  for (int64_t kp = 0; kp < kp_count; ++kp) {
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + 16));
    __m256i a = Pair(ap + 0);
    c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(a, b0));
    c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(a, b1));
    a = Pair(ap + 2);
    c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(a, b0));
    c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(a, b1));
    a = Pair(ap + 4);
    c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(a, b0));
    c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(a, b1));
    a = Pair(ap + 6);
    c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(a, b0));
    c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(a, b1));
    ap += 2 * kMr;
    bp += 2 * kNr;
  }
  Store(c + 0 * ldc, c00), Store(c + 0 * ldc + 8, c01);
  Store(c + 1 * ldc, c10), Store(c + 1 * ldc + 8, c11);
  Store(c + 2 * ldc, c20), Store(c + 2 * ldc + 8, c21);
  Store(c + 3 * ldc, c30), Store(c + 3 * ldc + 8, c31);
}

void GemmTask(MicroKernel micro, int32_t* c, const int8_t* a, const int8_t* b, const GemmShape& g,
              int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
  const int64_t rows = i1 - i0, cols = j1 - j0;
  for (int64_t i = i0; i < i1; ++i) std::memset(c + i * g.n + j0, 0, sizeof(int32_t) * cols);
  thread_local std::vector<int16_t> apack, bpack;
  apack.resize(static_cast<size_t>(RoundUp(rows, kMr) * kKc));
  bpack.resize(static_cast<size_t>(RoundUp(cols, kNr) * kKc));
  for (int64_t k0 = 0; k0 < g.k; k0 += kKc) {
    const int64_t kb = std::min(kKc, g.k - k0);
    const int64_t kp_count = (kb + 1) / 2;
    PackA(a, g, i0, rows, k0, kb, apack.data());
    PackB(b, g, j0, cols, k0, kb, bpack.data());
    for (int64_t t = 0; t * kNr < cols; ++t) {
      const int16_t* bp = bpack.data() + t * kp_count * kNr * 2;
      const int64_t cvalid = std::min(kNr, cols - t * kNr);
      for (int64_t s = 0; s * kMr < rows; ++s) {
        const int16_t* ap = apack.data() + s * kp_count * kMr * 2;
        const int64_t rvalid = std::min(kMr, rows - s * kMr);
        int32_t* ctile = c + (i0 + s * kMr) * g.n + j0 + t * kNr;
        if (rvalid == kMr && cvalid == kNr) {
          micro(kp_count, ap, bp, ctile, g.n);
        } else {
          int32_t buf[kMr * kNr] = {};
          for (int64_t r = 0; r < rvalid; ++r) {
            std::memcpy(buf + r * kNr, ctile + r * g.n, sizeof(int32_t) * cvalid);
          }
          micro(kp_count, ap, bp, buf, kNr);
          for (int64_t r = 0; r < rvalid; ++r) {
            std::memcpy(ctile + r * g.n, buf + r * kNr, sizeof(int32_t) * cvalid);
          }
        }
      }
    }
  }
}

}  // namespace

void GemmI8(const CpuContext& ctx, int32_t* c, const int8_t* a, const int8_t* b,
            const GemmShape& g) {
  const MicroKernel micro = ctx.avx2 ? MicroAvx2 : MicroPortable;
  const GemmTiling t =
      ChooseGemmTiling(g.m, g.n, g.k, ctx.pool->threads(), kMr, kNr, kMaxMc, kMaxNc);
  auto task = [&](int64_t id) {
    const int64_t mb = id / t.nblocks, nb = id % t.nblocks;
    const int64_t i0 = mb * t.mc, j0 = nb * t.nc;
    GemmTask(micro, c, a, b, g, i0, std::min(g.m, i0 + t.mc), j0, std::min(g.n, j0 + t.nc));
  };
  if (t.tasks() == 1) {
    task(0);
  } else {
    ctx.pool->Run(t.tasks(), task);
  }
}

}  // namespace probity::workloads::cpu
