// Simulated providers: the audit paths of the kept Merkle levels are RFC 6962's, the honest
// trace is the run's, and every forgery passes every check but the re-execution of a forged
// segment (workloads::CheckSegment and the referee).
#include "probity/verifier/sim/provider_trace.h"

#include <doctest/doctest.h>

#include "merkle_levels.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"
#include "probity/verifier/referee.h"
#include "probity/verifier/sim/tiny_job.h"

using namespace probity;
using namespace probity::verifier::sim;

namespace {

std::unique_ptr<workloads::Backend> Cpu() {
  auto b = workloads::CreateBackend("cpu", {.threads = 1});
  REQUIRE(b.ok());
  return std::move(b).value();
}

struct Job {
  TinyInferJob tiny;
  std::shared_ptr<const InferJobInputs> inputs;
};

Job MakeJob(workloads::Backend& cpu, uint32_t count, uint32_t slice, uint64_t image_seed,
            uint64_t model_seed) {
  Job j;
  auto t = MakeTinyInferJob(
      {.count = count, .slice = slice, .image_seed = image_seed, .model_seed = model_seed}, cpu);
  REQUIRE_MESSAGE(t.ok(), t.status().ToString());
  j.tiny = std::move(*t);
  auto in = InferJobInputs::Create(j.tiny.spec, j.tiny.model, j.tiny.images);
  REQUIRE_MESSAGE(in.ok(), in.status().ToString());
  j.inputs = *in;
  return j;
}

// True when segment i of `t` is judged honest by the referee's code; fails the test when the
// opening is not valid evidence.
bool Honest(const ProviderTrace& t, uint64_t i, workloads::Backend& cpu) {
  auto o = t.Open(i);
  REQUIRE(o.ok());
  auto j = probity::verifier::JudgeSegment(workloads::EncodeOpening(*o), t.commitment(), i, cpu,
                                           workloads::DataCatalog::Default());
  REQUIRE_MESSAGE(j.ok(), j.status().ToString());
  return j->honest;
}

}  // namespace

TEST_CASE("merkle levels: every audit path is RFC 6962's, for every size up to 70") {
  for (uint64_t n = 1; n <= 70; ++n) {
    std::vector<Hash256> leaves;
    for (uint64_t i = 0; i < n; ++i) leaves.push_back(Sha256("leaf " + std::to_string(i)));
    MerkleLevels levels(leaves);
    CHECK(levels.root() == MerkleRootFromLeafHashes(leaves));
    for (uint64_t i = 0; i < n; ++i) {
      CAPTURE(n);
      CAPTURE(i);
      CHECK(levels.Path(i) == MerkleInclusionProof(leaves, i).value());
    }
  }
}

TEST_CASE("provider trace: the honest trace is the run's, and opens like the run") {
  auto cpu = Cpu();
  Job j = MakeJob(*cpu, 9, 2, 4, 4);  // 5 segments, the last one short
  auto t = ProviderTrace::FromRecords(j.inputs, j.tiny.run->records());
  REQUIRE(t.ok());
  CHECK(t->commitment() == j.tiny.run->commitment());
  for (uint64_t i = 0; i < 5; ++i) {
    auto mine = t->Open(i);
    auto theirs = j.tiny.run->Open(i, *cpu);
    REQUIRE(mine.ok());
    REQUIRE(theirs.ok());
    CHECK(workloads::EncodeOpening(*mine) == workloads::EncodeOpening(*theirs));
  }
  CHECK(t->Open(5).status().code() == Code::kOutOfRange);
  auto built = ProviderTrace::Build(j.inputs, *j.inputs, j.tiny.run->records(), {}, 0, *cpu);
  REQUIRE(built.ok());
  CHECK(built->commitment() == j.tiny.run->commitment());
}

TEST_CASE("provider trace: made-up outputs are convicted exactly where they were made up") {
  auto cpu = Cpu();
  Job j = MakeJob(*cpu, 16, 2, 5, 5);  // 8 segments
  auto t = ProviderTrace::Build(j.inputs, *j.inputs, j.tiny.run->records(), {2, 5}, 9, *cpu);
  REQUIRE(t.ok());
  CHECK(t->commitment().trace_root != j.tiny.run->commitment().trace_root);
  CHECK(t->commitment().output_hash != j.tiny.run->commitment().output_hash);
  for (uint64_t i = 0; i < 8; ++i) {
    CAPTURE(i);
    CHECK(Honest(*t, i, *cpu) == (i != 2 && i != 5));
  }
  // Another salt, other outputs.
  auto u = ProviderTrace::Build(j.inputs, *j.inputs, j.tiny.run->records(), {2, 5}, 10, *cpu);
  REQUIRE(u.ok());
  CHECK(u->commitment().trace_root != t->commitment().trace_root);
  CHECK(ProviderTrace::Build(j.inputs, *j.inputs, j.tiny.run->records(), {8}, 0, *cpu)
            .status()
            .code() == Code::kInvalidArgument);
}

TEST_CASE("provider trace: another model's work is convicted at every segment") {
  auto cpu = Cpu();
  Job ordered = MakeJob(*cpu, 12, 3, 6, 6);
  Job other = MakeJob(*cpu, 12, 3, 6, 7);  // the same images, other weights
  auto t =
      ProviderTrace::Build(ordered.inputs, *other.inputs, other.tiny.run->records(), {}, 0, *cpu);
  REQUIRE(t.ok());
  CHECK(t->commitment().job_input_hash == ordered.inputs->job_input_hash());
  for (uint64_t i = 0; i < 4; ++i) CHECK_FALSE(Honest(*t, i, *cpu));
}

TEST_CASE("provider trace: a replayed trace is no evidence at segment 0, wrong after") {
  auto cpu = Cpu();
  Job ordered = MakeJob(*cpu, 8, 2, 8, 8);
  Job earlier = MakeJob(*cpu, 8, 2, 9, 9);
  auto t = ProviderTrace::FromRecords(ordered.inputs, earlier.tiny.run->records());
  REQUIRE(t.ok());
  auto o = t->Open(0);
  REQUIRE(o.ok());
  CHECK_FALSE(workloads::VerifyOpening(*o, t->commitment()).ok());
  for (uint64_t i = 1; i < 4; ++i) CHECK_FALSE(Honest(*t, i, *cpu));
  CHECK(ProviderTrace::FromRecords(ordered.inputs, {}).status().code() == Code::kInvalidArgument);
}

TEST_CASE("provider trace: inputs that are not the spec's are refused") {
  auto cpu = Cpu();
  Job j = MakeJob(*cpu, 8, 2, 10, 10);
  workloads::Tensor images = j.tiny.images;
  images.mutable_bytes()[3] ^= 1;
  CHECK(InferJobInputs::Create(j.tiny.spec, j.tiny.model, images).status().code() ==
        Code::kInvalidArgument);
  Job other = MakeJob(*cpu, 8, 2, 10, 11);
  CHECK(InferJobInputs::Create(j.tiny.spec, other.tiny.model, j.tiny.images).status().code() ==
        Code::kInvalidArgument);
}
