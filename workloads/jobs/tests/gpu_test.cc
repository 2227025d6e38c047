// Whole jobs on cpu and cuda: the same commitment (output hash and trace root), bit for bit,
// and openings produced on one backend re-execute on the other. Labelled `gpu`; without a
// usable CUDA device each test says so and passes without checking anything else.
#include <doctest/doctest.h>

#include "fixtures.h"

using namespace probity;
using namespace probity::workloads;

namespace {
std::unique_ptr<Backend> CudaOrSkip() {
  auto cuda = CreateBackend("cuda");
  if (!cuda.ok()) {
    MESSAGE("skipped: no CUDA backend here (", cuda.status().ToString(), ")");
    return nullptr;
  }
  return std::move(cuda).value();
}

void CompareJob(const JobSpec& spec) {
  auto cuda = CudaOrSkip();
  if (!cuda) return;
  auto cpu = test_data::Cpu();
  const JobInputs in{.catalog = &test_data::FixtureCatalog()};
  auto on_cpu = RunJob(spec, in, *cpu, {.checkpoint_every = 2});
  auto on_gpu = RunJob(spec, in, *cuda, {.checkpoint_every = 2});
  REQUIRE_MESSAGE(on_cpu.ok(), on_cpu.status().ToString());
  REQUIRE_MESSAGE(on_gpu.ok(), on_gpu.status().ToString());
  CHECK(ToHex((*on_gpu)->commitment().output_hash) == ToHex((*on_cpu)->commitment().output_hash));
  CHECK(ToHex((*on_gpu)->commitment().trace_root) == ToHex((*on_cpu)->commitment().trace_root));
  for (uint64_t i = 0; i < (*on_gpu)->commitment().segment_count; ++i) {
    CAPTURE(i);
    CHECK((*on_gpu)->records()[i] == (*on_cpu)->records()[i]);
    auto o = (*on_gpu)->Open(i, *cuda);
    REQUIRE(o.ok());
    CHECK(CheckSegment(*o, (*on_gpu)->commitment(), *cpu, test_data::FixtureCatalog()).ok());
  }
}
}  // namespace

TEST_CASE("gpu: an MLP job gives the same commitment on cpu and cuda") {
  CompareJob(test_data::SmallTrainSpec("mlp", "adam"));
}

TEST_CASE("gpu: a CNN job gives the same commitment on cpu and cuda") {
  CompareJob(test_data::SmallTrainSpec("cnn", "sgd-momentum"));
}

TEST_CASE("gpu: an inference job gives the same labels, logits and trace on cpu and cuda") {
  auto cuda = CudaOrSkip();
  if (!cuda) return;
  auto cpu = test_data::Cpu();
  auto trained = RunJob(test_data::SmallTrainSpec("cnn", "adam"),
                        JobInputs{.catalog = &test_data::FixtureCatalog()}, *cpu);
  REQUIRE(trained.ok());
  const TensorMap& model = (*trained)->model();
  const Dataset& test = *test_data::Test256();
  Tensor images = *Tensor::Zeros(DType::kU8, {256, 28, 28});
  std::copy(test.images.begin(), test.images.end(), images.mutable_bytes().data());
  JobSpec spec{.kind = JobKind::kInferClassifier};
  spec.infer = InferSpec{
      .model = ModelId(model), .images = *ImagesRoot(images, 100), .count = 256, .slice_size = 100};
  const JobInputs in{.model = &model, .images = &images};
  auto a = RunJob(spec, in, *cpu);
  auto b = RunJob(spec, in, *cuda);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK((*a)->commitment() == (*b)->commitment());
  CHECK((*a)->logits() == (*b)->logits());
  CHECK((*a)->labels() == (*b)->labels());
}
