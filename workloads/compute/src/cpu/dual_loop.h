// Elementwise loops compiled twice: once for the baseline x86-64 (portable) and once with
// AVX2/FMA enabled, where the always-inlined formulas of elementwise_math.h turn fma into
// vfmadd and simple loops vectorise. Both flavours execute the same IEEE operations in the
// same order per element, so they give the same bits; the context picks one at run time.
//
// The body must be a lambda marked PROBITY_INLINE_BODY so that it is compiled inside the
// flavour's function (and with its instruction set), not once outside it.
#pragma once

#include <cstdint>

#include "cpu/cpu_context.h"

#define PROBITY_INLINE_BODY __attribute__((always_inline))

namespace probity::workloads::cpu {

template <typename F>
__attribute__((target("avx2,fma"))) void RunRangeAvx2(int64_t begin, int64_t end, const F& f) {
  for (int64_t i = begin; i < end; ++i) f(i);
}

template <typename F>
void RunRangePortable(int64_t begin, int64_t end, const F& f) {
  for (int64_t i = begin; i < end; ++i) f(i);
}

// Calls f(i) for i in [0, n), in chunks of at least `grain` spread over the pool.
template <typename F>
void ParallelElements(const CpuContext& ctx, int64_t n, int64_t grain, const F& f) {
  ctx.pool->ParallelFor(n, grain, [&](int64_t begin, int64_t end) {
    if (ctx.avx2) {
      RunRangeAvx2(begin, end, f);
    } else {
      RunRangePortable(begin, end, f);
    }
  });
}

// Elementwise work is memory-bound: small chunks cost more in wake-ups than they save.
inline constexpr int64_t kElementGrain = 16384;

}  // namespace probity::workloads::cpu
