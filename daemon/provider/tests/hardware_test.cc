// Hardware discovery, calibration, the data directory, the config file and the fault switch.
#include "hardware.h"

#include <doctest/doctest.h>

#include "calibration.h"
#include "data_directory.h"
#include "probity/primitives/hex.h"
#include "probity/provider/provider.h"

namespace probity::provider {
namespace {

TEST_CASE("GPU names become market hardware classes") {
  CHECK(NormaliseGpuModel("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3");
  CHECK(NormaliseGpuModel("NVIDIA GeForce RTX 4090") == "nvidia-geforce-rtx-4090");
  CHECK(NormaliseGpuModel("  Tesla V100-SXM2-16GB  ") == "tesla-v100-sxm2-16gb");
  CHECK(NormaliseGpuModel("A100 (PCIe) / 40 GB") == "a100-pcie-40-gb");
  CHECK(NormaliseGpuModel("") == "gpu");
  CHECK(NormaliseGpuModel("***") == "gpu");
  const std::string long_name = NormaliseGpuModel(std::string(50, 'x') + " gpu");
  CHECK(long_name.size() == 32);
  // Never ends in a dash after truncation.
  CHECK(NormaliseGpuModel(std::string(31, 'a') + " b") == std::string(31, 'a'));
}

TEST_CASE("discovery: a machine without GPUs serves on cpu, and bad requests are refused") {
  CHECK(DiscoverMachine("gpu").status().code() == Code::kInvalidArgument);
  auto cpu = DiscoverMachine("cpu");
  REQUIRE(cpu.ok());
  CHECK(cpu->backend == "cpu");
  CHECK(cpu->hardware.gpu_model() == "cpu");
  CHECK(cpu->hardware.gpu_count() == 1);
  CHECK(cpu->hardware.compute_capability() == 0);
  CHECK(cpu->hardware.memory_mib() > 0);
  CHECK(cpu->cpu_threads >= 1);
  auto any = DiscoverMachine("auto");
  REQUIRE(any.ok());
  const bool gpus = !workloads::ListCudaDevices().empty();
  CHECK(any->backend == (gpus ? "cuda" : "cpu"));
  auto cuda = DiscoverMachine("cuda");
  if (gpus) {
    REQUIRE(cuda.ok());
    CHECK(cuda->hardware.gpu_count() == cuda->gpus.size());
    CHECK(cuda->hardware.compute_capability() >= 10);
  } else {
    CHECK(cuda.status().code() == Code::kUnsupported);
  }
}

TEST_CASE("calibration measures a real training run within its budget") {
  auto backend = workloads::CreateBackend("cpu", {.threads = 1});
  REQUIRE(backend.ok());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = Calibrate(**backend, 0.4);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->units > 0);
  CHECK(r->seconds > 0);
  CHECK(r->units_per_hour == static_cast<uint64_t>(r->units / r->seconds * 3600));
  CHECK(took < 3.0);  // warm-up plus a budget of 0.4 s, with room for a loaded machine
  CHECK(Calibrate(**backend, 0).status().code() == Code::kInvalidArgument);
  // The cache key changes with anything that changes the figure.
  const std::string k = CalibrationKey("cpu", "Some CPU (2 threads)", 2);
  CHECK(k == CalibrationKey("cpu", "Some CPU (2 threads)", 2));
  CHECK(k != CalibrationKey("cpu", "Some CPU (2 threads)", 1));
  CHECK(k != CalibrationKey("cuda", "Some CPU (2 threads)", 2));
  CHECK(k.rfind("cpu/", 0) == 0);
}

TEST_CASE("a data directory adds its IDX pairs to the catalog by content id") {
  workloads::DataCatalog catalog("/nonexistent");
  auto added = AddDataDirectory(std::string(PROBITY_TEST_DATA_DIR) + "/workloads", catalog);
  REQUIRE_MESSAGE(added.ok(), added.status().ToString());
  REQUIRE(added->size() == 2);  // fmnist256-test, fmnist512-train
  for (const auto& e : *added) {
    CAPTURE(e.name);
    auto found = catalog.Find(e.id);
    REQUIRE(found.ok());
    CHECK((*found)->count == e.count);
  }
  CHECK(AddDataDirectory("/nonexistent/data", catalog).status().code() == Code::kNotFound);
}

TEST_CASE("provider.toml: known keys into flags, prices by kind, anything else refused") {
  auto c = ParseProviderConfig(
      "[provider]\nkey = \"gpu1\"\ncapacity = 3\nbond = 1000000\nrecalibrate = true\n"
      "pricing_command = \"/bin/price\"\n[prices]\ntrain-classifier = 5\n");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->flags.at("key") == "gpu1");
  CHECK(c->flags.at("capacity") == "3");
  CHECK(c->flags.at("bond") == "1000000");
  CHECK(c->flags.at("recalibrate") == "true");
  CHECK(c->flags.at("pricing-command") == "/bin/price");
  CHECK(c->prices.at(market::v1::JOB_KIND_TRAIN_CLASSIFIER) == 5);
  for (const char* bad : {"[provider]\ncolour = \"red\"\n", "[provider]\ncapacity = \"3\"\n",
                          "[provider]\ncapacity = -1\n", "[provider]\nkey = 5\n",
                          "[prices]\ngpu = 5\n", "[prices]\ntrain-classifier = 0\n",
                          "[other]\nx = 1\n", "capacity = 3\n", "[provider]\nkey = [1]\n"}) {
    CAPTURE(bad);
    CHECK(!ParseProviderConfig(bad).ok());
  }
  CHECK(ParseProviderConfig("# nothing\n")->flags.empty());
}

TEST_CASE("the test fault switch's grammar") {
  auto none = ParseProviderFault("");
  REQUIRE(none.ok());
  CHECK(!none->corrupt_segment);
  CHECK(!none->withhold_openings);
  auto both = ParseProviderFault("corrupt-segment:3,withhold-openings");
  REQUIRE(both.ok());
  CHECK(both->corrupt_segment == 3u);
  CHECK(both->withhold_openings);
  for (const char* bad :
       {"corrupt-segment:", "corrupt-segment:x", "corrupt", "lie", "corrupt-segment:1,"}) {
    CAPTURE(bad);
    CHECK(ParseProviderFault(bad).status().code() == Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace probity::provider
