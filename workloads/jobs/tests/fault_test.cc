// RunOptions::corrupt_segment (TEST ONLY): the dishonest provider of the fault tests. Exactly
// the corrupted segment must fail re-execution; every other segment, the openings and the
// result file must stay consistent with the (dishonest) commitment, as they would for a
// provider that cheats once and covers its tracks.
#include <doctest/doctest.h>

#include "fixtures.h"
#include "probity/workloads/job_result.h"
#include "probity/workloads/workloads.h"

namespace probity::workloads {
namespace {

using test_data::Cpu;
using test_data::FixtureCatalog;
using test_data::SmallTrainSpec;

std::unique_ptr<JobRun> Run(const JobSpec& spec, const JobInputs& inputs, Backend& backend,
                            RunOptions options) {
  auto run = RunJob(spec, inputs, backend, options);
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  return std::move(run).value();
}

// Checks every segment of `run`: only `bad` fails, and with kCorruption.
void CheckOnlySegmentFails(const JobRun& run, uint64_t bad, Backend& backend) {
  for (uint64_t i = 0; i < run.commitment().segment_count; ++i) {
    CAPTURE(i);
    auto opening = run.Open(i, backend);
    REQUIRE_MESSAGE(opening.ok(), opening.status().ToString());
    // The opening survives its wire encoding and its links check out, corrupt or not.
    auto decoded = DecodeOpening(EncodeOpening(*opening));
    REQUIRE(decoded.ok());
    CHECK(VerifyOpening(*decoded, run.commitment()).ok());
    Status s = CheckSegment(*decoded, run.commitment(), backend, FixtureCatalog());
    if (i == bad) {
      CHECK(s.code() == Code::kCorruption);
    } else {
      CHECK_MESSAGE(s.ok(), s.ToString());
    }
  }
}

TEST_CASE("a training run corrupted at one segment fails re-execution there and only there") {
  auto cpu = Cpu(2);
  const JobSpec spec = SmallTrainSpec();  // 32 steps, 5 per segment: 7 segments
  const JobInputs inputs{.catalog = &FixtureCatalog()};
  auto honest = Run(spec, inputs, *cpu, {});
  // Checkpoints every 2 segments, so Open replays across the perturbation for some segments.
  auto cheat = Run(spec, inputs, *cpu, {.checkpoint_every = 2, .corrupt_segment = 3});
  const auto hr = honest->records();
  const auto cr = cheat->records();
  REQUIRE(hr.size() == cr.size());
  for (size_t i = 0; i < hr.size(); ++i) {
    CAPTURE(i);
    CHECK((hr[i] == cr[i]) == (i < 3));  // records agree up to the perturbed segment
  }
  CHECK(cheat->commitment().output_hash != honest->commitment().output_hash);
  CheckOnlySegmentFails(*cheat, 3, *cpu);
  // The buyer's result check cannot tell: the file matches the dishonest output hash.
  auto file = EncodeJobResult(*cheat);
  REQUIRE(file.ok());
  CHECK(VerifyJobResult(spec, cheat->commitment().output_hash, *file).ok());
}

TEST_CASE("the last training segment and an inference slice can be corrupted too") {
  auto cpu = Cpu(2);
  const JobSpec spec = SmallTrainSpec();
  const uint64_t last = spec.train.segment_count() - 1;
  auto cheat = Run(spec, {.catalog = &FixtureCatalog()}, *cpu, {.corrupt_segment = last});
  CheckOnlySegmentFails(*cheat, last, *cpu);
  CHECK(ModelId(cheat->model()) == cheat->commitment().output_hash);

  auto trained = Run(spec, {.catalog = &FixtureCatalog()}, *cpu, {});
  const TensorMap& model = trained->model();
  Tensor images = *Tensor::Zeros(DType::kU8, {40, 28, 28});
  std::copy_n(test_data::Test256()->images.begin(), images.byte_size(),
              images.mutable_bytes().data());
  JobSpec infer;
  infer.kind = JobKind::kInferClassifier;
  infer.infer = InferSpec{.model = ModelId(model), .count = 40, .slice_size = 16};
  infer.infer.images = *ImagesRoot(images, 16);
  const JobInputs in{.model = &model, .images = &images};
  auto honest = Run(infer, in, *cpu, {});
  auto bad = Run(infer, in, *cpu, {.corrupt_segment = 1});
  CHECK(bad->records()[0] == honest->records()[0]);
  CHECK(!(bad->records()[1] == honest->records()[1]));
  CheckOnlySegmentFails(*bad, 1, *cpu);
  auto file = EncodeJobResult(*bad);
  REQUIRE(file.ok());
  CHECK(VerifyJobResult(infer, bad->commitment().output_hash, *file).ok());

  // Past the end: an honest run.
  auto beyond = Run(infer, in, *cpu, {.corrupt_segment = 99});
  CHECK(beyond->commitment() == honest->commitment());
}

TEST_CASE("a run asked to stop returns kUnavailable at the next segment boundary") {
  auto cpu = Cpu(2);
  const JobSpec spec = SmallTrainSpec();
  int asked = 0;
  RunOptions options;
  options.should_stop = [&] { return ++asked > 2; };
  uint64_t done = 0;
  options.progress = [&](uint64_t d, uint64_t) { done = d; };
  auto run = RunJob(spec, {.catalog = &FixtureCatalog()}, *cpu, options);
  CHECK(run.status().code() == Code::kUnavailable);
  CHECK(done == 2);  // two segments ran before the third was refused
}

}  // namespace
}  // namespace probity::workloads
