// The check of a job's segments: a real small training job, run here, whose openings are
// served good, tampered, cheating, oversized or not at all, and the verdicts and attestations
// that follow; then attestations built by the check, sent to the real jobs module.
#include <doctest/doctest.h>

#include <map>

#include "fixtures.h"
#include "job_fixture.h"
#include "probity/primitives/merkle.h"
#include "probity/verifierd/verifierd.h"

using namespace probity;
using namespace probity::verifierd;

namespace {

// Openings from a table; a segment absent from it (or listed in `fail_first`) answers
// kUnavailable, as a provider that is down or withholding does.
class TableSource final : public OpeningSource {
 public:
  Result<Bytes> Fetch(uint64_t segment) override {
    ++calls[segment];
    auto f = fail_first.find(segment);
    if (f != fail_first.end() && calls[segment] <= f->second) {
      return Status::Unavailable("provider busy");
    }
    auto it = openings.find(segment);
    if (it == openings.end()) return Status::Unavailable("connection refused");
    return it->second;
  }
  std::map<uint64_t, Bytes> openings;
  std::map<uint64_t, int> fail_first;
  std::map<uint64_t, int> calls;
};

// A small training job (7 segments of 5 Adam steps of an MLP on the 512-image fixture), run
// once for the whole file.
struct TrainJob {
  std::unique_ptr<workloads::Backend> cpu = test_data::Cpu(1);
  std::unique_ptr<workloads::JobRun> run;
  TrainJob() {
    auto r = workloads::RunJob(test_data::SmallTrainSpec(),
                               {.catalog = &test_data::FixtureCatalog()}, *cpu);
    REQUIRE_MESSAGE(r.ok(), r.status().ToString());
    run = std::move(r).value();
  }
  Bytes Wire(uint64_t i) const {
    auto o = run->Open(i, *cpu);
    REQUIRE_MESSAGE(o.ok(), o.status().ToString());
    return workloads::EncodeOpening(*o);
  }
  uint64_t n() const { return run->commitment().segment_count; }
};

TrainJob& Job() {
  static TrainJob job;
  return job;
}

FetchPolicy Quick() {
  FetchPolicy p;
  p.initial_backoff = std::chrono::milliseconds(2);
  p.max_backoff = std::chrono::milliseconds(10);
  p.max_wait = std::chrono::milliseconds(200);
  return p;
}

Reexecutor Cpu() { return {Job().cpu.get(), &test_data::FixtureCatalog(), {}}; }

Hash256 Id() {
  Hash256 id{};
  id[0] = 0x42;
  return id;
}

std::string IdField() {
  const Hash256 id = Id();
  return std::string(id.begin(), id.end());
}

std::vector<uint64_t> All(uint64_t n) {
  std::vector<uint64_t> v;
  for (uint64_t i = 0; i < n; ++i) v.push_back(i);
  return v;
}

}  // namespace

