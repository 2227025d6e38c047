// Conv2d and its gradients on the cpu: im2col + the ordered GEMM, which computes exactly the
// chains of backend.h (the padding zeros are in the columns, so they are in the chains).
//
//   cols_n[(c*R + r)*S + s, p*Q + q] = xin(n, c, p*st + r - pad, q*st + s - pad)
//   forward:  y_n [K, PQ]   = chain from bias[k] of W [K, CRS] · cols_n          (accumulate)
//   dW:       dW [K, CRS]   = chain from +0.0 over n, then pq, of dy_n · cols_n^T (accumulate)
//   dx:       dcols [CRS, PQ] = W^T · dy_n, then col2im sums over (r, s) in order
// Images are independent in the forward pass and for dx, so threads take whole images when
// there are enough of them (each running a one-thread GEMM); otherwise the GEMMs themselves
// are parallel. dW chains run through all images in order, so only its GEMMs are parallel.
#include <vector>

#include "cpu/dual_loop.h"
#include "cpu/gemm.h"
#include "cpu/kernels.h"
#include "elementwise_math.h"

namespace probity::workloads::cpu {
namespace {

using internal::ConvShape;
using internal::GemmShape;

void Im2Col(const float* xn, const ConvShape& g, float* cols) {
  const int64_t pq = g.p * g.q;
  for (int64_t c = 0; c < g.c; ++c) {
    for (int64_t r = 0; r < g.r; ++r) {
      for (int64_t s = 0; s < g.s; ++s) {
        float* row = cols + ((c * g.r + r) * g.s + s) * pq;
        for (int64_t p = 0; p < g.p; ++p) {
          const int64_t h = p * g.stride + r - g.pad;
          for (int64_t q = 0; q < g.q; ++q) {
            const int64_t w = q * g.stride + s - g.pad;
            const bool inside = h >= 0 && h < g.h && w >= 0 && w < g.w;
            row[p * g.q + q] = inside ? xn[(c * g.h + h) * g.w + w] : 0.0f;
          }
        }
      }
    }
  }
}

// dx_n[c, h, w] = +0.0 + the dcols entries that im2col copied x[c, h, w] into, over (r, s)
// in row-major order.
void Col2Im(const float* dcols, const ConvShape& g, float* dxn) {
  const int64_t pq = g.p * g.q;
  for (int64_t c = 0; c < g.c; ++c) {
    for (int64_t h = 0; h < g.h; ++h) {
      for (int64_t w = 0; w < g.w; ++w) {
        float acc = 0.0f;
        for (int64_t r = 0; r < g.r; ++r) {
          const int64_t ph = h + g.pad - r;
          if (ph < 0 || ph % g.stride != 0 || ph / g.stride >= g.p) continue;
          const int64_t p = ph / g.stride;
          for (int64_t s = 0; s < g.s; ++s) {
            const int64_t qw = w + g.pad - s;
            if (qw < 0 || qw % g.stride != 0 || qw / g.stride >= g.q) continue;
            acc = acc + dcols[((c * g.r + r) * g.s + s) * pq + p * g.q + qw / g.stride];
          }
        }
        dxn[(c * g.h + h) * g.w + w] = detmath::Canonical(acc);
      }
    }
  }
}

// Runs per_image(n, gemm_ctx) for every image: in parallel over images with one-thread GEMMs
// when there are at least as many images as threads, else in order with parallel GEMMs.
template <typename F>
void ForEachImage(const CpuContext& ctx, const CpuContext& serial, int64_t images,
                  const F& per_image) {
  if (ctx.pool->threads() > 1 && images >= ctx.pool->threads()) {
    ctx.pool->Run(images, [&](int64_t n) { per_image(n, serial); });
  } else {
    for (int64_t n = 0; n < images; ++n) per_image(n, ctx);
  }
}

}  // namespace

void Conv2d(const CpuContext& ctx, const CpuContext& serial, float* y, const float* x,
            const float* w, const float* bias, const ConvShape& g) {
  const int64_t pq = g.p * g.q, crs = g.c * g.r * g.s;
  GemmShape gs;
  gs.m = g.k, gs.n = pq, gs.k = crs;
  ForEachImage(ctx, serial, g.n, [&](int64_t n, const CpuContext& gemm_ctx) {
    thread_local std::vector<float> cols;
    cols.resize(static_cast<size_t>(crs * pq));
    Im2Col(x + n * g.c * g.h * g.w, g, cols.data());
    float* yn = y + n * g.k * pq;
    for (int64_t k = 0; k < g.k; ++k) {
      const float init = bias ? bias[k] : 0.0f;
      for (int64_t i = 0; i < pq; ++i) yn[k * pq + i] = init;
    }
    GemmF32(gemm_ctx, yn, w, cols.data(), nullptr, gs, /*accumulate=*/true);
  });
}

void Conv2dBackward(const CpuContext& ctx, const CpuContext& serial, float* dx, float* dw,
                    float* dbias, const float* dy, const float* x, const float* w,
                    const ConvShape& g) {
  const int64_t pq = g.p * g.q, crs = g.c * g.r * g.s;
  if (dbias != nullptr) {
    ParallelElements(ctx, g.k, 1, [&](int64_t k) PROBITY_INLINE_BODY {
      float acc = 0.0f;
      for (int64_t n = 0; n < g.n; ++n) {
        const float* d = dy + (n * g.k + k) * pq;
        for (int64_t i = 0; i < pq; ++i) acc = acc + d[i];
      }
      dbias[k] = detmath::Canonical(acc);
    });
  }
  if (dw != nullptr) {
    GemmShape gs;  // dW [K, CRS] += dy_n [K, PQ] · (cols_n [CRS, PQ])^T
    gs.m = g.k, gs.n = crs, gs.k = pq, gs.trans_b = true;
    std::vector<float> cols(static_cast<size_t>(crs * pq));
    for (int64_t i = 0; i < g.k * crs; ++i) dw[i] = 0.0f;
    for (int64_t n = 0; n < g.n; ++n) {
      Im2Col(x + n * g.c * g.h * g.w, g, cols.data());
      GemmF32(ctx, dw, dy + n * g.k * pq, cols.data(), nullptr, gs, /*accumulate=*/true);
    }
  }
  if (dx != nullptr) {
    GemmShape gs;  // dcols [CRS, PQ] = (W [K, CRS])^T · dy_n [K, PQ]
    gs.m = crs, gs.n = pq, gs.k = g.k, gs.trans_a = true;
    ForEachImage(ctx, serial, g.n, [&](int64_t n, const CpuContext& gemm_ctx) {
      thread_local std::vector<float> dcols;
      dcols.resize(static_cast<size_t>(crs * pq));
      GemmF32(gemm_ctx, dcols.data(), w, dy + n * g.k * pq, nullptr, gs, /*accumulate=*/false);
      Col2Im(dcols.data(), g, dx + n * g.c * g.h * g.w);
    });
  }
}

}  // namespace probity::workloads::cpu
