// The elementary functions and per-element formulas of the op set, in ONE source compiled by
// both the host compiler (cpu backend) and nvcc (cuda backend), so that both compute the same
// bits. docs/determinism.md explains why; this file is the definition of the order of
// operations that backend.h refers to.
//
// Only correctly rounded IEEE-754 binary32 operations appear: +, -, *, /, sqrt, fma (one
// rounding, written explicitly), comparisons, and exact bit manipulation (building powers of
// two, splitting exponent and mantissa). Never libm's or CUDA's expf/logf/tanhf, whose last
// bits differ between glibc versions, GPUs and the two sides. The build keeps the compilers
// honest: -ffp-contract=off on the host and -fmad=false for nvcc forbid fusing a*b+c on their
// own, --prec-div/--prec-sqrt make CUDA's / and sqrtf correctly rounded, and neither side
// flushes subnormals to zero.
//
// NaN: processors disagree on NaN bit patterns (x86 creates 0xFFC00000 and propagates
// payloads; NVIDIA GPUs create 0x7FFFFFFF), so every f32 an op computes passes through
// Canonical(), which stores any NaN as 0x7FC00000. Whether a result is a NaN is fixed by IEEE.
//
// Accuracy (tests/elementary_accuracy_test.cc sweeps every function against double-precision
// references): Exp within 1 ulp, Log within 1 ulp, Tanh within 2 ulp, over their whole ranges.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define PROBITY_HD __host__ __device__ __forceinline__
#else
// Always inlined, internal linkage: a cpu kernel compiled for AVX2/FMA (a function with
// __attribute__((target("avx2,fma")))) inlines these and turns Fma into vfmadd; the portable
// kernel inlines them too and calls libm's fmaf (correctly rounded). No out-of-line copy
// compiled for one instruction set can be picked by the linker for the other.
#define PROBITY_HD static inline __attribute__((always_inline))
#endif