TEST_CASE("every honest segment is ok, with the record, proof and recomputed hash attested") {
  TrainJob& j = Job();
  REQUIRE(j.n() == 7);
  TableSource src;
  for (uint64_t i = 0; i < j.n(); ++i) src.openings[i] = j.Wire(i);
  const auto& c = j.run->commitment();
  JobCheck check = CheckSegments(Id(), c, All(j.n()), src, Quick(), Cpu());
  REQUIRE(check.segments.size() == j.n());
  CHECK(check.all_ok());
  for (uint64_t i = 0; i < j.n(); ++i) {
    const SegmentCheck& s = check.segments[i];
    CAPTURE(i);
    CHECK(s.index == i);
    CHECK(s.verdict == Verdict::kOk);
    CHECK(s.detail.empty());
    CHECK(s.fetch_attempts == 1);
    CHECK(s.record == j.run->records()[i]);
    CHECK(s.recomputed == j.run->records()[i].output_hash);
    CHECK(VerifyMerkleInclusion(MerkleLeafHash(workloads::EncodeTraceRecord(s.record)), i, j.n(),
                                s.proof, c.trace_root));
    CHECK(s.reexecute_seconds > 0);
  }

  // The attestation of a job whose sample is 5, 0, 3 (draw order), segment 3 proven on chain.
  jobs::v1::Job job;
  job.set_id(IdField());
  job.set_state(jobs::v1::JOB_STATE_SAMPLED);
  for (uint64_t i : {5, 0, 3}) job.add_sample(i);
  job.add_proven_segments(3);
  CHECK(SegmentsToAttest(job) == std::vector<uint64_t>{5, 0});
  auto msg = BuildAttestation(job, check);
  REQUIRE_MESSAGE(msg.ok(), msg.status().ToString());
  REQUIRE(msg->segments_size() == 3);
  CHECK(msg->job_id() == job.id());
  for (int e = 0; e < 2; ++e) {
    const auto& sa = msg->segments(e);
    const auto& rec = j.run->records()[sa.index()];
    CHECK(sa.index() == job.sample(e));
    CHECK_FALSE(sa.withheld());
    CHECK(sa.input_hash() == std::string(rec.input_hash.begin(), rec.input_hash.end()));
    CHECK(sa.output_hash() == std::string(rec.output_hash.begin(), rec.output_hash.end()));
    CHECK(sa.recomputed_output_hash() == sa.output_hash());
    CHECK(sa.proof_size() == static_cast<int>(check.segments[sa.index()].proof.size()));
  }
  CHECK(msg->segments(2).index() == 3);
  CHECK(msg->segments(2).withheld());
  CHECK(msg->segments(2).output_hash().empty());

  // Not sampled, another job, or a sampled segment never checked: no attestation.
  job.set_state(jobs::v1::JOB_STATE_VERIFIED);
  CHECK(BuildAttestation(job, check).status().code() == Code::kFailedPrecondition);
  job.set_state(jobs::v1::JOB_STATE_SAMPLED);
  JobCheck partial = check;
  partial.segments.erase(partial.segments.begin() + 5);
  CHECK(BuildAttestation(job, partial).status().message().find("segment 5 was not checked") !=
        std::string::npos);
  JobCheck other = check;
  other.job_id[1] ^= 1;
  CHECK(BuildAttestation(job, other).status().code() == Code::kFailedPrecondition);
}

TEST_CASE("any flipped byte of an opening is malformed, never ok and never a crash") {
  TrainJob& j = Job();
  const Bytes good = j.Wire(3);
  TableSource src;
  const uint64_t seg[] = {3};
  size_t flips = 0;
  // Every byte of the header, spec, records and proofs, then a stride through the tensors.
  for (size_t pos = 0; pos < good.size(); pos += pos < 2048 ? 7 : good.size() / 97) {
    Bytes bad = good;
    bad[pos] ^= 0x01;
    src.openings[3] = bad;
    JobCheck check = CheckSegments(Id(), j.run->commitment(), seg, src, Quick(), Cpu());
    CAPTURE(pos);
    REQUIRE(check.segments.size() == 1);
    CHECK(check.segments[0].verdict == Verdict::kMalformed);
    CHECK_FALSE(check.segments[0].detail.empty());
    ++flips;
  }
  CHECK(flips > 300);
  // Truncated and empty bytes, and bytes that are not an opening at all.
  for (Bytes bad : {Bytes(good.begin(), good.begin() + good.size() / 2), Bytes{},
                    Bytes{'P', 'R', 'B', 'O'}, Bytes(1000, 0xff)}) {
    src.openings[3] = bad;
    JobCheck check = CheckSegments(Id(), j.run->commitment(), seg, src, Quick(), Cpu());
    CHECK(check.segments[0].verdict == Verdict::kMalformed);
  }
}

