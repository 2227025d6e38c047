// The cuda benchmarks of compute_bench.h: our ordered fp32 GEMM against cuBLAS SGEMM (default
// math mode: full fp32, no TF32) on the same device, shapes and stream; our int8 GEMM against
// a direct cuBLASLt int8 matmul; SHA-256 of device tensors. Times come from CUDA events on the
// backend's stream, medians of repeated runs.
#include <cublasLt.h>
#include <cublas_v2.h>

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "backend_impl.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_common.cuh"
#include "cuda_bench.h"

namespace probity::workloads::internal {
namespace {

Status CublasStatus(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return Status::OK();
  return Status::Internal(std::string("cuBLAS: ") + what + ": status " +
                          std::to_string(static_cast<int>(s)));
}

// Seconds of enqueue() on `stream`, median over repetitions, measured with events.
Result<double> TimeOnStream(cudaStream_t stream, double min_seconds,
                            const std::function<Status()>& enqueue) {
  cudaEvent_t start, stop;
  PROBITY_CUDA_RETURN_IF_ERROR(cudaEventCreate(&start), "event");
  PROBITY_CUDA_RETURN_IF_ERROR(cudaEventCreate(&stop), "event");
  auto destroy = [&] {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
  };
  const Status warm = [&]() -> Status {  // warm-up
    PROBITY_RETURN_IF_ERROR(enqueue());
    return cuda::CudaStatus(cudaStreamSynchronize(stream), "warm-up");
  }();
  if (!warm.ok()) {
    destroy();
    return warm;
  }
  Result<double> r = MedianSeconds(min_seconds, [&]() -> Result<double> {
    PROBITY_CUDA_RETURN_IF_ERROR(cudaEventRecord(start, stream), "event record");
    PROBITY_RETURN_IF_ERROR(enqueue());
    PROBITY_CUDA_RETURN_IF_ERROR(cudaEventRecord(stop, stream), "event record");
    PROBITY_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(stop), "event sync");
    float ms = 0;
    PROBITY_CUDA_RETURN_IF_ERROR(cudaEventElapsedTime(&ms, start, stop), "elapsed");
    return static_cast<double>(ms) / 1e3;
  });
  destroy();
  return r;
}

Tensor Filled(DType dtype, Shape shape, uint32_t seed) {
  Tensor t = Tensor::Zeros(dtype, std::move(shape)).value();
  uint32_t x = seed * 2654435761u + 7;
  if (dtype == DType::kF32) {
    for (float& v : t.mutable_data<float>()) {
      x = x * 1664525u + 1013904223u;
      v = static_cast<float>(x >> 8) / 16777216.0f - 0.5f;
    }
  } else {
    for (uint8_t& b : t.mutable_bytes()) {
      x = x * 1664525u + 1013904223u;
      b = static_cast<uint8_t>(x >> 24);
    }
  }
  return t;
}

Status BenchSgemm(Backend& backend, cudaStream_t stream, cublasHandle_t blas, int64_t m, int64_t n,
                  int64_t k, const ComputeBenchOptions& options,
                  const std::function<void(const BenchRecord&)>& emit) {
  PROBITY_ASSIGN_OR_RETURN(DeviceTensor a, backend.Upload(Filled(DType::kF32, {m, k}, 1)));
  PROBITY_ASSIGN_OR_RETURN(DeviceTensor b, backend.Upload(Filled(DType::kF32, {k, n}, 2)));
  PROBITY_ASSIGN_OR_RETURN(DeviceTensor c, backend.Allocate(DType::kF32, {m, n}));
  PROBITY_ASSIGN_OR_RETURN(double ours, TimeOnStream(stream, options.min_seconds_per_measurement,
                                                     [&] { return backend.GemmF32(&c, a, b); }));
  // Row-major C = A·B is column-major C^T = B^T·A^T: cuBLAS with the operands swapped.
  const float one = 1.0f, zero = 0.0f;
  PROBITY_ASSIGN_OR_RETURN(
      double theirs, TimeOnStream(stream, options.min_seconds_per_measurement, [&] {
        return CublasStatus(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, static_cast<int>(n),
                                        static_cast<int>(m), static_cast<int>(k), &one,
                                        static_cast<const float*>(b.raw()), static_cast<int>(n),
                                        static_cast<const float*>(a.raw()), static_cast<int>(k),
                                        &zero, static_cast<float*>(c.raw()), static_cast<int>(n)),
                            "sgemm");
      }));
  const double flops = 2.0 * m * n * k;
  emit({.name = "gemm_fp32_ordered_gflops",
        .value = flops / ours / 1e9,
        .unit = "GFLOP/s",
        .numbers = {{"m", m},
                    {"n", n},
                    {"k", k},
                    {"baseline", flops / theirs / 1e9},
                    {"ratio", theirs / ours},
                    {"target", 0.7}},
        .strings = {{"backend", backend.Describe()}, {"baseline_name", "cublasSgemm"}}});
  return Status::OK();
}

