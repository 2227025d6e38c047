// Compute benchmarks of a backend, for `probity bench workloads`.
//
// Records emitted (name: value unit; extra fields):
//  cpu backend
//   cpu_fma_peak_gflops:       the machine's f32 FMA peak measured now, with the backend's
//                              threads, by a register-resident FMA loop (AVX2 when the backend
//                              uses AVX2 kernels); fields threads, kernels
//   gemm_fp32_ordered_gflops:  ordered fp32 GEMM (Backend::GemmF32) on square and training
//                              shapes; fields m, n, k, peak_gflops, ratio (= value / peak)
//   gemm_i8_gops:              exact int8 GEMM; fields m, n, k
//  cuda backend
//   gemm_fp32_ordered_gflops:  fields baseline (cuBLAS SGEMM GFLOP/s on the same shape and
//                              device, default math mode, no TF32), ratio, target 0.7
//   gemm_i8_gops:              fields baseline (cuBLASLt int8 GOP/s), ratio, target 0.9
//   hash_tensor_mbps:          SHA-256 of a device tensor on the device (one tensor; several
//                              tensors hash in parallel)
// Each measurement repeats until it has run for a minimum time and reports the median of the
// repetitions; a whole CPU run takes a few seconds.
//
// Thread-safety: uses `backend` exclusively while it runs.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "probity/primitives/status.h"
#include "probity/workloads/backend.h"

namespace probity::workloads {

struct BenchRecord {
  std::string name;  // "gemm_fp32_ordered_gflops"
  double value = 0;
  std::string unit;                                          // "GFLOP/s"
  std::vector<std::pair<std::string, double>> numbers;       // ("ratio", 0.81), ("m", 512)
  std::vector<std::pair<std::string, std::string>> strings;  // ("backend", "cpu: avx2...")
};

struct ComputeBenchOptions {
  // Minimum time spent on each measurement, in seconds.
  double min_seconds_per_measurement = 0.3;
  // Smaller shapes and fewer of them (tests use it; records keep their names).
  bool quick = false;
};

// Runs the benchmarks of `backend` and calls `emit` once per record, in order. Fails with the
// first op error (which would be a bug) or kUnsupported for a baseline library missing.
Status RunComputeBench(Backend& backend, const ComputeBenchOptions& options,
                       const std::function<void(const BenchRecord&)>& emit);

}  // namespace probity::workloads
