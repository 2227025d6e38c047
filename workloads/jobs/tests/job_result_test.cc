// Units and result files: what a buyer downloads is exactly what the provider committed.
#include "probity/workloads/job_result.h"

#include <doctest/doctest.h>

#include "fixtures.h"
#include "probity/workloads/model.h"

namespace probity::workloads {
namespace {

using test_data::Cpu;
using test_data::FixtureCatalog;
using test_data::SmallTrainSpec;

std::unique_ptr<JobRun> RunOrDie(const JobSpec& spec, const JobInputs& inputs, Backend& b) {
  auto run = RunJob(spec, inputs, b);
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  return std::move(run).value();
}

TEST_CASE("job units follow the cost model and need the model for inference") {
  JobSpec spec = SmallTrainSpec();
  auto units = JobUnits(spec);
  REQUIRE(units.ok());
  uint64_t cost = TrainStepCost(spec.train) * spec.train.total_steps();
  CHECK(*units == (cost + kCostPerUnit - 1) / kCostPerUnit);
  JobSpec infer;
  infer.kind = JobKind::kInferClassifier;
  infer.infer = InferSpec{.model = Hash256{}, .images = Hash256{}, .count = 10, .slice_size = 4};
  CHECK(JobUnits(infer).status().code() == Code::kInvalidArgument);
}

TEST_CASE("a training result verifies against its output hash; any change is refused") {
  auto cpu = Cpu();
  JobSpec spec = SmallTrainSpec();
  auto run = RunOrDie(spec, JobInputs{.catalog = &FixtureCatalog()}, *cpu);
  auto file = EncodeJobResult(*run);
  REQUIRE(file.ok());
  auto ok = VerifyJobResult(spec, run->commitment().output_hash, *file);
  REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  CHECK(ModelId(ok->model) == run->commitment().output_hash);

  Bytes flipped = *file;
  flipped[flipped.size() - 3] ^= 0x40;  // a weight bit
  CHECK(VerifyJobResult(spec, run->commitment().output_hash, flipped).status().code() ==
        Code::kCorruption);
  Bytes truncated(file->begin(), file->begin() + file->size() / 2);
  CHECK(VerifyJobResult(spec, run->commitment().output_hash, truncated).status().code() ==
        Code::kCorruption);
  Hash256 other = run->commitment().output_hash;
  other[0] ^= 1;
  CHECK(VerifyJobResult(spec, other, *file).status().code() == Code::kCorruption);
}

TEST_CASE("an inference result verifies label by label against the output chain") {
  auto cpu = Cpu();
  auto trained = RunOrDie(SmallTrainSpec(), JobInputs{.catalog = &FixtureCatalog()}, *cpu);
  const TensorMap& model = trained->model();
  const Dataset& test = *test_data::Test256();
  Tensor images = *Tensor::Zeros(DType::kU8, {100, 28, 28});
  std::copy_n(test.images.begin(), images.byte_size(), images.mutable_bytes().data());
  JobSpec spec;
  spec.kind = JobKind::kInferClassifier;
  spec.infer = InferSpec{.model = ModelId(model), .count = 100, .slice_size = 32};
  spec.infer.images = *ImagesRoot(images, 32);
  auto run = RunOrDie(spec, JobInputs{.model = &model, .images = &images}, *cpu);

  auto units = JobUnits(spec, &model);
  REQUIRE(units.ok());
  CHECK(*units >= 1);

  auto file = EncodeJobResult(*run);
  REQUIRE(file.ok());
  auto ok = VerifyJobResult(spec, run->commitment().output_hash, *file);
  REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  CHECK(ok->labels.shape() == Shape{100});

  // One label changed: the chain no longer reaches the committed hash.
  TensorMap tampered;
  tampered.emplace("logits", run->logits());
  Tensor labels = run->labels();
  labels.mutable_data<int32_t>()[57] = (labels.data<int32_t>()[57] + 1) % 10;
  tampered.emplace("labels", labels);
  auto bad = VerifyJobResult(spec, run->commitment().output_hash, *EncodeSafetensors(tampered));
  CHECK(bad.status().code() == Code::kCorruption);
  // A training-shaped file for an inference job.
  CHECK(VerifyJobResult(spec, run->commitment().output_hash, *EncodeSafetensors(model))
            .status()
            .code() == Code::kCorruption);
}

}  // namespace
}  // namespace probity::workloads
