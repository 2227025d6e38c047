// What every file of the cuda backend shares: error conversion and launch geometry.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "probity/primitives/status.h"

namespace probity::workloads::cuda {

inline Status CudaStatus(cudaError_t err, const char* what) {
  if (err == cudaSuccess) return Status::OK();
  if (err == cudaErrorMemoryAllocation) {
    return Status::ResourceExhausted(std::string("cuda: ") + what + ": out of device memory");
  }
  return Status::Internal(std::string("cuda: ") + what + ": " + cudaGetErrorName(err) + ": " +
                          cudaGetErrorString(err));
}

// The status of the last launch (configuration errors surface here, execution errors at the
// next synchronisation).
inline Status LaunchStatus(const char* kernel) { return CudaStatus(cudaGetLastError(), kernel); }

#define PROBITY_CUDA_RETURN_IF_ERROR(expr, what)                              \
  do {                                                                        \
    cudaError_t probity_cuda_err_ = (expr);                                   \
    if (probity_cuda_err_ != cudaSuccess) {                                   \
      return ::probity::workloads::cuda::CudaStatus(probity_cuda_err_, what); \
    }                                                                         \
  } while (0)

inline constexpr int kThreadsPerBlock = 256;

// A grid-stride loop: thread-to-item assignment is free because items are independent.
#define PROBITY_GRID_STRIDE(i, n)                                                        \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

// Blocks for a grid-stride loop over n items: enough to fill the GPU, never above the grid
// limit. Which thread handles which item never matters: items are independent.
inline unsigned GridFor(int64_t n, int threads = kThreadsPerBlock) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65536));
}

}  // namespace probity::workloads::cuda
