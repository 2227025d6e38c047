// The cuda half of RunComputeBench (compute_bench.h): ordered fp32 GEMM against cuBLAS SGEMM,
// int8 GEMM against cuBLASLt, SHA-256 on the device. Implemented in cuda/cuda_bench.cu; a
// build without CUDA never calls it (no cuda backend exists there).
#pragma once

#include <functional>

#include "probity/workloads/compute_bench.h"

namespace probity::workloads::internal {

Status RunCudaBench(Backend& backend, const ComputeBenchOptions& options,
                    const std::function<void(const BenchRecord&)>& emit);

// Median of the durations (seconds) of `run` repeated until `min_seconds` have passed (at
// least 3 times); `run` returns its own duration or an error.
Result<double> MedianSeconds(double min_seconds, const std::function<Result<double>()>& run);

}  // namespace probity::workloads::internal