TEST_CASE("an opening with a changed record, or of another segment, is malformed") {
  TrainJob& j = Job();
  TableSource src;
  auto o = j.run->Open(4, *j.cpu).value();
  o.record.output_hash[7] ^= 0x80;  // a record the trace root does not hold
  src.openings[4] = workloads::EncodeOpening(o);
  src.openings[2] = j.Wire(5);  // the provider answers with the wrong segment
  const uint64_t segs[] = {4, 2};
  JobCheck check = CheckSegments(Id(), j.run->commitment(), segs, src, Quick(), Cpu());
  CHECK(check.segments[0].verdict == Verdict::kMalformed);
  CHECK(check.segments[0].detail.find("commitment") != std::string::npos);
  CHECK(check.segments[1].verdict == Verdict::kMalformed);
  CHECK(check.segments[1].detail.find("is of segment 5, not 2") != std::string::npos);
  CHECK_FALSE(check.all_ok());
}

TEST_CASE("a provider that committed a wrong output is caught: mismatch, with the true hash") {
  // The provider claims another final model: the last record's output (and so the output hash
  // and the trace root) are made up, everything else is honest.
  TrainJob& j = Job();
  std::vector<workloads::TraceRecord> records(j.run->records().begin(), j.run->records().end());
  const uint64_t last = records.size() - 1;
  const Hash256 honest_output = records[last].output_hash;
  records.at(last).output_hash.at(0) ^= 0x5a;
  std::vector<Hash256> leaves;
  for (const auto& r : records) leaves.push_back(MerkleLeafHash(workloads::EncodeTraceRecord(r)));
  workloads::JobCommitment c = j.run->commitment();
  c.trace_root = MerkleRootFromLeafHashes(leaves);
  c.output_hash = records[last].output_hash;

  TableSource src;
  for (uint64_t i = 0; i < records.size(); ++i) {
    auto o = j.run->Open(i, *j.cpu).value();
    o.record = records[i];
    o.proof = MerkleInclusionProof(leaves, i).value();
    if (i > 0) o.producer_proof = MerkleInclusionProof(leaves, i - 1).value();
    src.openings[i] = workloads::EncodeOpening(o);
  }
  JobCheck check = CheckSegments(Id(), c, All(records.size()), src, Quick(), Cpu());
  for (uint64_t i = 0; i < last; ++i) CHECK(check.segments[i].verdict == Verdict::kOk);
  const SegmentCheck& bad = check.segments[last];
  CHECK(bad.verdict == Verdict::kMismatch);
  CHECK(bad.recomputed == honest_output);
  CHECK(bad.record.output_hash == c.output_hash);
  CHECK(bad.detail.find(ToHex(honest_output)) != std::string::npos);
  CHECK(check.first(Verdict::kMismatch) == &bad);

  jobs::v1::Job job;
  job.set_id(IdField());
  job.set_state(jobs::v1::JOB_STATE_SAMPLED);
  job.add_sample(last);
  job.add_sample(1);
  auto msg = BuildAttestation(job, check).value();
  CHECK(msg.segments(0).recomputed_output_hash() ==
        std::string(honest_output.begin(), honest_output.end()));
  CHECK(msg.segments(0).output_hash() != msg.segments(0).recomputed_output_hash());
  CHECK(msg.segments(1).output_hash() == msg.segments(1).recomputed_output_hash());
}

