// Backends and the op set: one set of ops, computed bit for bit identically by every backend.
//
// A Backend owns a place where tensors live and ops run: `cpu` (host memory, the reference
// that verifiers and the on-chain referee re-execute with; AVX2/FMA kernels chosen at run time
// with a portable twin that gives the same bits; a thread pool) and `cuda` (GPU memory, one
// CUDA stream). Every op below is defined by an exact order of IEEE-754 binary32 operations
// (round to nearest even, subnormals kept, explicit fused multiply-adds written fma(a, b, c),
// and the elementary functions Exp/Log/Tanh built from basic operations in one source shared
// by every backend). Backends parallelise only over independent outputs, so the bits do not
// depend on the backend, the thread count, the launch shape or the machine. docs/determinism.md
// explains the discipline; the bitwise harness in workloads/compute/tests checks it.
//
// Conventions for every op:
//  - Arguments: outputs first (pointers), then inputs (const references), then parameters.
//  - Every tensor must come from this backend. Shapes and dtypes are checked before anything
//    runs; a mismatch is kInvalidArgument naming the op and the shapes, and nothing is
//    written. Outputs are allocated by the caller with the exact shape stated (so training
//    loops allocate once). "Rows" of an f32 tensor are its last dimension: a tensor of shape
//    [d0, ..., dn] is viewed as a matrix [d0*...*d(n-1), dn].
//  - An output may be the same tensor as an input only where the op says so.
//  - Zero-element tensors are valid; an op on them writes nothing and succeeds.
//  - Sums start from +0.0 unless stated, and run in the order stated. "fma(a, b, c)" is the
//    IEEE fused multiply-add, rounded once.
//  - Every f32 value an op computes is stored canonicalised: a NaN is stored as 0x7FC00000,
//    because processors disagree on NaN bit patterns (whether a result is NaN is fixed by
//    IEEE; its payload is not). Ops that only move data (Upload, Copy, GatherRows) keep bytes.
//  - Ops on `cuda` are enqueued on the backend's stream and return before the GPU finishes;
//    Download, HashTensor(s), Synchronize and any op that must read device data to validate
//    it (CrossEntropy's labels) wait for the stream. `cpu` ops finish before returning.
//
// Thread-safety: a Backend and its tensors are used by one thread at a time (the cpu backend
// uses its own worker threads inside an op). Different Backend objects are independent.
// Ownership: a DeviceTensor must not outlive the Backend that allocated it.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/workloads/tensor.h"

namespace probity::workloads {

class Backend;
namespace internal {
class BackendImpl;
}

// A tensor in a backend's memory (GPU memory for `cuda`, 64-byte aligned host memory for
// `cpu`). Move-only; frees its memory when destroyed. A default-constructed DeviceTensor is
// empty and refused by every op.
class DeviceTensor {
 public:
  DeviceTensor() = default;
  DeviceTensor(DeviceTensor&& other) noexcept;
  DeviceTensor& operator=(DeviceTensor&& other) noexcept;
  DeviceTensor(const DeviceTensor&) = delete;
  DeviceTensor& operator=(const DeviceTensor&) = delete;
  ~DeviceTensor();