Status BenchI8(Backend& backend, cudaStream_t stream, cublasLtHandle_t lt, int64_t m, int64_t n,
               int64_t k, const ComputeBenchOptions& options,
               const std::function<void(const BenchRecord&)>& emit) {
  PROBITY_ASSIGN_OR_RETURN(DeviceTensor a, backend.Upload(Filled(DType::kI8, {m, k}, 3)));
  PROBITY_ASSIGN_OR_RETURN(DeviceTensor b, backend.Upload(Filled(DType::kI8, {n, k}, 4)));
  PROBITY_ASSIGN_OR_RETURN(DeviceTensor c, backend.Allocate(DType::kI32, {m, n}));
  PROBITY_ASSIGN_OR_RETURN(
      double ours, TimeOnStream(stream, options.min_seconds_per_measurement,
                                [&] { return backend.GemmI8(&c, a, b, {.transpose_b = true}); }));
  // The baseline: cuBLASLt int8 "TN" matmul, column-major C^T [n, m] = B·A^T.
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  void* workspace = nullptr;
  const size_t ws_bytes = 32u << 20;
  auto cleanup = [&] {
    if (workspace) cudaFree(workspace);
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (lc) cublasLtMatrixLayoutDestroy(lc);
    if (lb) cublasLtMatrixLayoutDestroy(lb);
    if (la) cublasLtMatrixLayoutDestroy(la);
    if (op) cublasLtMatmulDescDestroy(op);
  };
  Result<double> theirs = [&]() -> Result<double> {
    PROBITY_RETURN_IF_ERROR(
        CublasStatus(cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32I, CUDA_R_32I), "desc"));
    const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    PROBITY_RETURN_IF_ERROR(CublasStatus(
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)),
        "transa"));
    PROBITY_RETURN_IF_ERROR(CublasStatus(
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)),
        "transb"));
    PROBITY_RETURN_IF_ERROR(
        CublasStatus(cublasLtMatrixLayoutCreate(&la, CUDA_R_8I, k, n, k), "la"));
    PROBITY_RETURN_IF_ERROR(
        CublasStatus(cublasLtMatrixLayoutCreate(&lb, CUDA_R_8I, k, m, k), "lb"));
    PROBITY_RETURN_IF_ERROR(
        CublasStatus(cublasLtMatrixLayoutCreate(&lc, CUDA_R_32I, n, m, n), "lc"));
    PROBITY_RETURN_IF_ERROR(CublasStatus(cublasLtMatmulPreferenceCreate(&pref), "pref"));
    PROBITY_RETURN_IF_ERROR(CublasStatus(
        cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                             &ws_bytes, sizeof(ws_bytes)),
        "workspace"));
    cublasLtMatmulHeuristicResult_t result;
    int found = 0;
    PROBITY_RETURN_IF_ERROR(CublasStatus(
        cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 1, &result, &found),
        "heuristic"));
    if (found == 0) return Status::Unsupported("cuBLASLt offers no int8 algorithm");
    PROBITY_CUDA_RETURN_IF_ERROR(cudaMalloc(&workspace, ws_bytes), "workspace");
    const int32_t alpha = 1, beta = 0;
    return TimeOnStream(stream, options.min_seconds_per_measurement, [&] {
      return CublasStatus(
          cublasLtMatmul(lt, op, &alpha, b.raw(), la, a.raw(), lb, &beta, c.raw(), lc, c.raw(), lc,
                         &result.algo, workspace, ws_bytes, stream),
          "matmul");
    });
  }();
  cleanup();
  if (!theirs.ok()) return theirs.status();
  const double ops = 2.0 * m * n * k;
  emit({.name = "gemm_i8_gops",
        .value = ops / ours / 1e9,
        .unit = "GOP/s",
        .numbers = {{"m", m},
                    {"n", n},
                    {"k", k},
                    {"baseline", ops / *theirs / 1e9},
                    {"ratio", *theirs / ours},
                    {"target", 0.9}},
        .strings = {{"backend", backend.Describe()}, {"baseline_name", "cublasLtMatmul int8"}}});
  return Status::OK();
}