TEST_CASE("missing openings are asked again in rounds with backoff, then withheld") {
  TrainJob& j = Job();
  TableSource src;
  for (uint64_t i = 0; i < j.n(); ++i) src.openings[i] = j.Wire(i);
  src.openings.erase(2);  // never served
  src.fail_first[4] = 3;  // served at the fourth attempt
  const uint64_t segs[] = {2, 4, 6};
  JobCheck check = CheckSegments(Id(), j.run->commitment(), segs, src, Quick(), Cpu());
  CHECK(check.segments[0].verdict == Verdict::kWithheld);
  CHECK(check.segments[0].fetch_attempts > 3);
  CHECK(check.segments[0].detail.find("connection refused") != std::string::npos);
  // Asked in rounds: segment 4 came at its fourth attempt, segment 6 at its first.
  CHECK(check.segments[1].verdict == Verdict::kOk);
  CHECK(check.segments[1].fetch_attempts == 4);
  CHECK(check.segments[2].verdict == Verdict::kOk);
  CHECK(check.segments[2].fetch_attempts == 1);
  CHECK(src.calls[6] == 1);

  // A budget too short for a second round: one attempt each.
  TableSource late;
  late.openings[4] = j.Wire(4);
  late.fail_first[4] = 3;
  const uint64_t four[] = {4};
  FetchPolicy once = Quick();
  once.max_wait = std::chrono::milliseconds(0);
  check = CheckSegments(Id(), j.run->commitment(), four, late, once, Cpu());
  CHECK(check.segments[0].verdict == Verdict::kWithheld);
  CHECK(check.segments[0].fetch_attempts == 1);

  // give_up ends the retrying at once (the daemon's attest window closing).
  TableSource none;
  FetchPolicy p = Quick();
  p.max_wait = std::chrono::seconds(60);
  p.give_up = [] { return true; };
  check = CheckSegments(Id(), j.run->commitment(), four, none, p, Cpu());
  CHECK(check.segments[0].verdict == Verdict::kWithheld);
  CHECK(check.segments[0].fetch_attempts == 1);

  jobs::v1::Job job;
  job.set_id(IdField());
  job.set_state(jobs::v1::JOB_STATE_SAMPLED);
  job.add_sample(4);
  auto msg = BuildAttestation(job, check).value();
  // The module admits a withheld entry only without hashes.
  CHECK(msg.segments(0).withheld());
  CHECK(msg.segments(0).input_hash().empty());
  CHECK(msg.segments(0).proof_size() == 0);
  CHECK(msg.segments(0).recomputed_output_hash().empty());
}

TEST_CASE("an oversized opening is malformed, and a checker without the data set decides nothing") {
  TrainJob& j = Job();
  TableSource src;
  src.openings[1] = j.Wire(1);
  src.openings[2] = Bytes(workloads::kMaxOpeningBytes + 1, 0);
  const uint64_t segs[] = {1, 2};
  Reexecutor small = Cpu();
  small.limits.max_opening_bytes = 64;
  JobCheck check = CheckSegments(Id(), j.run->commitment(), segs, src, Quick(), small);
  CHECK(check.segments[0].verdict == Verdict::kMalformed);
  CHECK(check.segments[0].detail.find("exceeds") != std::string::npos);
  check = CheckSegments(Id(), j.run->commitment(), segs, src, Quick(), Cpu());
  CHECK(check.segments[0].verdict == Verdict::kOk);
  CHECK(check.segments[1].verdict == Verdict::kMalformed);

  workloads::DataCatalog empty("/nonexistent/fashion-mnist");
  Reexecutor blind{j.cpu.get(), &empty, {}};
  const uint64_t one[] = {1};
  check = CheckSegments(Id(), j.run->commitment(), one, src, Quick(), blind);
  CHECK(check.segments[0].verdict == Verdict::kUnchecked);
  jobs::v1::Job job;
  job.set_id(IdField());
  job.set_state(jobs::v1::JOB_STATE_SAMPLED);
  job.add_sample(1);
  CHECK(BuildAttestation(job, check).status().code() == Code::kUnavailable);

  // An index past the end is never fetched.
  const uint64_t past[] = {j.n()};
  check = CheckSegments(Id(), j.run->commitment(), past, src, Quick(), Cpu());
  CHECK(check.segments[0].verdict == Verdict::kUnchecked);
  CHECK(src.calls.count(j.n()) == 0);
}

TEST_CASE("the commitment comes from the chain's job record, and only once committed") {
  jobs::v1::Job job;
  job.set_state(jobs::v1::JOB_STATE_ASSIGNED);
  job.set_input_hash(std::string(32, 'i'));
  CHECK(CommitmentOf(job).status().code() == Code::kFailedPrecondition);
  job.set_output_hash(std::string(32, 'o'));
  job.set_trace_root(std::string(31, 't'));
  job.set_segment_count(9);
  CHECK(CommitmentOf(job).status().code() == Code::kCorruption);
  job.set_trace_root(std::string(32, 't'));
  auto c = CommitmentOf(job);
  REQUIRE(c.ok());
  CHECK(c->job_input_hash[0] == 'i');
  CHECK(c->output_hash[31] == 'o');
  CHECK(c->trace_root[0] == 't');
  CHECK(c->segment_count == 9);
}