  bool empty() const { return impl_ == nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t numel() const { return numel_; }
  size_t byte_size() const { return static_cast<size_t>(numel_) * DTypeSize(dtype_); }

  // Relabels the shape (row-major makes this free); kInvalidArgument unless `shape` is valid
  // and has the same element count. E.g. conv features [N, C, H, W] -> [N, C*H*W].
  Status Reshape(Shape shape);

  // The memory: a device pointer on `cuda`, a host pointer on `cpu`. For backend code and
  // tests; job code should use the ops so that their bits stay defined.
  void* raw() { return data_; }
  const void* raw() const { return data_; }

 private:
  friend class Backend;
  DeviceTensor(internal::BackendImpl* impl, void* data, DType dtype, Shape shape, int64_t numel)
      : impl_(impl), data_(data), dtype_(dtype), shape_(std::move(shape)), numel_(numel) {}
  void Release();

  internal::BackendImpl* impl_ = nullptr;
  void* data_ = nullptr;
  DType dtype_ = DType::kF32;
  Shape shape_;
  int64_t numel_ = 0;
};

struct BackendOptions {
  // cpu: threads that run an op, the caller included; 0 means one per hardware thread. 1 is
  // the single-core re-execution bound of DESIGN.md section 2. Results never depend on it.
  int threads = 0;
  // cpu: which kernels. kAuto picks AVX2/FMA when the processor has them, else portable C++.
  // kAvx2 on a processor without AVX2 and FMA is kUnsupported. Results never depend on it.
  enum class CpuKernels { kAuto, kPortable, kAvx2 };
  CpuKernels cpu_kernels = CpuKernels::kAuto;
  // cuda: which device (cudaSetDevice index).
  int cuda_device = 0;
};

// "cpu" or "cuda". kInvalidArgument for another name; kUnsupported for "cuda" when this build
// has no CUDA (PROBITY_HAVE_CUDA off) or no usable device is present, with the reason.
Result<std::unique_ptr<Backend>> CreateBackend(std::string_view name,
                                               const BackendOptions& options = {});
// The backends CreateBackend would create on this machine now ("cpu" always first).
std::vector<std::string> AvailableBackends();

// A CUDA device as the runtime reports it (cudaGetDeviceProperties).
struct CudaDeviceInfo {
  int index = 0;  // BackendOptions::cuda_device
  std::string name;
  uint64_t memory_bytes = 0;  // total global memory
  int multiprocessors = 0;
  int compute_major = 0;
  int compute_minor = 0;
};
// The CUDA devices of this machine, in device order. Empty in a build without CUDA, or when the
// driver or the devices are missing (never an error: "no GPU" is an answer, and the caller
// serves on `cpu`). Creates no context.
std::vector<CudaDeviceInfo> ListCudaDevices();

struct GemmOptions {
  bool transpose_a = false;  // A is stored [K, M] and used as its transpose
  bool transpose_b = false;  // B is stored [N, K] and used as its transpose
  // f32 only: each output's chain starts from the value already in C instead of +0.0 (or the
  // bias), so that C = A1·B1 followed by C += A2·B2 equals one GEMM over the concatenated K.
  bool accumulate = false;
};

// 2-D convolution over NCHW tensors with square stride and zero padding on every side.
struct Conv2dParams {
  int stride = 1;   // >= 1
  int padding = 0;  // >= 0
};

// One tensor for HashRowChunks: hashed in chunks of `rows_per_chunk` consecutive
// leading-dimension rows.
struct RowChunking {
  const DeviceTensor* tensor = nullptr;
  int64_t rows_per_chunk = 1;  // >= 1
};

// The number of chunks HashRowChunks gives a tensor of `shape`: 1 when the tensor is one chunk
// (rank 0, or shape[0] <= rows_per_chunk, an empty tensor included), else
// ceil(shape[0] / rows_per_chunk). 0 for rows_per_chunk < 1, which HashRowChunks refuses.
int64_t RowChunkCount(const Shape& shape, int64_t rows_per_chunk);

// PyTorch's SGD (dampening 0, not Nesterov), with the operation order below.
struct SgdParams {
  float learning_rate = 0.01f;
  float momentum = 0.9f;
  float weight_decay = 0.0f;
};

// PyTorch's Adam (L2 weight decay added to the gradient), with the operation order below.
struct AdamParams {
  float learning_rate = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
  float weight_decay = 0.0f;
  uint64_t step = 1;  // t >= 1: this update is the t-th (bias correction uses beta^t)
};

class Backend final {
 public:
  ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  // "cpu" or "cuda".
  std::string_view name() const;
  // For logs and benchmark records, e.g. "cpu: avx2+fma, sha256 x16, 8 threads" or
  // "cuda: NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)".
  std::string Describe() const;

  // --- Memory ----------------------------------------------------------------------------

  // A zero-filled tensor; kInvalidArgument for a bad shape, kResourceExhausted when the
  // backend's memory is full.
  Result<DeviceTensor> Allocate(DType dtype, Shape shape);
  // A new tensor holding a copy of `src`.
  Result<DeviceTensor> Upload(const Tensor& src);
  // Copies `src` into an existing tensor of the same dtype and shape.
  Status Upload(DeviceTensor* dst, const Tensor& src);
  // Waits for pending ops and returns a host copy.
  Result<Tensor> Download(const DeviceTensor& src);
  // dst := src (same dtype and shape).
  Status Copy(DeviceTensor* dst, const DeviceTensor& src);
  // Every byte := 0 (so f32 elements are +0.0).
  Status SetZero(DeviceTensor* t);
  // Waits until every enqueued op has finished; reports an asynchronous device failure.
  Status Synchronize();

  // --- Linear algebra --------------------------------------------------------------------

  // Ordered fp32 GEMM: C[M,N] = op(A)[M,K] · op(B)[K,N] (+ bias[N]). A, B, C, bias are f32;
  // A is [M,K] ([K,M] with transpose_a), B is [K,N] ([N,K] with transpose_b), C is [M,N],
  // bias (optional, not with accumulate) is [N]. Each output is one sequential chain:
  //   acc = accumulate ? C[i,j] : (bias ? bias[j] : +0.0)
  //   for k = 0 .. K-1:  acc = fma(op(A)[i,k], op(B)[k,j], acc)
  //   C[i,j] = acc
  // C must not be A, B or bias.
  Status GemmF32(DeviceTensor* c, const DeviceTensor& a, const DeviceTensor& b,
                 const GemmOptions& options = {}, const DeviceTensor* bias = nullptr);

