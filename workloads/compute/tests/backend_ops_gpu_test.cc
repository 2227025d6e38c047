// The bitwise harness on the cuda backend: every case of op_cases.cc must produce on the GPU
// exactly the bytes of the cpu backend and of the reference definition. Labelled `gpu`; with
// no CUDA device (or a build without CUDA) every case says so and passes without checking.
#include <doctest/doctest.h>

#include <memory>

#include "op_cases.h"
#include "probity/workloads/backend.h"
#include "probity/workloads/compute_bench.h"

using namespace probity;
using namespace probity::workloads;
using namespace probity::workloads::testing;

namespace {

Backend* Cuda() {
  static std::unique_ptr<Backend> cuda = [] {
    auto b = CreateBackend("cuda");
    if (!b.ok()) {
      MESSAGE("skipped: " << b.status().ToString());
      return std::unique_ptr<Backend>();
    }
    MESSAGE("running on " << (*b)->Describe());
    return std::move(b).value();
  }();
  return cuda.get();
}

Backend* Cpu() {
  static std::unique_ptr<Backend> cpu = CreateBackend("cpu").value();
  return cpu.get();
}

void CheckFamily(const std::string& family) {
  Backend* cuda = Cuda();
  if (cuda == nullptr) return;  // no device: nothing to compare
  int cases = 0;
  for (const OpCase& c : AllOpCases()) {
    if (c.family != family) continue;
    ++cases;
    INFO(c.name);
    Result<std::vector<Tensor>> on_gpu = c.run(*cuda);
    REQUIRE_MESSAGE(on_gpu.ok(), on_gpu.status().ToString());
    Result<std::vector<Tensor>> on_cpu = c.run(*Cpu());
    REQUIRE_MESSAGE(on_cpu.ok(), on_cpu.status().ToString());
    std::string why;
    CHECK_MESSAGE(SameBytes(*on_gpu, *on_cpu, &why), "cuda vs cpu: " << why);
    CHECK_MESSAGE(SameBytes(*on_gpu, c.reference(), &why), "cuda vs reference: " << why);
  }
  CHECK(cases > 0);
}

}  // namespace

TEST_CASE("bitwise cuda: GemmF32") { CheckFamily("GemmF32"); }
TEST_CASE("bitwise cuda: GemmI8") { CheckFamily("GemmI8"); }
TEST_CASE("bitwise cuda: Relu") { CheckFamily("Relu"); }
TEST_CASE("bitwise cuda: ReluBackward") { CheckFamily("ReluBackward"); }
TEST_CASE("bitwise cuda: Gelu") { CheckFamily("Gelu"); }
TEST_CASE("bitwise cuda: GeluBackward") { CheckFamily("GeluBackward"); }
TEST_CASE("bitwise cuda: Softmax") { CheckFamily("Softmax"); }
TEST_CASE("bitwise cuda: BiasAdd") { CheckFamily("BiasAdd"); }
TEST_CASE("bitwise cuda: ColumnSums") { CheckFamily("ColumnSums"); }
TEST_CASE("bitwise cuda: U8ToF32") { CheckFamily("U8ToF32"); }
TEST_CASE("bitwise cuda: CrossEntropy") { CheckFamily("CrossEntropy"); }
TEST_CASE("bitwise cuda: Argmax") { CheckFamily("Argmax"); }
TEST_CASE("bitwise cuda: GatherRows") { CheckFamily("GatherRows"); }
TEST_CASE("bitwise cuda: Conv2d") { CheckFamily("Conv2d"); }
TEST_CASE("bitwise cuda: Conv2dBackward") { CheckFamily("Conv2dBackward"); }
TEST_CASE("bitwise cuda: MaxPool2x2") { CheckFamily("MaxPool2x2"); }
TEST_CASE("bitwise cuda: SgdMomentumUpdate") { CheckFamily("SgdMomentumUpdate"); }
TEST_CASE("bitwise cuda: AdamUpdate") { CheckFamily("AdamUpdate"); }
TEST_CASE("bitwise cuda: HashTensors") { CheckFamily("HashTensors"); }
TEST_CASE("bitwise cuda: HashRowChunks") { CheckFamily("HashRowChunks"); }

TEST_CASE("cuda: a label out of range is refused before anything is written") {
  Backend* cuda = Cuda();
  if (cuda == nullptr) return;
  Tensor logits = Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6}).value();
  Tensor labels = Tensor::FromVector<int32_t>({2}, {0, 3}).value();
  DeviceTensor dl = cuda->Upload(logits).value(), dlab = cuda->Upload(labels).value();
  DeviceTensor loss = cuda->Allocate(DType::kF32, {}).value();
  Status s = cuda->CrossEntropy(&loss, nullptr, dl, dlab);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK(s.message().find("label 3 of row 1") != std::string::npos);
  CHECK(cuda->Download(loss).value().data<float>()[0] == 0.0f);
}

TEST_CASE("cuda: large GEMMs (every tile shape) match the cpu bit for bit") {
  Backend* cuda = Cuda();
  if (cuda == nullptr) return;
  for (int64_t size : {100, 300, 1031, 2048}) {
    Tensor a = Tensor::Zeros(DType::kF32, {size, size}).value();
    Tensor b = Tensor::Zeros(DType::kF32, {size, size}).value();
    uint32_t x = 12345;
    for (float& v : a.mutable_data<float>())
      v = static_cast<float>((x = x * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    for (float& v : b.mutable_data<float>())
      v = static_cast<float>((x = x * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    DeviceTensor ga = cuda->Upload(a).value(), gb = cuda->Upload(b).value();
    DeviceTensor gc = cuda->Allocate(DType::kF32, {size, size}).value();
    DeviceTensor ca = Cpu()->Upload(a).value(), cb = Cpu()->Upload(b).value();
    DeviceTensor cc = Cpu()->Allocate(DType::kF32, {size, size}).value();
    REQUIRE(cuda->GemmF32(&gc, ga, gb, {.transpose_b = true}).ok());
    REQUIRE(Cpu()->GemmF32(&cc, ca, cb, {.transpose_b = true}).ok());
    CHECK(cuda->HashTensor(gc).value() == Cpu()->HashTensor(cc).value());
  }
}

TEST_CASE("cuda: compute bench records with their cuBLAS baselines") {
  Backend* cuda = Cuda();
  if (cuda == nullptr) return;
  std::vector<BenchRecord> records;
  Status s = RunComputeBench(*cuda, {.min_seconds_per_measurement = 0.01, .quick = true},
                             [&](const BenchRecord& r) { records.push_back(r); });
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  int gemm = 0, i8 = 0, hash = 0;
  for (const BenchRecord& r : records) {
    MESSAGE(r.name << " = " << r.value << " " << r.unit);
    CHECK(r.value > 0);
    gemm += r.name == "gemm_fp32_ordered_gflops";
    i8 += r.name == "gemm_i8_gops";
    hash += r.name == "hash_tensor_mbps";
  }
  CHECK(gemm == 1);
  CHECK(i8 == 1);
  CHECK(hash == 1);
}
