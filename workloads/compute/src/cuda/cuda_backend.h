// What the cuda benchmark (cuda_bench.cu) needs from the cuda backend beyond backend.h.
#pragma once

#include <cuda_runtime.h>

#include "probity/workloads/backend.h"

namespace probity::workloads::cuda {

// The stream a `cuda` backend enqueues on. REQUIRES: backend.name() == "cuda".
cudaStream_t StreamOf(Backend& backend);

}  // namespace probity::workloads::cuda