namespace probity::workloads::detmath {

PROBITY_HD uint32_t FloatBits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

PROBITY_HD float BitsFloat(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

PROBITY_HD float Fma(float a, float b, float c) { return fmaf(a, b, c); }

inline constexpr uint32_t kCanonicalNaNBits = 0x7FC00000u;

PROBITY_HD float Canonical(float v) { return v != v ? BitsFloat(kCanonicalNaNBits) : v; }

// 2^e for e in [-126, 127], exactly.
PROBITY_HD float Pow2(int e) { return BitsFloat(static_cast<uint32_t>(e + 127) << 23); }

// e^x. Cody-Waite reduction x = k·ln2 + r with |r| <= ln2/2, a degree-7 polynomial for e^r
// (Taylor coefficients; truncation error below 0.05 ulp), and an exact scaling by 2^k done in
// two steps so that subnormal results are rounded once, by the final multiplication.
PROBITY_HD float Exp(float x) {
  if (x != x) return BitsFloat(kCanonicalNaNBits);
  if (x > 89.0f) return BitsFloat(0x7F800000u);  // e^89 > FLT_MAX
  if (x < -104.0f) return 0.0f;                  // e^-104 < half the smallest subnormal
  const float kLog2e = 1.44269502f;
  const float kShift = 12582912.0f;  // 1.5 * 2^23: adding and subtracting rounds to an integer
  const float kf = (x * kLog2e + kShift) - kShift;
  const float kLn2Hi = 0.693145751953125f;  // 0x1.62e43p-1, k·hi is exact
  const float kLn2Lo = 1.42860677e-06f;     // 0x1.7f7d1cp-20 = ln2 - hi
  float r = Fma(-kf, kLn2Hi, x);
  r = Fma(-kf, kLn2Lo, r);
  float p = 1.98412701e-04f;       // 1/7!
  p = Fma(p, r, 1.38888892e-03f);  // 1/6!
  p = Fma(p, r, 8.33333377e-03f);  // 1/5!
  p = Fma(p, r, 4.16666679e-02f);  // 1/4!
  p = Fma(p, r, 1.66666672e-01f);  // 1/3!
  p = Fma(p, r, 0.5f);
  p = Fma(p, r, 1.0f);
  p = Fma(p, r, 1.0f);
  const int k = static_cast<int>(kf);  // in [-151, 129]
  const int k1 = k / 2;
  const int k2 = k - k1;  // both in [-76, 65]: 2^k1 and 2^k2 are normal
  return (p * Pow2(k1)) * Pow2(k2);
}

// Natural logarithm (the method of fdlibm's e_logf.c): x = 2^e·m with m in [sqrt(2)/2,
// sqrt(2)), f = m - 1 (exact), log(1+f) from s = f/(2+f) with a degree-4 polynomial in s^2.
PROBITY_HD float Log(float x) {
  if (x != x) return BitsFloat(kCanonicalNaNBits);
  if (x < 0.0f) return BitsFloat(kCanonicalNaNBits);
  if (x == 0.0f) return BitsFloat(0xFF800000u);  // -inf
  if (x == BitsFloat(0x7F800000u)) return x;
  int e = 0;
  uint32_t bits = FloatBits(x);
  if (bits < 0x00800000u) {  // subnormal: scale into the normal range, exactly
    x = x * 33554432.0f;     // 2^25
    bits = FloatBits(x);
    e = -25;
  }
  e += static_cast<int>(bits >> 23) - 127;
  uint32_t mbits = (bits & 0x007FFFFFu) | 0x3F800000u;  // m in [1, 2)
  if (mbits > 0x3FB504F3u) {                            // m > sqrt(2): use m/2, e+1
    mbits -= 0x00800000u;
    e += 1;
  }
  const float f = BitsFloat(mbits) - 1.0f;  // exact (Sterbenz)
  const float s = f / (2.0f + f);
  const float z = s * s;
  const float w = z * z;
  const float kLg1 = 0.66666662693f;  // 0xaaaaaa.0p-24
  const float kLg2 = 0.40000972152f;  // 0xccce13.0p-25
  const float kLg3 = 0.28498786688f;  // 0x91e9ee.0p-25
  const float kLg4 = 0.24279078841f;  // 0xf89e26.0p-26
  const float t1 = w * Fma(w, kLg4, kLg2);
  const float t2 = z * Fma(w, kLg3, kLg1);
  const float rr = t2 + t1;
  const float hfsq = (0.5f * f) * f;
  const float dk = static_cast<float>(e);
  const float kLn2Hi = 6.9313812256e-01f;  // 0x3f317180: dk·hi exact
  const float kLn2Lo = 9.0580006145e-06f;  // 0x3717f7d1
  // log(x) = dk·ln2 + f - hfsq + s·(hfsq + R), summed from the small terms up.
  const float small = Fma(s, hfsq + rr, dk * kLn2Lo);
  return dk * kLn2Hi - ((hfsq - small) - f);
}

// tanh(x): an odd polynomial x + x·z·P(z), z = x^2, for |x| < 0.625 (fitted to tanh by
// Chebyshev interpolation; relative error 6e-10), else 1 - 2/(e^{2|x|} + 1) with the sign.
PROBITY_HD float Tanh(float x) {
  if (x != x) return BitsFloat(kCanonicalNaNBits);
  const float a = x < 0.0f ? -x : x;
  if (a < 0.000244140625f) return x;  // |x| < 2^-12: tanh(x) rounds to x (and keeps -0.0)
  if (a < 0.625f) {
    const float z = x * x;
    float p = 0.00229274481618f;
    p = Fma(p, z, -0.00834394551584f);
    p = Fma(p, z, 0.021768918651f);
    p = Fma(p, z, -0.0539592595772f);
    p = Fma(p, z, 0.133333035569f);
    p = Fma(p, z, -0.333333331721f);
    return Fma(x, z * p, x);
  }
  if (a > 10.0f) return x < 0.0f ? -1.0f : 1.0f;  // 1 - tanh(10) < 2^-28
  const float t = 1.0f - 2.0f / (Exp(2.0f * a) + 1.0f);
  return x < 0.0f ? -t : t;
}

// --- Per-element formulas of the ops (backend.h) -------------------------------------------

PROBITY_HD float ReluForward(float x) { return x > 0.0f ? x : (x != x ? Canonical(x) : 0.0f); }

PROBITY_HD float ReluGrad(float dy, float x) { return x > 0.0f ? Canonical(dy) : 0.0f; }

inline constexpr float kGeluK0 = 0.797884583f;  // sqrt(2/pi)
inline constexpr float kGeluK1 = 0.044715f;
inline constexpr float kGeluK3 = 0.134144992f;  // 3 * 0.044715, rounded once

// y = h + h·t with h = 0.5·x, t = Tanh(k0·(x + k1·x^3)).
PROBITY_HD float GeluForward(float x) {
  const float x3 = (x * x) * x;
  const float u = kGeluK0 * Fma(kGeluK1, x3, x);
  const float t = Tanh(u);
  const float h = 0.5f * x;
  return Canonical(Fma(h, t, h));
}

// dGELU/dx = 0.5·(1 + t) + h·(1 - t^2)·k0·(1 + 3·k1·x^2); dx = dy · that.
PROBITY_HD float GeluGrad(float dy, float x) {
  const float x2 = x * x;
  const float u = kGeluK0 * Fma(kGeluK1, x2 * x, x);
  const float t = Tanh(u);
  const float h = 0.5f * x;
  const float sech2 = Fma(-t, t, 1.0f);
  const float dudx = kGeluK0 * Fma(kGeluK3, x2, 1.0f);
  const float d = Fma(0.5f, t, 0.5f) + (h * sech2) * dudx;
  return Canonical(dy * d);
}

// SGD with momentum, one element (backend.h: SgdMomentumUpdate).
PROBITY_HD void SgdElement(float* w, float* v, float g, float lr, float momentum, float wd) {
  const float gp = Fma(wd, *w, g);
  const float vn = Fma(momentum, *v, gp);
  *v = Canonical(vn);
  *w = Canonical(Fma(-lr, vn, *w));
}

// Adam, one element (backend.h: AdamUpdate). c1 = 1 - beta1, c2 = 1 - beta2, bc1 = 1 -
// beta1^t, bc2 = 1 - beta2^t, all computed once on the host.
struct AdamScalars {
  float lr, beta1, beta2, c1, c2, bc1, bc2, eps, wd;
};
PROBITY_HD void AdamElement(float* w, float* m, float* v, float g, const AdamScalars& s) {
  const float gp = Fma(s.wd, *w, g);
  const float mn = Fma(s.beta1, *m, s.c1 * gp);
  const float vn = Fma(s.beta2, *v, s.c2 * (gp * gp));
  const float mhat = mn / s.bc1;
  const float vhat = vn / s.bc2;
  const float step = mhat / (sqrtf(vhat) + s.eps);
  *m = Canonical(mn);
  *v = Canonical(vn);
  *w = Canonical(Fma(-s.lr, step, *w));
}

// --- Per-row formulas (one thread computes one row on every backend) ------------------------

// The first maximum of x[0..n-1] by strict > (a NaN at 0 wins, later NaNs are skipped).
PROBITY_HD float RowMax(const float* x, int64_t n) {
  float m = x[0];
  for (int64_t j = 1; j < n; ++j) {
    if (x[j] > m) m = x[j];
  }
  return m;
}

// e[0] + ... + e[n-1] left to right from +0.0, e[j] = Exp(x[j] - m).
PROBITY_HD float RowExpSum(const float* x, int64_t n, float m) {
  float s = 0.0f;
  for (int64_t j = 0; j < n; ++j) s = s + Exp(x[j] - m);
  return s;
}

// y[j] = Exp(x[j] - m) / s. y may be x.
PROBITY_HD void SoftmaxRow(float* y, const float* x, int64_t n) {
  const float m = RowMax(x, n);
  const float s = RowExpSum(x, n, m);
  for (int64_t j = 0; j < n; ++j) y[j] = Canonical(Exp(x[j] - m) / s);
}

// Returns loss_i = (m + Log(s)) - x[label]; writes dl[j] = (p[j] - [j == label]) / batch when
// dl is not null. REQUIRES: 0 <= label < n.
PROBITY_HD float CrossEntropyRow(float* dl, const float* x, int64_t n, int32_t label, float batch) {
  const float m = RowMax(x, n);
  const float s = RowExpSum(x, n, m);
  const float loss = (m + Log(s)) - x[label];
  if (dl != nullptr) {
    for (int64_t j = 0; j < n; ++j) {
      const float p = Exp(x[j] - m) / s;
      dl[j] = Canonical((p - (j == label ? 1.0f : 0.0f)) / batch);
    }
  }
  return loss;
}

// The index of the first maximum by strict >, scanning from best = x[0].
PROBITY_HD int32_t ArgmaxRow(const float* x, int64_t n) {
  float best = x[0];
  int32_t at = 0;
  for (int64_t j = 1; j < n; ++j) {
    if (x[j] > best) {
      best = x[j];
      at = static_cast<int32_t>(j);
    }
  }
  return at;
}

// The position (0..3 for (0,0), (0,1), (1,0), (1,1)) that 2x2 max-pooling picks: the first
// maximum by strict >.
PROBITY_HD int MaxPoolPick(float v00, float v01, float v10, float v11) {
  float best = v00;
  int at = 0;
  if (v01 > best) best = v01, at = 1;
  if (v10 > best) best = v10, at = 2;
  if (v11 > best) best = v11, at = 3;
  return at;
}

}  // namespace probity::workloads::detmath
