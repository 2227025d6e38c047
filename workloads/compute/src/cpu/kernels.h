// The cpu backend's ops other than GEMM, each computing exactly the order of operations of
// backend.h / elementwise_math.h, parallel over independent outputs only.
#pragma once

#include <cstdint>

#include "backend_impl.h"
#include "cpu/cpu_context.h"

namespace probity::workloads::cpu {

void BiasAdd(const CpuContext& ctx, float* y, const float* x, const float* bias, int64_t rows,
             int64_t cols);
void ColumnSums(const CpuContext& ctx, float* out, const float* x, int64_t rows, int64_t cols);
void Relu(const CpuContext& ctx, float* y, const float* x, int64_t n);
void ReluBackward(const CpuContext& ctx, float* dx, const float* dy, const float* x, int64_t n);
void Gelu(const CpuContext& ctx, float* y, const float* x, int64_t n);
void GeluBackward(const CpuContext& ctx, float* dx, const float* dy, const float* x, int64_t n);
void U8ToF32(const CpuContext& ctx, float* y, const uint8_t* x, int64_t n, float scale,
             float offset);
void SgdMomentum(const CpuContext& ctx, float* w, float* v, const float* g, int64_t n,
                 const SgdParams& p);
void Adam(const CpuContext& ctx, float* w, float* m, float* v, const float* g, int64_t n,
          const detmath::AdamScalars& s);

void Softmax(const CpuContext& ctx, float* y, const float* x, int64_t rows, int64_t cols);
// REQUIRES: labels already checked to be in [0, cols).
void CrossEntropy(const CpuContext& ctx, float* loss, float* dlogits, const float* logits,
                  const int32_t* labels, int64_t rows, int64_t cols);
void Argmax(const CpuContext& ctx, int32_t* out, const float* x, int64_t rows, int64_t cols);

// `serial` runs nested GEMMs on one thread when the outer loop is already parallel.
void Conv2d(const CpuContext& ctx, const CpuContext& serial, float* y, const float* x,
            const float* w, const float* bias, const internal::ConvShape& g);
void Conv2dBackward(const CpuContext& ctx, const CpuContext& serial, float* dx, float* dw,
                    float* dbias, const float* dy, const float* x, const float* w,
                    const internal::ConvShape& g);

void MaxPool2x2(const CpuContext& ctx, float* y, const float* x, int64_t planes, int64_t h,
                int64_t w);
void MaxPool2x2Backward(const CpuContext& ctx, float* dx, const float* dy, const float* x,
                        int64_t planes, int64_t h, int64_t w);

}  // namespace probity::workloads::cpu
