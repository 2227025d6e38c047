// The checks an uploaded input passes: each kind of wrong input is refused with a reason.
#include "input_check.h"

#include <doctest/doctest.h>

#include "data_directory.h"
#include "probity/primitives/hex.h"
#include "probity/workloads/job_result.h"
#include "probity/workloads/model.h"
#include "probity/workloads/workloads.h"

namespace probity::provider {
namespace {

using namespace probity::workloads;

DataCatalog& Catalog() {
  static DataCatalog* c = [] {
    auto* catalog = new DataCatalog("/nonexistent");
    auto added = AddDataDirectory(std::string(PROBITY_TEST_DATA_DIR) + "/workloads", *catalog);
    REQUIRE(added.ok());
    return catalog;
  }();
  return *c;
}

Hash256 Train512Id() {
  auto d = LoadIdxDataset(
      std::string(PROBITY_TEST_DATA_DIR) + "/workloads/fmnist512-train-images-idx3-ubyte",
      std::string(PROBITY_TEST_DATA_DIR) + "/workloads/fmnist512-train-labels-idx1-ubyte");
  REQUIRE(d.ok());
  return d->id;
}

JobSpec TrainSpec(const Hash256& dataset, uint32_t epochs = 1) {
  auto spec = ParseJobSpec(
      "kind = \"train-classifier\"\ndataset = \"" + ToHex(dataset) +
      "\"\nexamples = 512\narchitecture = \"mlp\"\nhidden = [16]\noptimizer = \"adam\"\n"
      "learning_rate = 0.001\nlearning_rate_decay = 1\nbeta1 = 0.9\nbeta2 = 0.999\n"
      "epsilon = 1e-8\nbatch_size = 32\nepochs = " +
      std::to_string(epochs) + "\nseed = 1\nsteps_per_segment = 4\naugment = \"none\"\n");
  REQUIRE_MESSAGE(spec.ok(), spec.status().ToString());
  return *spec;
}

jobs::v1::Job JobFor(const JobSpec& spec, uint64_t units) {
  jobs::v1::Job job;
  job.set_kind(static_cast<market::v1::JobKind>(spec.kind));
  const Hash256 h = JobInputHash(spec);
  job.set_input_hash(std::string(h.begin(), h.end()));
  job.set_units(units);
  return job;
}

TensorMap Model() {
  TensorMap m;
  m.emplace("fc0.weight", *Tensor::Zeros(DType::kF32, {16, 784}));
  m.emplace("fc0.bias", *Tensor::Zeros(DType::kF32, {16}));
  m.emplace("fc1.weight", *Tensor::Zeros(DType::kF32, {10, 16}));
  m.emplace("fc1.bias", *Tensor::Zeros(DType::kF32, {10}));
  m.at("fc1.bias").mutable_data<float>()[3] = 1.0f;
  return m;
}

TEST_CASE("a training spec must be this job's, of its kind, within its units, on held data") {
  const JobSpec spec = TrainSpec(Train512Id());
  const uint64_t units = *JobUnits(spec);
  const Bytes bytes = EncodeJobSpec(spec);
  CHECK(CheckSpecInput(bytes, JobFor(spec, units), Catalog()).ok());
  CHECK(CheckSpecInput(bytes, JobFor(spec, units + 10), Catalog()).ok());
  // Fewer units bought than the spec needs.
  auto short_units = CheckSpecInput(bytes, JobFor(spec, units - 1), Catalog());
  CHECK(short_units.status().code() == Code::kInvalidArgument);
  CHECK(short_units.status().message().find("units") != std::string::npos);
  // A spec for another job (another input hash).
  auto other =
      CheckSpecInput(EncodeJobSpec(TrainSpec(Train512Id(), 2)), JobFor(spec, 1u << 30), Catalog());
  CHECK(other.status().code() == Code::kInvalidArgument);
  CHECK(other.status().message().find("another job") != std::string::npos);
  // The order says inference.
  auto wrong_kind = JobFor(spec, units);
  wrong_kind.set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
  CHECK(CheckSpecInput(bytes, wrong_kind, Catalog()).status().code() == Code::kInvalidArgument);
  // Bytes that are no spec at all.
  Bytes garbage = bytes;
  garbage.resize(garbage.size() - 1);
  CHECK(CheckSpecInput(garbage, JobFor(spec, units), Catalog()).status().code() ==
        Code::kInvalidArgument);
  // A data set this provider lacks.
  Hash256 unknown{};
  unknown[0] = 0xab;
  const JobSpec elsewhere = TrainSpec(unknown);
  CHECK(CheckSpecInput(EncodeJobSpec(elsewhere), JobFor(elsewhere, units), Catalog())
            .status()
            .code() == Code::kNotFound);
}

TEST_CASE("an inference job's model and images must be the ones its spec names") {
  const TensorMap model = Model();
  Tensor images = *Tensor::Zeros(DType::kU8, {20, 28, 28});
  for (size_t i = 0; i < images.byte_size(); ++i) {
    images.mutable_bytes()[i] = static_cast<uint8_t>(i * 31);
  }
  JobSpec spec;
  spec.kind = JobKind::kInferClassifier;
  spec.infer = InferSpec{.model = ModelId(model), .count = 20, .slice_size = 8};
  spec.infer.images = *ImagesRoot(images, 8);
  const uint64_t units = *JobUnits(spec, &model);
  const jobs::v1::Job job = JobFor(spec, units);
  CHECK(CheckSpecInput(EncodeJobSpec(spec), job, Catalog()).ok());

  const Bytes model_file = *EncodeSafetensors(model);
  CHECK(CheckModelInput(model_file, spec, job).ok());
  TensorMap other = model;
  other.at("fc0.bias").mutable_data<float>()[0] = 0.5f;
  CHECK(CheckModelInput(*EncodeSafetensors(other), spec, job).status().code() ==
        Code::kInvalidArgument);
  TensorMap not_a_model;
  not_a_model.emplace("weights", *Tensor::Zeros(DType::kF32, {3}));
  CHECK(CheckModelInput(*EncodeSafetensors(not_a_model), spec, job).status().code() ==
        Code::kInvalidArgument);
  CHECK(CheckModelInput(AsBytes("not safetensors"), spec, job).status().code() ==
        Code::kInvalidArgument);
  CHECK(CheckModelInput(model_file, spec, JobFor(spec, units - 1)).status().code() ==
        Code::kInvalidArgument);

  CHECK(CheckImagesInput(EncodeTensor(images), spec).ok());
  Tensor changed = images;
  changed.mutable_bytes()[5] ^= 1;
  CHECK(CheckImagesInput(EncodeTensor(changed), spec).status().code() == Code::kInvalidArgument);
  Tensor fewer = *Tensor::Zeros(DType::kU8, {19, 28, 28});
  CHECK(CheckImagesInput(EncodeTensor(fewer), spec).status().code() == Code::kInvalidArgument);
  Tensor floats = *Tensor::Zeros(DType::kF32, {20, 28, 28});
  CHECK(CheckImagesInput(EncodeTensor(floats), spec).status().code() == Code::kInvalidArgument);
  CHECK(CheckImagesInput(AsBytes("PRBT?"), spec).status().code() == Code::kInvalidArgument);
  // A training job takes neither.
  const JobSpec train = TrainSpec(Train512Id());
  CHECK(CheckModelInput(model_file, train, job).status().code() == Code::kInvalidArgument);
  CHECK(CheckImagesInput(EncodeTensor(images), train).status().code() == Code::kInvalidArgument);
}

}  // namespace
}  // namespace probity::provider