// --- against the real jobs module (in-process chain; a small inference job) ---

namespace {

using namespace probity::contracts::testing;
using probity::verifier::testing::ProviderTrace;

// The provider's openings of `trace`, except `withhold`.
TableSource Serve(const ProviderTrace& trace, workloads::Backend& cpu,
                  std::set<uint64_t> withhold = {}) {
  TableSource src;
  for (uint64_t i = 0; i < trace.records().size(); ++i) {
    if (!withhold.count(i)) src.openings[i] = workloads::EncodeOpening(trace.Open(i, cpu));
  }
  return src;
}

jobs::v1::MsgAttest Attest(JobFixture& f, const Hash256& id, TableSource& src) {
  jobs::v1::Job job = f.J(id);
  auto c = CommitmentOf(job);
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  JobCheck check = CheckSegments(id, *c, SegmentsToAttest(job), src, Quick(),
                                 {f.cpu.get(), &workloads::DataCatalog::Default(), {}});
  auto msg = BuildAttestation(job, check);
  REQUIRE_MESSAGE(msg.ok(), msg.status().ToString());
  return *msg;
}

}  // namespace

TEST_CASE("the jobs module verifies a job on the check's attestation of an honest trace") {
  JobFixture f;
  Hash256 id = f.Order(3);
  ProviderTrace honest(*f.job.run, {}, *f.cpu);
  f.Commit(id, honest);
  f.Reveal(id);
  TableSource src = Serve(honest, *f.cpu);
  f.Ok(f.Verifier(id), kMsgAttest, Attest(f, id, src));
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_VERIFIED);
  CHECK(f.J(id).attested());
}

TEST_CASE("the jobs module disputes the first corrupted sampled segment the check found") {
  JobFixture f;
  Hash256 id = f.Order(3);
  ProviderTrace cheat(*f.job.run, {0, 1, 2, 3, 4, 5, 6, 7}, *f.cpu);
  f.Commit(id, cheat);
  f.Reveal(id);
  TableSource src = Serve(cheat, *f.cpu);
  f.Ok(f.Verifier(id), kMsgAttest, Attest(f, id, src));
  auto job = f.J(id);
  REQUIRE(job.state() == jobs::v1::JOB_STATE_DISPUTED);
  CHECK(job.dispute().kind() == jobs::v1::DISPUTE_KIND_MISMATCH);
  CHECK(job.dispute().segment() == job.sample(0));
  f.Ok(kProvider, kMsgPostOpening, f.OpeningMsg(id, cheat, job.dispute().segment()));
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_SLASHED);
}

TEST_CASE("withheld, opened on chain, attested again without that segment: verified") {
  JobFixture f;
  Hash256 id = f.Order(3);
  ProviderTrace honest(*f.job.run, {}, *f.cpu);
  f.Commit(id, honest);
  f.Reveal(id);
  const uint64_t withheld = f.J(id).sample(1);
  TableSource src = Serve(honest, *f.cpu, {withheld});
  f.Ok(f.Verifier(id), kMsgAttest, Attest(f, id, src));
  auto job = f.J(id);
  REQUIRE(job.state() == jobs::v1::JOB_STATE_DISPUTED);
  CHECK(job.dispute().kind() == jobs::v1::DISPUTE_KIND_WITHHELD);
  CHECK(job.dispute().segment() == withheld);
  f.Ok(kProvider, kMsgPostOpening, f.OpeningMsg(id, honest, withheld));
  job = f.J(id);
  REQUIRE(job.state() == jobs::v1::JOB_STATE_SAMPLED);
  CHECK(SegmentsToAttest(job).size() == 2);
  const int before = src.calls[withheld];
  f.Ok(f.Verifier(id), kMsgAttest, Attest(f, id, src));  // the provider still withholds it
  CHECK(src.calls[withheld] == before);                  // and it is not even asked for
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_VERIFIED);
}
