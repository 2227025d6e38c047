// The `cuda` backend: device memory (stream-ordered allocation), one stream, the kernels of
// this folder, and cuBLASLt for int8 GEMMs in the layout its integer kernels accept.
#include <cublasLt.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "backend_impl.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_common.cuh"
#include "cuda/kernels.cuh"

namespace probity::workloads {
namespace cuda {
namespace {

// Device memory that lives until the end of the scope, freed in stream order.
class Scratch {
 public:
  Scratch(cudaStream_t s) : stream_(s) {}
  ~Scratch() {
    for (void* p : ptrs_) cudaFreeAsync(p, stream_);
  }
  Result<void*> Get(size_t bytes) {
    void* p = nullptr;
    PROBITY_CUDA_RETURN_IF_ERROR(cudaMallocAsync(&p, std::max<size_t>(bytes, 64), stream_),
                                 "scratch allocation");
    ptrs_.push_back(p);
    return p;
  }
  template <typename T>
  Result<T*> Array(int64_t count) {
    PROBITY_ASSIGN_OR_RETURN(void* p, Get(static_cast<size_t>(count) * sizeof(T)));
    return static_cast<T*>(p);
  }

 private:
  cudaStream_t stream_;
  std::vector<void*> ptrs_;
};

Status LtStatus(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return Status::OK();
  return Status::Internal(std::string("cuBLASLt: ") + what + ": status " +
                          std::to_string(static_cast<int>(s)));
}

class CudaBackendImpl final : public internal::BackendImpl {
 public:
  static Result<std::unique_ptr<CudaBackendImpl>> Create(int device) {
    auto impl = std::unique_ptr<CudaBackendImpl>(new CudaBackendImpl(device));
    PROBITY_CUDA_RETURN_IF_ERROR(cudaSetDevice(device), "cudaSetDevice");
    cudaDeviceProp prop;
    PROBITY_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, device), "device properties");
    impl->sm_count_ = prop.multiProcessorCount;
    impl->description_ = "cuda: " + std::string(prop.name) + " (sm_" + std::to_string(prop.major) +
                         std::to_string(prop.minor) + ", " +
                         std::to_string(prop.multiProcessorCount) + " SMs)";
    PROBITY_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&impl->stream_, cudaStreamNonBlocking),
                                 "stream creation");
    return Result<std::unique_ptr<CudaBackendImpl>>(std::move(impl));
  }

  ~CudaBackendImpl() override {
    if (stream_ != nullptr) {
      cudaStreamSynchronize(stream_);
      cudaStreamDestroy(stream_);
    }
    if (lt_workspace_ != nullptr) cudaFree(lt_workspace_);
    if (lt_ != nullptr) cublasLtDestroy(lt_);
  }

  std::string_view name() const override { return "cuda"; }
  std::string Describe() const override { return description_; }
  cudaStream_t stream() const { return stream_; }

  Result<void*> Allocate(size_t bytes) override {
    PROBITY_RETURN_IF_ERROR(Activate());
    void* p = nullptr;
    PROBITY_CUDA_RETURN_IF_ERROR(cudaMallocAsync(&p, bytes, stream_), "allocation");
    PROBITY_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(p, 0, bytes, stream_), "zero fill");
    return p;
  }
  void Free(void* p) override { cudaFreeAsync(p, stream_); }
  Status CopyFromHost(void* dst, const void* src, size_t bytes) override {
    // From pageable memory the call returns once `src` has been staged, so the caller may
    // reuse it at once.
    PROBITY_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, stream_),
                                 "upload");
    return Status::OK();
  }
  Status CopyToHost(void* dst, const void* src, size_t bytes) override {
    PROBITY_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, stream_),
                                 "download");
    return Synchronize();
  }
  Status CopyWithin(void* dst, const void* src, size_t bytes) override {
    PROBITY_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream_), "copy");
    return Status::OK();
  }
  Status Zero(void* p, size_t bytes) override {
    PROBITY_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(p, 0, bytes, stream_), "memset");
    return Status::OK();
  }
  Status Synchronize() override {
    PROBITY_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_), "synchronize");
    return LaunchStatus("a previous kernel");
  }

  Status GemmF32(float* c, const float* a, const float* b, const float* bias,
                 const internal::GemmShape& g, bool accumulate) override {
    const GemmInit init =
        accumulate ? GemmInit::kAccumulate : (bias ? GemmInit::kBias : GemmInit::kZero);
    return LaunchGemmF32(stream_, sm_count_, c, a, b, bias, g, init);
  }

  Status GemmI8(int32_t* c, const int8_t* a, const int8_t* b,
                const internal::GemmShape& g) override {
    // cuBLASLt's int8 kernels want C = A · B^T with both operands K-contiguous ("TN") and
    // sizes and addresses aligned; bring other layouts there with a transpose. Any cuBLASLt
    // refusal falls back to the dp4a kernel: all give the same exact integers.
    Scratch scratch(stream_);
    const int8_t* a_mk = a;  // A as [m, k]
    const int8_t* b_nk = b;  // B as [n, k]
    const bool aligned = g.k % 4 == 0 && g.m % 4 == 0 && g.n % 4 == 0;
    if (aligned && g.trans_a) {
      PROBITY_ASSIGN_OR_RETURN(int8_t * t, scratch.Array<int8_t>(g.m * g.k));
      PROBITY_RETURN_IF_ERROR(LaunchTransposeI8(stream_, t, a, g.k, g.m));
      a_mk = t;
    }
    if (aligned && !g.trans_b) {
      PROBITY_ASSIGN_OR_RETURN(int8_t * t, scratch.Array<int8_t>(g.n * g.k));
      PROBITY_RETURN_IF_ERROR(LaunchTransposeI8(stream_, t, b, g.k, g.n));
      b_nk = t;
    }
    if (aligned && LtGemmI8(c, a_mk, b_nk, g.m, g.n, g.k).ok()) return Status::OK();
    return LaunchGemmI8Dp4a(stream_, c, a, b, g);
  }

  Status BiasAdd(float* y, const float* x, const float* bias, int64_t rows, int64_t cols) override {
    return LaunchBiasAdd(stream_, y, x, bias, rows, cols);
  }
  Status ColumnSums(float* out, const float* x, int64_t rows, int64_t cols) override {
    return LaunchColumnSums(stream_, out, x, rows, cols);
  }
  Status Relu(float* y, const float* x, int64_t n) override { return LaunchRelu(stream_, y, x, n); }
  Status ReluBackward(float* dx, const float* dy, const float* x, int64_t n) override {
    return LaunchReluBackward(stream_, dx, dy, x, n);
  }
  Status Gelu(float* y, const float* x, int64_t n) override { return LaunchGelu(stream_, y, x, n); }
  Status GeluBackward(float* dx, const float* dy, const float* x, int64_t n) override {
    return LaunchGeluBackward(stream_, dx, dy, x, n);
  }
  Status Softmax(float* y, const float* x, int64_t rows, int64_t cols) override {
    return LaunchSoftmax(stream_, y, x, rows, cols);
  }
  Status U8ToF32(float* y, const uint8_t* x, int64_t n, float scale, float offset) override {
    return LaunchU8ToF32(stream_, y, x, n, scale, offset);
  }
  Status CrossEntropy(float* loss, float* dlogits, const float* logits, const int32_t* labels,
                      int64_t rows, int64_t cols) override {
    // The labels live on the device: check them (and wait) before writing anything.
    Scratch scratch(stream_);
    PROBITY_ASSIGN_OR_RETURN(int64_t * bad, scratch.Array<int64_t>(2));
    const int64_t init[2] = {0, INT64_MAX};
    PROBITY_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(bad, init, sizeof(init), cudaMemcpyHostToDevice, stream_), "upload");
    PROBITY_RETURN_IF_ERROR(LaunchCheckLabels(stream_, bad, labels, rows, cols));
    int64_t found[2];
    PROBITY_RETURN_IF_ERROR(CopyToHost(found, bad, sizeof(found)));
    if (found[0] != 0) {
      int32_t label = 0;
      PROBITY_RETURN_IF_ERROR(CopyToHost(&label, labels + found[1], sizeof(label)));
      return Status::InvalidArgument("CrossEntropy: label " + std::to_string(label) + " of row " +
                                     std::to_string(found[1]) + " is outside [0, " +
                                     std::to_string(cols) + ")");
    }
    PROBITY_ASSIGN_OR_RETURN(float* per_row, scratch.Array<float>(rows));
    return LaunchCrossEntropy(stream_, loss, dlogits, per_row, logits, labels, rows, cols);
  }
  Status Argmax(int32_t* out, const float* x, int64_t rows, int64_t cols) override {
    return LaunchArgmax(stream_, out, x, rows, cols);
  }
  Status GatherRows(void* y, const void* x, std::span<const int64_t> rows,
                    size_t row_bytes) override {
    Scratch scratch(stream_);
    const int64_t count = static_cast<int64_t>(rows.size());
    PROBITY_ASSIGN_OR_RETURN(int64_t * d_rows, scratch.Array<int64_t>(count));
    PROBITY_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(d_rows, rows.data(), rows.size_bytes(), cudaMemcpyHostToDevice, stream_),
        "upload row indices");
    return LaunchGatherRows(stream_, y, x, d_rows, count, row_bytes);
  }

  Status Conv2d(float* y, const float* x, const float* w, const float* bias,
                const internal::ConvShape& g) override {
    Scratch scratch(stream_);
    const int64_t pq = g.p * g.q, npq = g.n * pq, crs = g.c * g.r * g.s;
    PROBITY_ASSIGN_OR_RETURN(float* cols, scratch.Array<float>(crs * npq));
    PROBITY_ASSIGN_OR_RETURN(float* yt, scratch.Array<float>(g.k * npq));
    PROBITY_RETURN_IF_ERROR(LaunchIm2Col(stream_, cols, x, g));
    PROBITY_RETURN_IF_ERROR(LaunchFillRows(stream_, yt, bias, g.k, npq));  // chains start
    internal::GemmShape gs;  // yt [K, NPQ] = W [K, CRS] · cols [CRS, NPQ], from yt
    gs.m = g.k, gs.n = npq, gs.k = crs;
    PROBITY_RETURN_IF_ERROR(
        LaunchGemmF32(stream_, sm_count_, yt, w, cols, nullptr, gs, GemmInit::kAccumulate));
    return LaunchKnpToNkp(stream_, y, yt, g.n, g.k, pq);
  }

  Status Conv2dBackward(float* dx, float* dw, float* dbias, const float* dy, const float* x,
                        const float* w, const internal::ConvShape& g) override {
    Scratch scratch(stream_);
    const int64_t pq = g.p * g.q, npq = g.n * pq, crs = g.c * g.r * g.s;
    if (dbias != nullptr)
      PROBITY_RETURN_IF_ERROR(LaunchConvBiasGrad(stream_, dbias, dy, g.n, g.k, pq));
    if (dw == nullptr && dx == nullptr) return Status::OK();
    PROBITY_ASSIGN_OR_RETURN(float* dyt, scratch.Array<float>(g.k * npq));
    PROBITY_RETURN_IF_ERROR(LaunchNkpToKnp(stream_, dyt, dy, g.n, g.k, pq));
    if (dw != nullptr) {
      PROBITY_ASSIGN_OR_RETURN(float* cols, scratch.Array<float>(crs * npq));
      PROBITY_RETURN_IF_ERROR(LaunchIm2Col(stream_, cols, x, g));
      internal::GemmShape gs;  // dW [K, CRS] = dyt [K, NPQ] · (cols [CRS, NPQ])^T
      gs.m = g.k, gs.n = crs, gs.k = npq, gs.trans_b = true;
      PROBITY_RETURN_IF_ERROR(
          LaunchGemmF32(stream_, sm_count_, dw, dyt, cols, nullptr, gs, GemmInit::kZero));
    }
    if (dx != nullptr) {
      PROBITY_ASSIGN_OR_RETURN(float* dcols, scratch.Array<float>(crs * npq));
      internal::GemmShape gs;  // dcols [CRS, NPQ] = (W [K, CRS])^T · dyt [K, NPQ]
      gs.m = crs, gs.n = npq, gs.k = g.k, gs.trans_a = true;
      PROBITY_RETURN_IF_ERROR(
          LaunchGemmF32(stream_, sm_count_, dcols, w, dyt, nullptr, gs, GemmInit::kZero));
      PROBITY_RETURN_IF_ERROR(LaunchCol2Im(stream_, dx, dcols, g));
    }
    return Status::OK();
  }

  Status MaxPool2x2(float* y, const float* x, int64_t planes, int64_t h, int64_t w) override {
    return LaunchMaxPool2x2(stream_, y, x, planes, h, w);
  }
  Status MaxPool2x2Backward(float* dx, const float* dy, const float* x, int64_t planes, int64_t h,
                            int64_t w) override {
    return LaunchMaxPool2x2Backward(stream_, dx, dy, x, planes, h, w);
  }
  Status SgdMomentum(float* w, float* v, const float* g, int64_t n, const SgdParams& p) override {
    return LaunchSgd(stream_, w, v, g, n, p.learning_rate, p.momentum, p.weight_decay);
  }
  Status Adam(float* w, float* m, float* v, const float* g, int64_t n,
              const detmath::AdamScalars& s) override {
    return LaunchAdam(stream_, w, m, v, g, n, s);
  }

  Status HashTensors(std::span<Hash256> out, std::span<const internal::HashItem> items) override {
    std::vector<HashJob> jobs(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      if (items[i].header.size() > sizeof(jobs[i].header)) {
        return Status::Internal("tensor header longer than 72 bytes");
      }
      std::memcpy(jobs[i].header, items[i].header.data(), items[i].header.size());
      jobs[i].header_len = static_cast<uint32_t>(items[i].header.size());
      jobs[i].data = static_cast<const uint8_t*>(items[i].data);
      jobs[i].data_len = items[i].bytes;
    }
    Scratch scratch(stream_);
    PROBITY_ASSIGN_OR_RETURN(HashJob * d_jobs, scratch.Array<HashJob>(jobs.size()));
    PROBITY_ASSIGN_OR_RETURN(uint8_t * d_digests, scratch.Array<uint8_t>(32 * jobs.size()));
    PROBITY_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(d_jobs, jobs.data(), sizeof(HashJob) * jobs.size(),
                                                 cudaMemcpyHostToDevice, stream_),
                                 "upload hash jobs");
    PROBITY_RETURN_IF_ERROR(
        LaunchSha256(stream_, d_digests, d_jobs, static_cast<int>(jobs.size())));
    std::vector<uint8_t> digests(32 * jobs.size());
    PROBITY_RETURN_IF_ERROR(CopyToHost(digests.data(), d_digests, digests.size()));
    for (size_t i = 0; i < out.size(); ++i) std::memcpy(out[i].data(), &digests[32 * i], 32);
    return Status::OK();
  }

  // cuBLASLt int8 GEMM, C [m, n] row-major = A [m, k] · (B [n, k])^T, computed as the
  // column-major C^T [n, m] = B^T·A with transa = T, transb = N (cuBLASLt's "TN").
  Status LtGemmI8(int32_t* c, const int8_t* a_mk, const int8_t* b_nk, int64_t m, int64_t n,
                  int64_t k) {
    if (lt_ == nullptr) PROBITY_RETURN_IF_ERROR(LtStatus(cublasLtCreate(&lt_), "create"));
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    auto cleanup = [&] {
      if (pref) cublasLtMatmulPreferenceDestroy(pref);
      if (lc) cublasLtMatrixLayoutDestroy(lc);
      if (lb) cublasLtMatrixLayoutDestroy(lb);
      if (la) cublasLtMatrixLayoutDestroy(la);
      if (op) cublasLtMatmulDescDestroy(op);
    };
    Status st = [&]() -> Status {
      PROBITY_RETURN_IF_ERROR(
          LtStatus(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32I, CUDA_R_32I), "desc"));
      const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
      PROBITY_RETURN_IF_ERROR(
          LtStatus(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)),
                   "transa"));
      PROBITY_RETURN_IF_ERROR(
          LtStatus(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)),
                   "transb"));
      PROBITY_RETURN_IF_ERROR(LtStatus(cublasLtMatrixLayoutCreate(&la, CUDA_R_8I, k, n, k), "la"));
      PROBITY_RETURN_IF_ERROR(LtStatus(cublasLtMatrixLayoutCreate(&lb, CUDA_R_8I, k, m, k), "lb"));
      PROBITY_RETURN_IF_ERROR(LtStatus(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32I, n, m, n), "lc"));
      PROBITY_RETURN_IF_ERROR(LtStatus(cublasLtMatmulPreferenceCreate(&pref), "preference"));
      const size_t workspace_bytes = kLtWorkspace;
      PROBITY_RETURN_IF_ERROR(LtStatus(
          cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                               &workspace_bytes, sizeof(workspace_bytes)),
          "workspace"));
      cublasLtMatmulHeuristicResult_t result;
      int found = 0;
      PROBITY_RETURN_IF_ERROR(LtStatus(
          cublasLtMatmulAlgoGetHeuristic(lt_, op, la, lb, lc, lc, pref, 1, &result, &found),
          "heuristic"));
      if (found == 0) return Status::Unsupported("cuBLASLt has no int8 algorithm for this shape");
      if (lt_workspace_ == nullptr) {
        PROBITY_CUDA_RETURN_IF_ERROR(cudaMalloc(&lt_workspace_, kLtWorkspace), "workspace");
      }
      const int32_t alpha = 1, beta = 0;
      return LtStatus(cublasLtMatmul(lt_, op, &alpha, b_nk, la, a_mk, lb, &beta, c, lc, c, lc,
                                     &result.algo, lt_workspace_, kLtWorkspace, stream_),
                      "matmul");
    }();
    cleanup();
    return st;
  }

 private:
  explicit CudaBackendImpl(int device) : device_(device) {}
  Status Activate() {
    PROBITY_CUDA_RETURN_IF_ERROR(cudaSetDevice(device_), "cudaSetDevice");
    return Status::OK();
  }

  static constexpr size_t kLtWorkspace = 32u << 20;
  int device_ = 0;
  int sm_count_ = 1;
  std::string description_;
  cudaStream_t stream_ = nullptr;
  cublasLtHandle_t lt_ = nullptr;
  void* lt_workspace_ = nullptr;
};

}  // namespace

