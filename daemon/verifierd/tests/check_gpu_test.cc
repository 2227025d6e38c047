// The check on the cuda backend: a verifier with a GPU reaches the verdicts and recomputed
// hashes of one without, for honest and cheating openings alike. Skips without a CUDA device.
#include <doctest/doctest.h>

#include "fixtures.h"
#include "probity/primitives/merkle.h"
#include "probity/verifierd/verifierd.h"

using namespace probity;
using namespace probity::verifierd;

namespace {

class TableSource final : public OpeningSource {
 public:
  Result<Bytes> Fetch(uint64_t segment) override {
    auto it = openings.find(segment);
    if (it == openings.end()) return Status::Unavailable("not served");
    return it->second;
  }
  std::map<uint64_t, Bytes> openings;
};

}  // namespace

TEST_CASE("cuda re-execution gives the cpu's verdicts and hashes") {
  auto cuda = workloads::CreateBackend("cuda");
  if (!cuda.ok()) {
    MESSAGE("skipped: no CUDA backend here (", cuda.status().ToString(), ")");
    return;
  }
  auto cpu = test_data::Cpu(1);
  auto run = workloads::RunJob(test_data::SmallTrainSpec("cnn", "adam"),
                               {.catalog = &test_data::FixtureCatalog()}, *cpu);
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  const auto& r = **run;
  // The provider claims another final state: the last segment must be a mismatch on both.
  std::vector<workloads::TraceRecord> records(r.records().begin(), r.records().end());
  records.at(records.size() - 1).output_hash.at(0) ^= 1;
  std::vector<Hash256> leaves;
  for (const auto& rec : records) {
    leaves.push_back(MerkleLeafHash(workloads::EncodeTraceRecord(rec)));
  }
  workloads::JobCommitment c = r.commitment();
  c.trace_root = MerkleRootFromLeafHashes(leaves);
  c.output_hash = records.back().output_hash;
  TableSource src;
  std::vector<uint64_t> all;
  for (uint64_t i = 0; i < records.size(); ++i) {
    auto o = r.Open(i, *cpu).value();
    o.record = records[i];
    o.proof = MerkleInclusionProof(leaves, i).value();
    if (i > 0) o.producer_proof = MerkleInclusionProof(leaves, i - 1).value();
    src.openings[i] = workloads::EncodeOpening(o);
    all.push_back(i);
  }
  FetchPolicy quick;
  quick.max_wait = std::chrono::milliseconds(0);
  JobCheck on_cpu =
      CheckSegments({}, c, all, src, quick, {cpu.get(), &test_data::FixtureCatalog()});
  JobCheck on_gpu =
      CheckSegments({}, c, all, src, quick, {cuda->get(), &test_data::FixtureCatalog()});
  REQUIRE(on_cpu.segments.size() == on_gpu.segments.size());
  for (size_t i = 0; i < all.size(); ++i) {
    CAPTURE(i);
    CHECK(on_gpu.segments[i].verdict == on_cpu.segments[i].verdict);
    CHECK(on_gpu.segments[i].recomputed == on_cpu.segments[i].recomputed);
    CHECK(on_cpu.segments[i].verdict == (i + 1 == all.size() ? Verdict::kMismatch : Verdict::kOk));
  }
}
