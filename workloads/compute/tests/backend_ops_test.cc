// The bitwise harness on the cpu backend: every case of op_cases.cc on every cpu
// configuration (AVX2/FMA and portable kernels, one and several threads) must produce exactly
// the bytes of the op's definition evaluated by plain loops (the reference).
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>

#include "op_cases.h"
#include "probity/workloads/backend.h"

using namespace probity;
using namespace probity::workloads;
using namespace probity::workloads::testing;

namespace {

struct Config {
  std::string name;
  std::unique_ptr<Backend> backend;
};

std::vector<Config>& Configs() {
  static std::vector<Config> configs = [] {
    std::vector<Config> out;
    using K = BackendOptions::CpuKernels;
    const std::pair<const char*, BackendOptions> wanted[] = {
        {"cpu portable, 1 thread", {.threads = 1, .cpu_kernels = K::kPortable}},
        {"cpu portable, 3 threads", {.threads = 3, .cpu_kernels = K::kPortable}},
        {"cpu avx2, 1 thread", {.threads = 1, .cpu_kernels = K::kAvx2}},
        {"cpu avx2, 4 threads", {.threads = 4, .cpu_kernels = K::kAvx2}},
    };
    for (const auto& [name, options] : wanted) {
      auto backend = CreateBackend("cpu", options);
      if (!backend.ok()) {
        MESSAGE("skipping " << name << ": " << backend.status().ToString());
        continue;
      }
      out.push_back({name, std::move(backend).value()});
    }
    return out;
  }();
  return configs;
}

void CheckFamily(const std::string& family) {
  int cases = 0;
  for (const OpCase& c : AllOpCases()) {
    if (c.family != family) continue;
    ++cases;
    const std::vector<Tensor> want = c.reference();
    for (Config& config : Configs()) {
      INFO(c.name << " on " << config.name);
      Result<std::vector<Tensor>> got = c.run(*config.backend);
      REQUIRE_MESSAGE(got.ok(), got.status().ToString());
      std::string why;
      CHECK_MESSAGE(SameBytes(*got, want, &why), why);
    }
  }
  CHECK(cases > 0);
}

}  // namespace

TEST_CASE("every op family of the catalogue has a test case here") {
  const std::vector<std::string> tested = {"GemmF32",
                                           "GemmI8",
                                           "Relu",
                                           "ReluBackward",
                                           "Gelu",
                                           "GeluBackward",
                                           "Softmax",
                                           "BiasAdd",
                                           "ColumnSums",
                                           "U8ToF32",
                                           "CrossEntropy",
                                           "Argmax",
                                           "GatherRows",
                                           "Conv2d",
                                           "Conv2dBackward",
                                           "MaxPool2x2",
                                           "SgdMomentumUpdate",
                                           "AdamUpdate",
                                           "HashTensors",
                                           "HashRowChunks"};
  for (const std::string& f : OpFamilies()) {
    CHECK_MESSAGE(std::find(tested.begin(), tested.end(), f) != tested.end(), f);
  }
  CHECK(Configs().size() >= 2);
}

TEST_CASE("bitwise cpu: GemmF32") { CheckFamily("GemmF32"); }
TEST_CASE("bitwise cpu: GemmI8") { CheckFamily("GemmI8"); }
TEST_CASE("bitwise cpu: Relu") { CheckFamily("Relu"); }
TEST_CASE("bitwise cpu: ReluBackward") { CheckFamily("ReluBackward"); }
TEST_CASE("bitwise cpu: Gelu") { CheckFamily("Gelu"); }
TEST_CASE("bitwise cpu: GeluBackward") { CheckFamily("GeluBackward"); }
TEST_CASE("bitwise cpu: Softmax") { CheckFamily("Softmax"); }
TEST_CASE("bitwise cpu: BiasAdd") { CheckFamily("BiasAdd"); }
TEST_CASE("bitwise cpu: ColumnSums") { CheckFamily("ColumnSums"); }
TEST_CASE("bitwise cpu: U8ToF32") { CheckFamily("U8ToF32"); }
TEST_CASE("bitwise cpu: CrossEntropy") { CheckFamily("CrossEntropy"); }
TEST_CASE("bitwise cpu: Argmax") { CheckFamily("Argmax"); }
TEST_CASE("bitwise cpu: GatherRows") { CheckFamily("GatherRows"); }
TEST_CASE("bitwise cpu: Conv2d") { CheckFamily("Conv2d"); }
TEST_CASE("bitwise cpu: Conv2dBackward") { CheckFamily("Conv2dBackward"); }
TEST_CASE("bitwise cpu: MaxPool2x2") { CheckFamily("MaxPool2x2"); }
TEST_CASE("bitwise cpu: SgdMomentumUpdate") { CheckFamily("SgdMomentumUpdate"); }
TEST_CASE("bitwise cpu: AdamUpdate") { CheckFamily("AdamUpdate"); }
TEST_CASE("bitwise cpu: HashTensors") { CheckFamily("HashTensors"); }
TEST_CASE("bitwise cpu: HashRowChunks") { CheckFamily("HashRowChunks"); }
