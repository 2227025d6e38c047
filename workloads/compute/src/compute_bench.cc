// Compute benchmarks (compute_bench.h). The cpu half: the f32 FMA peak of this machine,
// measured now with a register-resident loop on the backend's threads, and the ordered GEMM
// against it; the int8 GEMM. The cuda half is in cuda/cuda_bench.cu.
#include "probity/workloads/compute_bench.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "backend_impl.h"
#include "cpu/cpu_context.h"
#include "cuda_bench.h"

namespace probity::workloads {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

// 12 independent chains of 8-lane FMAs: enough to cover the FMA latency of every current
// x86 core with two FMA pipes. Returns a value so the loop cannot be removed.
__attribute__((target("avx2,fma"))) float FmaLoopAvx2(int64_t iters) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(1.0f + 0.01f * static_cast<float>(i));
  const __m256 mul = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-6f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], mul, add);
  }
  __m256 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, sum);
  return out[0];
}
constexpr double kFlopsPerIterAvx2 = 12 * 8 * 2;

float FmaLoopScalar(int64_t iters) {
  float acc[8];
  for (int i = 0; i < 8; ++i) acc[i] = 1.0f + 0.01f * static_cast<float>(i);
  for (int64_t it = 0; it < iters; ++it) {
    for (int i = 0; i < 8; ++i) acc[i] = std::fma(acc[i], 0.999999f, 1e-6f);
  }
  float s = 0;
  for (float a : acc) s += a;
  return s;
}
constexpr double kFlopsPerIterScalar = 8 * 2;

// GFLOP/s of `threads` threads running the FMA loop together: the median of short runs (a few
// milliseconds each), measured the same way as the GEMMs, so that both see the same share of
// a machine that other processes may be using.
Result<double> MeasureFmaPeak(int threads, bool avx2, double min_seconds) {
  auto loop = [avx2](int64_t iters) { return avx2 ? FmaLoopAvx2(iters) : FmaLoopScalar(iters); };
  const double per_iter = avx2 ? kFlopsPerIterAvx2 : kFlopsPerIterScalar;
  volatile float sink = 0;
  int64_t iters = 1 << 12;
  for (;;) {  // calibrate one run to about 5 ms
    const auto t0 = Clock::now();
    sink = sink + loop(iters);
    const double s = Seconds(t0);
    if (s > 0.002) {
      iters = std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(iters) * 0.005 / s));
      break;
    }
    iters *= 2;
  }
  std::vector<float> sinks(static_cast<size_t>(threads));
  PROBITY_ASSIGN_OR_RETURN(
      double t, internal::MedianSeconds(min_seconds, [&]() -> Result<double> {
        const auto t0 = Clock::now();
        std::vector<std::thread> pool;
        for (int i = 1; i < threads; ++i) {
          pool.emplace_back([&, i] { sinks[static_cast<size_t>(i)] = loop(iters); });
        }
        sinks[0] = loop(iters);
        for (std::thread& th : pool) th.join();
        return Seconds(t0);
      }));
  for (float v : sinks) sink = sink + v;
  return per_iter * static_cast<double>(iters) * threads / t / 1e9;
}

Tensor RandomTensor(DType dtype, Shape shape, uint32_t seed) {
  Tensor t = Tensor::Zeros(dtype, std::move(shape)).value();
  uint32_t x = seed * 2654435761u + 1;
  for (uint8_t& b : t.mutable_bytes()) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(x >> 24);
  }
  if (dtype == DType::kF32) {  // small finite values instead of random bit patterns
    for (float& v : t.mutable_data<float>()) {
      x = x * 1664525u + 1013904223u;
      v = static_cast<float>(x >> 8) / 16777216.0f - 0.5f;
    }
  }
  return t;
}

struct Shape3 {
  int64_t m, n, k;
};

// Seconds of one GEMM on `backend` (median), fp32 ordered or int8.
Result<double> TimeGemm(Backend& backend, const Shape3& s, bool int8, bool transpose_b,
                        double min_seconds) {
  const DType in = int8 ? DType::kI8 : DType::kF32;
  PROBITY_ASSIGN_OR_RETURN(DeviceTensor a, backend.Upload(RandomTensor(in, {s.m, s.k}, 1)));
  PROBITY_ASSIGN_OR_RETURN(
      DeviceTensor b,
      backend.Upload(RandomTensor(in, transpose_b ? Shape{s.n, s.k} : Shape{s.k, s.n}, 2)));
  PROBITY_ASSIGN_OR_RETURN(DeviceTensor c,
                           backend.Allocate(int8 ? DType::kI32 : DType::kF32, {s.m, s.n}));
  const GemmOptions o{.transpose_b = transpose_b};
  auto once = [&]() -> Status {
    return int8 ? backend.GemmI8(&c, a, b, o) : backend.GemmF32(&c, a, b, o);
  };
  PROBITY_RETURN_IF_ERROR(once());  // warm-up: page faults, thread wake-up, caches
  PROBITY_RETURN_IF_ERROR(backend.Synchronize());
  return internal::MedianSeconds(min_seconds, [&]() -> Result<double> {
    const auto t0 = Clock::now();
    PROBITY_RETURN_IF_ERROR(once());
    PROBITY_RETURN_IF_ERROR(backend.Synchronize());
    return Seconds(t0);
  });
}