cudaStream_t StreamOf(Backend& backend) {
  return static_cast<CudaBackendImpl&>(backend.impl()).stream();
}

}  // namespace cuda

namespace internal {

Status CudaAvailability() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error of the failed probe
    return Status::Unsupported(std::string("no usable CUDA device: ") + cudaGetErrorString(err));
  }
  if (count == 0) return Status::Unsupported("no CUDA device present");
  return Status::OK();
}

std::vector<CudaDeviceInfo> ListCudaDevicesImpl() {
  std::vector<CudaDeviceInfo> devices;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: clear the sticky error, report none
    return devices;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    devices.push_back({.index = i,
                       .name = prop.name,
                       .memory_bytes = static_cast<uint64_t>(prop.totalGlobalMem),
                       .multiprocessors = prop.multiProcessorCount,
                       .compute_major = prop.major,
                       .compute_minor = prop.minor});
  }
  return devices;
}

Result<std::unique_ptr<BackendImpl>> CreateCudaBackendImpl(const BackendOptions& options) {
  PROBITY_RETURN_IF_ERROR(CudaAvailability());
  int count = 0;
  cudaGetDeviceCount(&count);
  if (options.cuda_device < 0 || options.cuda_device >= count) {
    return Status::InvalidArgument("cuda device " + std::to_string(options.cuda_device) +
                                   " does not exist (" + std::to_string(count) + " present)");
  }
  PROBITY_ASSIGN_OR_RETURN(auto impl, cuda::CudaBackendImpl::Create(options.cuda_device));
  return std::unique_ptr<BackendImpl>(std::move(impl));
}

}  // namespace internal
}  // namespace probity::workloads
