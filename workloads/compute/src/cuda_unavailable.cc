// The `cuda` backend in a build without CUDA (PROBITY_HAVE_CUDA off): it is a valid request
// that this build cannot serve, so kUnsupported, never a crash or a silent CPU fallback.
#include "backend_impl.h"

namespace probity::workloads::internal {

Status CudaAvailability() {
  return Status::Unsupported(
      "this build of probity has no CUDA backend (nvcc was not found or "
      "PROBITY_ENABLE_CUDA was off when it was configured)");
}

Result<std::unique_ptr<BackendImpl>> CreateCudaBackendImpl(const BackendOptions&) {
  return CudaAvailability();
}

}  // namespace probity::workloads::internal
