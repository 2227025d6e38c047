// The `cuda` backend in a build without CUDA (PROBITY_HAVE_CUDA off): it is a valid request
// that this build cannot serve, so kUnsupported, never a crash or a silent CPU fallback.
#include "backend_impl.h"
#include "cuda_bench.h"

namespace probity::workloads::internal {

Status CudaAvailability() {
  return Status::Unsupported(
      "this build of probity has no CUDA backend (nvcc was not found or "
      "PROBITY_ENABLE_CUDA was off when it was configured)");
}

std::vector<CudaDeviceInfo> ListCudaDevicesImpl() { return {}; }

Result<std::unique_ptr<BackendImpl>> CreateCudaBackendImpl(const BackendOptions&) {
  return CudaAvailability();
}

Status RunCudaBench(Backend&, const ComputeBenchOptions&,
                    const std::function<void(const BenchRecord&)>&) {
  return CudaAvailability();
}

}  // namespace probity::workloads::internal
