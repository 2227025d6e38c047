#include "calibration.h"

#include <chrono>

#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"
#include "probity/workloads/job_result.h"
#include "probity/workloads/workloads.h"

namespace probity::provider {
namespace {

using namespace probity::workloads;

constexpr uint32_t kExamples = 512;
constexpr uint32_t kBatch = 64;  // 8 steps per epoch

// Fashion-MNIST-shaped noise: the timing of a dense network does not depend on the pixels.
Result<std::shared_ptr<const Dataset>> SyntheticData() {
  IdxArray images{{kExamples, kImageRows, kImageCols}, Bytes(size_t{kExamples} * 784)};
  IdxArray labels{{kExamples}, Bytes(kExamples)};
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (uint8_t& p : images.data) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    p = static_cast<uint8_t>(x >> 56);
  }
  for (uint32_t i = 0; i < kExamples; ++i) labels.data[i] = static_cast<uint8_t>(i % kNumClasses);
  PROBITY_ASSIGN_OR_RETURN(Dataset d, MakeDataset(std::move(images), std::move(labels)));
  return std::make_shared<const Dataset>(std::move(d));
}

JobSpec CalibrationSpec(const Hash256& dataset, uint32_t epochs) {
  JobSpec spec;
  spec.kind = JobKind::kTrainClassifier;
  TrainSpec& t = spec.train;
  t.dataset = dataset;
  t.examples = kExamples;
  t.architecture = Architecture::kMlp;
  t.hidden = {256, 128};
  t.optimizer = OptimizerKind::kAdam;
  t.learning_rate = 0.001f;
  t.learning_rate_decay = 1.0f;
  t.beta1 = 0.9f;
  t.beta2 = 0.999f;
  t.epsilon = 1e-8f;
  t.batch_size = kBatch;
  t.epochs = epochs;
  t.seed = 1;
  t.steps_per_segment = 8;
  t.augment = Augmentation::kNone;
  return spec;
}

}  // namespace

Result<CalibrationResult> Calibrate(Backend& backend, double budget_seconds) {
  if (!(budget_seconds > 0)) return Status::InvalidArgument("calibration needs a positive budget");
  PROBITY_ASSIGN_OR_RETURN(auto data, SyntheticData());
  DataCatalog catalog("/nonexistent");  // the synthetic set only
  catalog.Add(data);
  const JobInputs inputs{.catalog = &catalog};
  RunOptions options;
  options.checkpoint_every = 1u << 20;  // no host copies: they are not what a job waits for
  // Warm-up: allocations, the first touch of the kernels.
  PROBITY_RETURN_IF_ERROR(RunJob(CalibrationSpec(data->id, 1), inputs, backend, options).status());
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  CalibrationResult result;
  for (uint32_t epochs = 2; epochs <= kMaxEpochs; epochs *= 2) {
    const JobSpec spec = CalibrationSpec(data->id, epochs);
    PROBITY_RETURN_IF_ERROR(ValidateJobSpec(spec));
    const auto t0 = std::chrono::steady_clock::now();
    PROBITY_RETURN_IF_ERROR(RunJob(spec, inputs, backend, options).status());
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    PROBITY_ASSIGN_OR_RETURN(uint64_t units, JobUnits(spec));
    result = {.units_per_hour = 0, .units = units, .seconds = s};
    // Stop when this run was long enough to measure, or the next would break the budget.
    if (s >= budget_seconds / 4 || elapsed() + 2 * s > budget_seconds) break;
  }
  const double per_hour = static_cast<double>(result.units) / std::max(result.seconds, 1e-6) * 3600;
  result.units_per_hour = std::max<uint64_t>(1, static_cast<uint64_t>(per_hour));
  return result;
}

std::string CalibrationKey(const std::string& backend, const std::string& machine,
                           int threads_per_job) {
  // v1: the calibration job above; change the tag when it changes.
  const std::string text = "v1|" + backend + "|" + machine + "|" + std::to_string(threads_per_job);
  return backend + "/" + ToHex(Sha256(text)).substr(0, 16);
}

}  // namespace probity::provider
