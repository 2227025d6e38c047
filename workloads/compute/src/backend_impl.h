// The interface a backend implements (the cpu and cuda folders), in the manner of ggml's
// ggml-backend-impl.h. Backend (backend.cc) validates every argument first, so an
// implementation receives raw pointers into its own memory and dimensions that are already
// consistent, non-negative and (for the output) non-empty; it must compute exactly the order
// of operations stated in backend.h and elementwise_math.h, and parallelise only over
// independent outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "elementwise_math.h"
#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/workloads/backend.h"

namespace probity::workloads::internal {

// GEMM dimensions: op(A) is [m, k], op(B) is [k, n], C is [m, n]; A is stored [m, k] (or
// [k, m] when trans_a), B is stored [k, n] (or [n, k] when trans_b), all row-major, dense.
struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
};

// Conv2d dimensions: x [n, c, h, w], weights [k, c, r, s], y [n, k, p, q].
struct ConvShape {
  int64_t n = 0, c = 0, h = 0, w = 0;
  int64_t k = 0, r = 0, s = 0;
  int64_t p = 0, q = 0;
  int64_t stride = 1, pad = 0;
};

// One tensor to hash: the canonical header (built on the host) and the payload in backend
// memory.
struct HashItem {
  ByteView header;
  const void* data = nullptr;
  size_t bytes = 0;
};

class BackendImpl {
 public:
  virtual ~BackendImpl() = default;

  virtual std::string_view name() const = 0;
  virtual std::string Describe() const = 0;
  // cpu backends: their thread count and whether they use the AVX2/FMA kernels (for the
  // benchmark's peak measurement); 0 and false elsewhere.
  virtual int cpu_threads() const { return 0; }
  virtual bool cpu_avx2() const { return false; }

  // Zero-filled memory of `bytes` (> 0) bytes, aligned to at least 64.
  virtual Result<void*> Allocate(size_t bytes) = 0;
  virtual void Free(void* p) = 0;
  virtual Status CopyFromHost(void* dst, const void* src, size_t bytes) = 0;
  virtual Status CopyToHost(void* dst, const void* src, size_t bytes) = 0;  // waits
  virtual Status CopyWithin(void* dst, const void* src, size_t bytes) = 0;
  virtual Status Zero(void* p, size_t bytes) = 0;
  virtual Status Synchronize() = 0;

  // `bias` may be null; with `accumulate` C holds the chains' starting values.
  virtual Status GemmF32(float* c, const float* a, const float* b, const float* bias,
                         const GemmShape& g, bool accumulate) = 0;
  virtual Status GemmI8(int32_t* c, const int8_t* a, const int8_t* b, const GemmShape& g) = 0;

  virtual Status BiasAdd(float* y, const float* x, const float* bias, int64_t rows,
                         int64_t cols) = 0;
  virtual Status ColumnSums(float* out, const float* x, int64_t rows, int64_t cols) = 0;
  virtual Status Relu(float* y, const float* x, int64_t n) = 0;
  virtual Status ReluBackward(float* dx, const float* dy, const float* x, int64_t n) = 0;
  virtual Status Gelu(float* y, const float* x, int64_t n) = 0;
  virtual Status GeluBackward(float* dx, const float* dy, const float* x, int64_t n) = 0;
  virtual Status Softmax(float* y, const float* x, int64_t rows, int64_t cols) = 0;
  virtual Status U8ToF32(float* y, const uint8_t* x, int64_t n, float scale, float offset) = 0;
  // Must check every label in [0, cols) before writing anything (kInvalidArgument).
  virtual Status CrossEntropy(float* loss, float* dlogits, const float* logits,
                              const int32_t* labels, int64_t rows, int64_t cols) = 0;
  virtual Status Argmax(int32_t* out, const float* x, int64_t rows, int64_t cols) = 0;
  // `rows` (host memory) are already checked to be in range.
  virtual Status GatherRows(void* y, const void* x, std::span<const int64_t> rows,
                            size_t row_bytes) = 0;

  virtual Status Conv2d(float* y, const float* x, const float* w, const float* bias,
                        const ConvShape& g) = 0;
  // Any of dx, dw, dbias may be null.
  virtual Status Conv2dBackward(float* dx, float* dw, float* dbias, const float* dy, const float* x,
                                const float* w, const ConvShape& g) = 0;
  // planes = N*C; x planes are h x w, y planes (h/2) x (w/2).
  virtual Status MaxPool2x2(float* y, const float* x, int64_t planes, int64_t h, int64_t w) = 0;
  virtual Status MaxPool2x2Backward(float* dx, const float* dy, const float* x, int64_t planes,
                                    int64_t h, int64_t w) = 0;

  virtual Status SgdMomentum(float* w, float* v, const float* g, int64_t n, const SgdParams& p) = 0;
  // Bias corrections already computed on the host.
  virtual Status Adam(float* w, float* m, float* v, const float* g, int64_t n,
                      const detmath::AdamScalars& s) = 0;

  virtual Status HashTensors(std::span<Hash256> out, std::span<const HashItem> items) = 0;
};

// Factories of the concrete backends.
Result<std::unique_ptr<BackendImpl>> CreateCpuBackendImpl(const BackendOptions& options);
// kUnsupported with the reason when the build has no CUDA or no device is usable.
Result<std::unique_ptr<BackendImpl>> CreateCudaBackendImpl(const BackendOptions& options);
// OK when CreateCudaBackendImpl could succeed (a CUDA build and at least one device), else
// kUnsupported with the reason. Cheap: creates no context.
Status CudaAvailability();
// ListCudaDevices of this build (empty without CUDA).
std::vector<CudaDeviceInfo> ListCudaDevicesImpl();

}  // namespace probity::workloads::internal
