#include "hardware.h"

#include <unistd.h>

#include <fstream>
#include <thread>

namespace probity::provider {
namespace {

std::string CpuModelName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t b = line.find_first_not_of(" \t", colon + 1);
        return b == std::string::npos ? "cpu" : line.substr(b);
      }
    }
  }
  return "cpu";
}

uint64_t HostMemoryMib() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page = ::sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / (1u << 20);
}

}  // namespace

std::string NormaliseGpuModel(std::string_view name) {
  std::string out;
  bool dash = false;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok || c == '-') {
      dash = !out.empty();
      continue;
    }
    if (dash) out += '-';
    dash = false;
    out += c;
  }
  if (out.size() > 32) out.resize(32);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "gpu" : out;
}

Result<Machine> DiscoverMachine(std::string_view requested) {
  if (requested != "auto" && requested != "cpu" && requested != "cuda") {
    return Status::InvalidArgument("--backend must be auto, cpu or cuda, got '" +
                                   std::string(requested) + "'");
  }
  Machine m;
  m.cpu_threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<workloads::CudaDeviceInfo> gpus;
  if (requested != "cpu") gpus = workloads::ListCudaDevices();
  if (requested == "cuda" && gpus.empty()) {
    Status why = workloads::CreateBackend("cuda").status();
    return Status::Unsupported("--backend cuda: no usable CUDA device (" + why.message() + ")");
  }
  if (!gpus.empty()) {
    m.backend = "cuda";
    m.gpus = gpus;
    const auto& g = gpus.front();
    m.hardware.set_gpu_model(NormaliseGpuModel(g.name));
    m.hardware.set_gpu_count(static_cast<uint32_t>(gpus.size()));
    m.hardware.set_memory_mib(g.memory_bytes / (1u << 20));
    m.hardware.set_compute_capability(
        static_cast<uint32_t>(g.compute_major * 10 + g.compute_minor));
    m.description = std::to_string(gpus.size()) + "x " + g.name + " (sm_" +
                    std::to_string(g.compute_major) + std::to_string(g.compute_minor) + ", " +
                    std::to_string(g.multiprocessors) + " SMs, " +
                    std::to_string(g.memory_bytes / (1u << 20)) + " MiB)";
  } else {
    m.backend = "cpu";
    m.hardware.set_gpu_model("cpu");
    m.hardware.set_gpu_count(1);
    m.hardware.set_memory_mib(HostMemoryMib());
    m.hardware.set_compute_capability(0);
    m.description = CpuModelName() + " (" + std::to_string(m.cpu_threads) + " threads)";
  }
  return m;
}

}  // namespace probity::provider