  // Exact integer GEMM: C[M,N] (i32) = op(A) · op(B) with A, B i8, shapes as GemmF32; every
  // product and sum exact, so any summation order gives the same result. REQUIRES (checked):
  // K <= 131071, so |C| <= 131071 * 128 * 128 < 2^31; options.accumulate false.
  Status GemmI8(DeviceTensor* c, const DeviceTensor& a, const DeviceTensor& b,
                const GemmOptions& options = {});

  // --- Elementwise and row ops (f32) -----------------------------------------------------

  // y[r,j] = x[r,j] + bias[j], with rows as above (bias has the size of x's last dim).
  // y may be x.
  Status BiasAdd(DeviceTensor* y, const DeviceTensor& x, const DeviceTensor& bias);
  // out[j] = x[0,j] + x[1,j] + ... + x[R-1,j], left to right from +0.0 (the bias gradient).
  // out has the size of x's last dim.
  Status ColumnSums(DeviceTensor* out, const DeviceTensor& x);
  // y = x > 0 ? x : (x is NaN ? x : +0.0). y may be x.
  Status Relu(DeviceTensor* y, const DeviceTensor& x);
  // dx = x > 0 ? dy : +0.0. dx may be dy.
  Status ReluBackward(DeviceTensor* dx, const DeviceTensor& dy, const DeviceTensor& x);
  // GELU, tanh form: y = 0.5·x·(1 + tanh(sqrt(2/pi)·(x + 0.044715·x^3))), with the exact
  // operation order of GeluForward in src/elementwise_math.h. y may be x.
  Status Gelu(DeviceTensor* y, const DeviceTensor& x);
  // dx = dy · GELU'(x), order as GeluGrad in src/elementwise_math.h. dx may be dy.
  Status GeluBackward(DeviceTensor* dx, const DeviceTensor& dy, const DeviceTensor& x);
  // Per row: m = max (first of equals; a NaN at j=0 wins), e[j] = Exp(x[j] - m),
  // s = e[0] + ... + e[N-1] left to right, y[j] = e[j] / s. y may be x.
  Status Softmax(DeviceTensor* y, const DeviceTensor& x);
  // y = fma(float(x), scale, offset) for u8 x (pixels to normalised f32).
  Status U8ToF32(DeviceTensor* y, const DeviceTensor& x, float scale, float offset);

  // Mean cross-entropy of logits [B,C] (f32) against labels [B] (i32, each in [0, C)); loss
  // is an f32 scalar (shape []). Per row i, with m, e, s as in Softmax:
  //   loss_i = (m + Log(s)) - x[i, label_i]
  //   loss = (loss_0 + ... + loss_{B-1}, left to right) / B
  // and, when dlogits ([B,C]) is given, dlogits[i,j] = (e[j] / s - (j == label_i)) / B.
  // A label outside [0, C) is kInvalidArgument and nothing is written (cuda waits for the
  // stream to check the labels).
  Status CrossEntropy(DeviceTensor* loss, DeviceTensor* dlogits, const DeviceTensor& logits,
                      const DeviceTensor& labels);

  // out[r] (i32) = index of the maximum of row r of x (f32): the first j with x[j] > best,
  // scanning from best = x[0]; so ties go to the lowest index and a NaN at j=0 wins.
  Status Argmax(DeviceTensor* out, const DeviceTensor& x);

  // y[b, ...] = x[rows[b], ...] for any dtype: gathers whole leading-dimension slices, e.g.
  // a shuffled batch of images from a data set resident on the device. y's shape is x's with
  // the first dim replaced by rows.size(). A row outside [0, x.shape[0]) is kInvalidArgument.
  Status GatherRows(DeviceTensor* y, const DeviceTensor& x, std::span<const int64_t> rows);

  // --- Convolution and pooling (f32, NCHW) -----------------------------------------------