Status RunCpuBench(Backend& backend, const ComputeBenchOptions& options,
                   const std::function<void(const BenchRecord&)>& emit) {
  const int threads = backend.impl().cpu_threads();
  const bool avx2 = backend.impl().cpu_avx2();
  const std::string kernels = avx2 ? "avx2+fma" : "portable";
  // The FMA peak is the hardware's: measured with AVX2/FMA when the processor has them, even
  // if this backend runs its portable kernels (then the ratio shows what they leave unused).
  const bool hw_avx2 = cpu::CpuHasAvx2Fma();

  std::vector<std::pair<int, Backend*>> runs = {{threads, &backend}};
  std::unique_ptr<Backend> single;
  if (threads > 1) {
    BackendOptions o{.threads = 1,
                     .cpu_kernels = avx2 ? BackendOptions::CpuKernels::kAvx2
                                         : BackendOptions::CpuKernels::kPortable};
    PROBITY_ASSIGN_OR_RETURN(single, CreateBackend("cpu", o));
    runs.push_back({1, single.get()});
  }
  const std::vector<Shape3> shapes =
      options.quick ? std::vector<Shape3>{{128, 128, 128}, {64, 256, 784}}
                    : std::vector<Shape3>{{1024, 1024, 1024}, {64, 256, 784}, {784, 256, 64}};
  for (const auto& [n_threads, be] : runs) {
    PROBITY_ASSIGN_OR_RETURN(
        double peak, MeasureFmaPeak(n_threads, hw_avx2, options.min_seconds_per_measurement));
    emit({.name = "cpu_fma_peak_gflops",
          .value = peak,
          .unit = "GFLOP/s",
          .numbers = {{"threads", n_threads}},
          .strings = {{"backend", "cpu"}, {"kernels", hw_avx2 ? "avx2+fma" : "scalar fma"}}});
    for (const Shape3& s : shapes) {
      PROBITY_ASSIGN_OR_RETURN(double t,
                               TimeGemm(*be, s, false, false, options.min_seconds_per_measurement));
      const double gflops = 2.0 * s.m * s.n * s.k / t / 1e9;
      emit({.name = "gemm_fp32_ordered_gflops",
            .value = gflops,
            .unit = "GFLOP/s",
            .numbers = {{"m", s.m},
                        {"n", s.n},
                        {"k", s.k},
                        {"threads", n_threads},
                        {"peak_gflops", peak},
                        {"ratio", gflops / peak}},
            .strings = {{"backend", "cpu"}, {"kernels", kernels}}});
    }
  }
  const Shape3 s8 = options.quick ? Shape3{128, 128, 128} : Shape3{1024, 1024, 1024};
  PROBITY_ASSIGN_OR_RETURN(double t8,
                           TimeGemm(backend, s8, true, false, options.min_seconds_per_measurement));
  emit({.name = "gemm_i8_gops",
        .value = 2.0 * s8.m * s8.n * s8.k / t8 / 1e9,
        .unit = "GOP/s",
        .numbers = {{"m", s8.m}, {"n", s8.n}, {"k", s8.k}, {"threads", threads}},
        .strings = {{"backend", "cpu"}, {"kernels", kernels}}});
  return Status::OK();
}

}  // namespace

namespace internal {

Result<double> MedianSeconds(double min_seconds, const std::function<Result<double>()>& run) {
  std::vector<double> times;
  double total = 0;
  while (times.size() < 3 || (total < min_seconds && times.size() < 1000)) {
    PROBITY_ASSIGN_OR_RETURN(double t, run());
    times.push_back(t);
    total += t;
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace internal

Status RunComputeBench(Backend& backend, const ComputeBenchOptions& options,
                       const std::function<void(const BenchRecord&)>& emit) {
  if (backend.name() == "cuda") return internal::RunCudaBench(backend, options, emit);
  return RunCpuBench(backend, options, emit);
}

}  // namespace probity::workloads