Status BenchHash(Backend& backend, const ComputeBenchOptions& options,
                 const std::function<void(const BenchRecord&)>& emit) {
  const int64_t elems = options.quick ? (1 << 16) : (1 << 20);  // 256 KiB or 4 MiB of f32
  const int count = 16;
  std::vector<DeviceTensor> ts;
  for (int i = 0; i < count; ++i) {
    PROBITY_ASSIGN_OR_RETURN(DeviceTensor t, backend.Upload(Filled(DType::kF32, {elems}, 10 + i)));
    ts.push_back(std::move(t));
  }
  std::vector<const DeviceTensor*> ptrs;
  for (const DeviceTensor& t : ts) ptrs.push_back(&t);
  std::vector<Hash256> out(ptrs.size());
  using Clock = std::chrono::steady_clock;
  PROBITY_ASSIGN_OR_RETURN(
      double one, MedianSeconds(options.min_seconds_per_measurement, [&]() -> Result<double> {
        const auto t0 = Clock::now();
        PROBITY_RETURN_IF_ERROR(backend.HashTensor(ts[0]).status());
        return std::chrono::duration<double>(Clock::now() - t0).count();
      }));
  PROBITY_ASSIGN_OR_RETURN(
      double many, MedianSeconds(options.min_seconds_per_measurement, [&]() -> Result<double> {
        const auto t0 = Clock::now();
        PROBITY_RETURN_IF_ERROR(backend.HashTensors(out, ptrs));
        return std::chrono::duration<double>(Clock::now() - t0).count();
      }));
  const double mb = static_cast<double>(elems) * 4 / 1e6;
  emit({.name = "hash_tensor_mbps",
        .value = mb / one,
        .unit = "MB/s",
        .numbers = {{"tensor_mb", mb},
                    {"parallel_tensors", count},
                    {"parallel_mbps", count * mb / many}},
        .strings = {{"backend", backend.Describe()}}});
  return Status::OK();
}

}  // namespace

Status RunCudaBench(Backend& backend, const ComputeBenchOptions& options,
                    const std::function<void(const BenchRecord&)>& emit) {
  cudaStream_t stream = cuda::StreamOf(backend);
  cublasHandle_t blas = nullptr;
  cublasLtHandle_t lt = nullptr;
  const Status st = [&]() -> Status {
    PROBITY_RETURN_IF_ERROR(CublasStatus(cublasCreate(&blas), "create"));
    PROBITY_RETURN_IF_ERROR(CublasStatus(cublasSetStream(blas, stream), "set stream"));
    PROBITY_RETURN_IF_ERROR(CublasStatus(cublasLtCreate(&lt), "create Lt"));
    const std::vector<std::array<int64_t, 3>> f32 =
        options.quick ? std::vector<std::array<int64_t, 3>>{{512, 512, 512}}
                      : std::vector<std::array<int64_t, 3>>{{4096, 4096, 4096},
                                                            {8192, 8192, 8192},
                                                            {2048, 2048, 2048},
                                                            {64, 256, 784},
                                                            {1024, 4096, 1024}};
    for (const auto& s : f32) {
      PROBITY_RETURN_IF_ERROR(BenchSgemm(backend, stream, blas, s[0], s[1], s[2], options, emit));
    }
    const std::vector<std::array<int64_t, 3>> i8 =
        options.quick ? std::vector<std::array<int64_t, 3>>{{512, 512, 512}}
                      : std::vector<std::array<int64_t, 3>>{{4096, 4096, 4096}, {8192, 8192, 8192}};
    for (const auto& s : i8) {
      PROBITY_RETURN_IF_ERROR(BenchI8(backend, stream, lt, s[0], s[1], s[2], options, emit));
    }
    return BenchHash(backend, options, emit);
  }();
  if (lt) cublasLtDestroy(lt);
  if (blas) cublasDestroy(blas);
  return st;
}

}  // namespace probity::workloads::internal