  // x [N,C,H,W], w [K,C,R,S], bias [K] (optional), y [N,K,P,Q] with
  // P = (H + 2·pad - R) / stride + 1, Q likewise (both >= 1). With xin(n,c,h,w) = x[n,c,h,w]
  // inside the image and +0.0 in the padding:
  //   acc = bias ? bias[k] : +0.0
  //   for c, r, s in row-major order: acc = fma(w[k,c,r,s], xin(n, c, p·st+r-pad, q·st+s-pad), acc)
  //   y[n,k,p,q] = acc
  // (padding terms are part of the chain, as im2col + GEMM computes them).
  Status Conv2d(DeviceTensor* y, const DeviceTensor& x, const DeviceTensor& w,
                const DeviceTensor* bias, const Conv2dParams& params);
  // Gradients of Conv2d given dy [N,K,P,Q]; any of dx, dw, dbias may be null (not computed).
  //   dbias[k]   = sum over n, then (p,q) row-major, of dy[n,k,p,q], left to right from +0.0
  //   dw[k,c,r,s]: acc = +0.0; for n, then (p,q) row-major:
  //                acc = fma(dy[n,k,p,q], xin(n, c, p·st+r-pad, q·st+s-pad), acc)
  //   dx in two rounded stages (im2col's transpose):
  //     col[n,c,r,s,p,q] = chain from +0.0 over k = 0..K-1 of fma(w[k,c,r,s], dy[n,k,p,q], acc)
  //     dx[n,c,h,w] = +0.0 + col[...] + ... over (r,s) row-major, taking for each (r,s) the one
  //                   (p,q) with p·st+r-pad = h and q·st+s-pad = w, if it exists in range.
  Status Conv2dBackward(DeviceTensor* dx, DeviceTensor* dw, DeviceTensor* dbias,
                        const DeviceTensor& dy, const DeviceTensor& x, const DeviceTensor& w,
                        const Conv2dParams& params);

  // 2x2 max-pooling with stride 2: x [N,C,H,W] -> y [N,C,H/2,W/2] (floor; an odd last row
  // or column is dropped). y = the first maximum over (0,0), (0,1), (1,0), (1,1) by strict >.
  Status MaxPool2x2(DeviceTensor* y, const DeviceTensor& x);
  // dx [N,C,H,W]: dy routed to the position MaxPool2x2 chose in each window; +0.0 elsewhere
  // (windows do not overlap, so nothing is summed).
  Status MaxPool2x2Backward(DeviceTensor* dx, const DeviceTensor& dy, const DeviceTensor& x);

  // --- Optimisers (f32, elementwise, in place on the parameter and its state) ------------

  // g' = fma(wd, w, g); v = fma(momentum, v, g'); w = fma(-lr, v, w).
  // w, velocity and grad have one shape; velocity starts as zeros.
  Status SgdMomentumUpdate(DeviceTensor* w, DeviceTensor* velocity, const DeviceTensor& grad,
                           const SgdParams& params);
  // With c1 = 1 - beta1, c2 = 1 - beta2, bc1 = 1 - beta1^t, bc2 = 1 - beta2^t (f32; beta^t
  // by square-and-multiply on the host, never libm pow):
  //   g' = fma(wd, w, g); m = fma(beta1, m, c1·g'); v = fma(beta2, v, c2·(g'·g'))
  //   w = fma(-lr, (m / bc1) / (sqrt(v / bc2) + eps), w)          (sqrt correctly rounded)
  // m and v start as zeros. kInvalidArgument for step 0.
  Status AdamUpdate(DeviceTensor* w, DeviceTensor* m, DeviceTensor* v, const DeviceTensor& grad,
                    const AdamParams& params);

  // --- Hashing ---------------------------------------------------------------------------

  // TensorHash of the tensor's canonical encoding (tensor.h), computed where the tensor lives:
  // on `cuda` by a SHA-256 kernel, so only the 32-byte digest crosses the bus. Waits.
  Result<Hash256> HashTensor(const DeviceTensor& t);
  // Hashes several tensors at once (on `cuda`, in parallel: SHA-256 is sequential within one
  // message, so one tensor cannot use more than one GPU thread). out.size() == tensors.size().
  Status HashTensors(std::span<Hash256> out, std::span<const DeviceTensor* const> tensors);
  // TensorHash of every row chunk of every tensor, computed in place (nothing is copied; on
  // `cuda` one launch hashes every chunk, one thread each; on `cpu` the chunks are spread over
  // the threads, 16 at a time per thread where the processor has AVX-512). With r =
  // rows_per_chunk, chunk k of a tensor of shape [d0, d1, ...] is the tensor of shape
  // [min(d0, (k+1)·r) − k·r, d1, ...] holding rows [k·r, min(d0, (k+1)·r)); a tensor that is
  // one chunk (RowChunkCount == 1) hashes as itself. out holds tensors[0]'s chunk hashes in
  // row order, then tensors[1]'s, ...: out.size() must be the sum of their RowChunkCount.
  // This is how a training state is hashed (workloads.h: TrainStateHash). Waits.
  Status HashRowChunks(std::span<Hash256> out, std::span<const RowChunking> tensors);

  // For the backend implementations (src/backend_impl.h).
  internal::BackendImpl& impl() { return *impl_; }
  explicit Backend(std::unique_ptr<internal::BackendImpl> impl);

 private:
  Status Check(const DeviceTensor& t, std::string_view op, std::string_view what) const;
  std::unique_ptr<internal::BackendImpl> impl_;
};

// beta^t in f32 by square-and-multiply (bits of t from the most significant), as AdamUpdate
// uses for its bias corrections. Exposed so that tests and reports can reproduce it.
float PowByMultiplication(float beta, uint64_t t);

}  // namespace probity::workloads
