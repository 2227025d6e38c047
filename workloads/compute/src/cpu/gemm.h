// The cpu backend's GEMMs: packed, register-tiled (6 x 16 outputs per micro-kernel call),
// cache-blocked over K, and spread over the thread pool by tiles of C.
//
// fp32: every output is the chain of backend.h, acc = fma(A[i,k], B[k,j], acc) for
// k = 0 .. K-1 in order. Blocking over K keeps that order: after a block of K the partial
// sums are stored to C exactly and the next block continues from them. A thread owns whole
// tiles of C, and the AVX2 kernel vectorises across j (8 independent chains per register),
// never across k, so neither threads nor vectors change a bit.
#pragma once

#include <cstdint>

#include "backend_impl.h"
#include "cpu/cpu_context.h"

namespace probity::workloads::cpu {

// C[m,n] = op(A)·op(B). Unless `accumulate`, C is first set to bias[j] (or +0.0 when bias is
// null). NaN results are canonicalised.
void GemmF32(const CpuContext& ctx, float* c, const float* a, const float* b, const float* bias,
             const internal::GemmShape& g, bool accumulate);

// C[m,n] (int32) = op(A)·op(B) exactly, for int8 A and B. REQUIRES: g.k <= 131071.
void GemmI8(const CpuContext& ctx, int32_t* c, const int8_t* a, const int8_t* b,
            const internal::GemmShape& g);

}  // namespace probity::workloads::cpu
