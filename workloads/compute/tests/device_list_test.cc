// ListCudaDevices: what the provider daemon advertises. On a machine without a GPU (or a build
// without CUDA) the answer is an empty list, never an error or a crash; with devices, every
// entry is plausible and agrees with AvailableBackends.
#include <doctest/doctest.h>

#include <algorithm>

#include "probity/workloads/backend.h"

namespace probity::workloads {
namespace {

TEST_CASE("the CUDA device list agrees with the backends this machine can create") {
  const std::vector<CudaDeviceInfo> devices = ListCudaDevices();
  const std::vector<std::string> backends = AvailableBackends();
  const bool has_cuda = std::find(backends.begin(), backends.end(), "cuda") != backends.end();
  CHECK(devices.empty() == !has_cuda);
  for (size_t i = 0; i < devices.size(); ++i) {
    const CudaDeviceInfo& d = devices[i];
    CHECK(d.index == static_cast<int>(i));
    CHECK(!d.name.empty());
    CHECK(d.memory_bytes > 0);
    CHECK(d.multiprocessors > 0);
    CHECK(d.compute_major >= 1);
    CHECK(d.compute_minor >= 0);
  }
  // Asking twice gives the same answer (the probe leaves no sticky error behind).
  CHECK(ListCudaDevices().size() == devices.size());
}

}  // namespace
}  // namespace probity::workloads
