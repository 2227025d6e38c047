// What machine the daemon runs on, and the Hardware its offers advertise: the CUDA devices
// the runtime reports (workloads::ListCudaDevices), or none, in which case it serves on the
// `cpu` backend.
//
// Offer fields (market.proto Hardware): gpu_model is the first device's name normalised to
// [a-z0-9._-]{1,32} ("NVIDIA H100 80GB HBM3" → "nvidia-h100-80gb-hbm3"), or "cpu"; gpu_count
// the devices (1 for cpu); memory_mib per device (the host's memory for cpu);
// compute_capability major·10 + minor (0 for cpu). Throughput comes from calibration.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "probity/market/v1/market.pb.h"
#include "probity/primitives/status.h"
#include "probity/workloads/backend.h"

namespace probity::provider {

struct Machine {
  std::string backend;                          // "cuda" or "cpu"
  std::vector<workloads::CudaDeviceInfo> gpus;  // empty on cpu
  market::v1::Hardware hardware;                // throughput still 0
  int cpu_threads = 1;                          // hardware threads of the host
  std::string description;  // for logs and the calibration cache: model, count, threads
};

// `requested`: "auto" (cuda when a device answers, else cpu), "cpu" or "cuda" (kUnsupported
// when no device is usable). kInvalidArgument for another name.
Result<Machine> DiscoverMachine(std::string_view requested);

// Lowercase; each run of characters outside [a-z0-9._-] becomes one '-'; leading and trailing
// '-' dropped; at most 32 characters; "gpu" when nothing is left.
std::string NormaliseGpuModel(std::string_view name);

}  // namespace probity::provider
