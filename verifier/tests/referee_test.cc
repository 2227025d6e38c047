// The referee: convicts exactly the segments whose re-execution differs from the trace, and
// treats anything that is not a valid opening as no evidence at all.
#include "probity/verifier/referee.h"

#include <doctest/doctest.h>

#include "probity/primitives/hex.h"
#include "probity/workloads/random.h"
#include "provider_traces.h"

using namespace probity;
using namespace probity::verifier;
using namespace probity::verifier::testing;

TEST_CASE("referee: every honest segment is judged honest, with its recomputed hash") {
  auto cpu = Cpu();
  auto job = MakeTinyInferJob(10, 3, 1, *cpu);
  const auto& c = job.run->commitment();
  REQUIRE(c.segment_count == 4);
  Referee referee(&workloads::DataCatalog::Default());
  for (uint64_t i = 0; i < 4; ++i) {
    Bytes wire = workloads::EncodeOpening(*job.run->Open(i, *cpu));
    auto j = referee.Judge(wire, c, i);
    REQUIRE_MESSAGE(j.ok(), j.status().ToString());
    CHECK(j->honest);
    CHECK(j->recomputed_output_hash == job.run->records()[i].output_hash);
    CHECK(j->committed_output_hash == job.run->records()[i].output_hash);
  }
}

TEST_CASE("referee: a corrupted segment is convicted, the honest ones after it are not") {
  auto cpu = Cpu();
  auto job = MakeTinyInferJob(12, 2, 2, *cpu);
  ProviderTrace cheat(*job.run, {2}, *cpu);
  Referee referee(&workloads::DataCatalog::Default());
  for (uint64_t i = 0; i < 6; ++i) {
    CAPTURE(i);
    Bytes wire = workloads::EncodeOpening(cheat.Open(i, *cpu));
    auto j = referee.Judge(wire, cheat.commitment(), i);
    REQUIRE_MESSAGE(j.ok(), j.status().ToString());
    CHECK(j->honest == (i != 2));
    if (i == 2) CHECK(j->recomputed_output_hash == job.run->records()[2].output_hash);
  }
}

TEST_CASE("referee: bytes that are not a valid opening are no evidence") {
  auto cpu = Cpu();
  auto job = MakeTinyInferJob(8, 4, 3, *cpu);
  const auto& c = job.run->commitment();
  Referee referee(&workloads::DataCatalog::Default());
  Bytes wire = workloads::EncodeOpening(*job.run->Open(1, *cpu));

  CHECK(referee.Judge(AsBytes("garbage"), c, 1).status().code() == Code::kInvalidArgument);
  CHECK(referee.Judge(wire, c, 0).status().message().find("is of segment 1") != std::string::npos);
  workloads::JobCommitment other = c;
  other.trace_root[5] ^= 1;
  CHECK(referee.Judge(wire, other, 1).status().message().find("does not match") !=
        std::string::npos);
  Bytes flipped = wire;
  flipped[flipped.size() - 40] ^= 1;  // inside the slice proof
  auto j = referee.Judge(flipped, c, 1);
  CHECK(j.status().code() == Code::kInvalidArgument);

  Referee small(&workloads::DataCatalog::Default(), {.max_opening_bytes = 64});
  CHECK(small.Judge(wire, c, 1).status().code() == Code::kResourceExhausted);
}

TEST_CASE("referee: a checker without the training data cannot decide either way") {
  auto cpu = Cpu();
  std::string dir = std::string(PROBITY_TEST_DATA_DIR) + "/workloads/";
  auto data = workloads::LoadIdxDataset(dir + "fmnist512-train-images-idx3-ubyte",
                                        dir + "fmnist512-train-labels-idx1-ubyte");
  REQUIRE_MESSAGE(data.ok(), data.status().ToString());
  auto set = std::make_shared<const workloads::Dataset>(std::move(*data));
  workloads::DataCatalog with("/nonexistent/fashion-mnist");
  with.Add(set);
  workloads::DataCatalog without("/nonexistent/fashion-mnist");
  auto spec = workloads::ParseJobSpec(
      "kind = \"train-classifier\"\ndataset = \"" + ToHex(set->id) +
      "\"\nexamples = 128\nbatch_size = 32\nseed = 5\narchitecture = \"mlp\"\n"
      "hidden = [16]\nepochs = 1\nsteps_per_segment = 2\noptimizer = \"sgd-momentum\"\n"
      "learning_rate_decay = 1\naugment = \"none\"\n"
      "learning_rate = 0.05\nmomentum = 0.9\n");
  REQUIRE_MESSAGE(spec.ok(), spec.status().ToString());
  auto run = workloads::RunJob(*spec, {.catalog = &with}, *cpu);
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  Bytes wire = workloads::EncodeOpening(*(*run)->Open(1, *cpu));
  auto ok = JudgeSegment(wire, (*run)->commitment(), 1, *cpu, with);
  REQUIRE_MESSAGE(ok.ok(), ok.status().ToString());
  CHECK(ok->honest);
  auto blind = JudgeSegment(wire, (*run)->commitment(), 1, *cpu, without);
  CHECK(blind.status().code() == Code::kUnavailable);
}
