// The check of a job's segments and the attestation built from it (verifierd.h).
#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>

#include "probity/primitives/hex.h"
#include "probity/verifierd/verifierd.h"

namespace probity::verifierd {
namespace {

using Clock = std::chrono::steady_clock;

std::string Field(const Hash256& h) { return std::string(h.begin(), h.end()); }

Result<Hash256> HashOf(const std::string& s, std::string_view what) {
  if (s.size() != 32) {
    return Status::Corruption("the job's " + std::string(what) + " is " + std::to_string(s.size()) +
                              " bytes, not 32");
  }
  Hash256 h{};
  std::memcpy(h.data(), s.data(), 32);
  return h;
}

// Sleeps `d`, or less when a stop is requested.
void SleepFor(std::chrono::milliseconds d, const std::stop_token& stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait_for(lock, stop, d, [] { return false; });
}

// Waits `d` before the next round of attempts. False when there is to be none: a stop was
// requested, the budget would be overrun, or `give_up` says so (asked at least every 250 ms, so
// that a long backoff never sleeps through the end of an attest window).
bool WaitToRetry(std::chrono::milliseconds d, const FetchPolicy& fetch,
                 Clock::time_point budget_end) {
  const Clock::time_point until = Clock::now() + d;
  if (until > budget_end) return false;
  for (;;) {
    if (fetch.stop.stop_requested() || (fetch.give_up && fetch.give_up())) return false;
    const Clock::time_point now = Clock::now();
    if (now >= until) return true;
    SleepFor(std::min<std::chrono::milliseconds>(
                 std::chrono::milliseconds(250),
                 std::chrono::ceil<std::chrono::milliseconds>(until - now)),
             fetch.stop);
  }
}

void Judge(SegmentCheck& sc, ByteView bytes, const workloads::JobCommitment& commitment,
           const Reexecutor& rx) {
  const auto start = Clock::now();
  auto judged =
      verifier::JudgeSegment(bytes, commitment, sc.index, *rx.backend, *rx.catalog, rx.limits);
  sc.reexecute_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!judged.ok()) {
    const Code code = judged.status().code();
    sc.verdict = code == Code::kInvalidArgument || code == Code::kResourceExhausted
                     ? Verdict::kMalformed
                     : Verdict::kUnchecked;
    sc.detail = judged.status().message();
    return;
  }
  // JudgeSegment accepted the bytes, so they decode to an opening of this segment whose record
  // and proof sit in the trace root: the evidence an attestation carries.
  auto opening = workloads::DecodeOpening(bytes);
  if (!opening.ok()) {  // cannot happen after JudgeSegment; never claim what was not decoded
    sc.verdict = Verdict::kUnchecked;
    sc.detail = "opening judged but not decodable: " + opening.status().message();
    return;
  }
  sc.record = opening->record;
  sc.proof = opening->proof;
  sc.recomputed = judged->recomputed_output_hash;
  if (judged->honest) {
    sc.verdict = Verdict::kOk;
  } else {
    sc.verdict = Verdict::kMismatch;
    sc.detail = "committed output " + ToHex(judged->committed_output_hash) + ", re-executed " +
                ToHex(judged->recomputed_output_hash);
  }
}

}  // namespace

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kOk:
      return "ok";
    case Verdict::kMismatch:
      return "mismatch";
    case Verdict::kWithheld:
      return "withheld";
    case Verdict::kMalformed:
      return "malformed";
    case Verdict::kUnchecked:
      return "unchecked";
  }
  return "unknown";
}

bool JobCheck::all_ok() const {
  return std::all_of(segments.begin(), segments.end(),
                     [](const SegmentCheck& s) { return s.verdict == Verdict::kOk; });
}

const SegmentCheck* JobCheck::first(Verdict v) const {
  for (const auto& s : segments) {
    if (s.verdict == v) return &s;
  }
  return nullptr;
}

Result<Bytes> ProviderOpenings::Fetch(uint64_t segment) {
  return provider_->GetOpening(*key_, job_id_, segment);
}

JobCheck CheckSegments(const Hash256& job_id, const workloads::JobCommitment& commitment,
                       std::span<const uint64_t> segments, OpeningSource& openings,
                       const FetchPolicy& fetch, const Reexecutor& reexecutor) {
  JobCheck out;
  out.job_id = job_id;
  out.commitment = commitment;
  const Clock::time_point budget_end = Clock::now() + fetch.max_wait;
  std::vector<size_t> waiting;  // positions in out.segments without an opening yet
  for (uint64_t index : segments) {
    SegmentCheck& sc = out.segments.emplace_back();
    sc.index = index;
    if (index >= commitment.segment_count) {
      sc.verdict = Verdict::kUnchecked;
      sc.detail = "segment " + std::to_string(index) + " is past the job's " +
                  std::to_string(commitment.segment_count) + " segments";
      continue;
    }
    waiting.push_back(out.segments.size() - 1);
  }
  // Rounds: every segment still without an opening is asked once per round, so the ones given
  // are re-executed at once and only the missing ones spend the budget.
  std::vector<std::string> why(out.segments.size());
  std::chrono::milliseconds backoff = std::max(fetch.initial_backoff, std::chrono::milliseconds(1));
  for (;;) {
    std::vector<size_t> still;
    for (size_t pos : waiting) {
      SegmentCheck& sc = out.segments[pos];
      if (fetch.stop.stop_requested()) {
        still.push_back(pos);
        continue;
      }
      ++sc.fetch_attempts;
      Result<Bytes> bytes = openings.Fetch(sc.index);
      if (bytes.ok()) {
        Judge(sc, *bytes, commitment, reexecutor);
      } else {
        why[pos] = bytes.status().ToString();
        still.push_back(pos);
      }
    }
    waiting = std::move(still);
    if (waiting.empty() || !WaitToRetry(backoff, fetch, budget_end)) break;
    backoff = std::min(backoff * 2, std::max(fetch.max_backoff, fetch.initial_backoff));
  }
  for (size_t pos : waiting) {
    SegmentCheck& sc = out.segments[pos];
    sc.verdict = Verdict::kWithheld;
    sc.detail = "no opening after " + std::to_string(sc.fetch_attempts) +
                (sc.fetch_attempts == 1 ? " attempt" : " attempts") +
                (why[pos].empty() ? std::string(" (stopped)") : ": " + why[pos]);
  }
  return out;
}

Result<workloads::JobCommitment> CommitmentOf(const jobs::v1::Job& job) {
  if (job.segment_count() == 0 && job.trace_root().empty() && job.output_hash().empty()) {
    return Status::FailedPrecondition("the job has no commitment: it is " +
                                      jobs::v1::JobState_Name(job.state()));
  }
  workloads::JobCommitment c;
  PROBITY_ASSIGN_OR_RETURN(c.job_input_hash, HashOf(job.input_hash(), "input hash"));
  PROBITY_ASSIGN_OR_RETURN(c.output_hash, HashOf(job.output_hash(), "output hash"));
  PROBITY_ASSIGN_OR_RETURN(c.trace_root, HashOf(job.trace_root(), "trace root"));
  if (job.segment_count() == 0) return Status::Corruption("the job commits to 0 segments");
  c.segment_count = job.segment_count();
  return c;
}

std::vector<uint64_t> SegmentsToAttest(const jobs::v1::Job& job) {
  std::vector<uint64_t> out;
  for (uint64_t i : job.sample()) {
    if (std::find(job.proven_segments().begin(), job.proven_segments().end(), i) ==
        job.proven_segments().end()) {
      out.push_back(i);
    }
  }
  return out;
}

Result<jobs::v1::MsgAttest> BuildAttestation(const jobs::v1::Job& job, const JobCheck& check) {
  if (job.state() != jobs::v1::JOB_STATE_SAMPLED) {
    return Status::FailedPrecondition("only a sampled job is attested; this one is " +
                                      jobs::v1::JobState_Name(job.state()));
  }
  if (job.id() != Field(check.job_id)) {
    return Status::FailedPrecondition("the check is of another job");
  }
  std::map<uint64_t, const SegmentCheck*> by_index;
  for (const auto& s : check.segments) by_index.emplace(s.index, &s);
  jobs::v1::MsgAttest msg;
  msg.set_job_id(job.id());
  for (uint64_t i : job.sample()) {
    auto* sa = msg.add_segments();
    sa->set_index(i);
    const bool proven = std::find(job.proven_segments().begin(), job.proven_segments().end(), i) !=
                        job.proven_segments().end();
    if (proven) {
      sa->set_withheld(true);  // no evidence needed; see the header
      continue;
    }
    auto it = by_index.find(i);
    if (it == by_index.end()) {
      return Status::FailedPrecondition("sampled segment " + std::to_string(i) +
                                        " was not checked");
    }
    const SegmentCheck& sc = *it->second;
    switch (sc.verdict) {
      case Verdict::kOk:
      case Verdict::kMismatch:
        sa->set_input_hash(Field(sc.record.input_hash));
        sa->set_output_hash(Field(sc.record.output_hash));
        for (const auto& p : sc.proof) sa->add_proof(Field(p));
        sa->set_recomputed_output_hash(Field(sc.recomputed));
        break;
      case Verdict::kWithheld:
      case Verdict::kMalformed:
        sa->set_withheld(true);
        break;
      case Verdict::kUnchecked:
        return Status::Unavailable("segment " + std::to_string(i) +
                                   " could not be re-executed here: " + sc.detail);
    }
  }
  return msg;
}

Result<std::unique_ptr<client::ProviderClient>> ConnectProvider(
    const client::ChainReader& chain, const jobs::v1::Job& job,
    const client::ChannelSecurity& security, const std::string& endpoint) {
  PROBITY_ASSIGN_OR_RETURN(XOnlyPubKey provider, HashOf(job.provider(), "provider"));
  std::string where = endpoint;
  if (where.empty()) {
    PROBITY_ASSIGN_OR_RETURN(Hash256 offer_id, HashOf(job.offer_id(), "offer id"));
    PROBITY_ASSIGN_OR_RETURN(auto offer, chain.Offer(offer_id));
    if (!offer || offer->endpoint().empty()) {
      return Status::NotFound("the job's offer " + ToHex(offer_id) +
                              " is gone from the chain; give the provider's endpoint");
    }
    where = offer->endpoint();
  }
  return std::make_unique<client::ProviderClient>(where, provider, security);
}

Result<ChainCheck> CheckJob(const client::ChainReader& chain,
                            const client::ProviderClient& provider, const SecretKey& key,
                            const Hash256& job_id,
                            const std::optional<std::vector<uint64_t>>& segments,
                            const FetchPolicy& fetch, const Reexecutor& reexecutor) {
  PROBITY_ASSIGN_OR_RETURN(auto job, chain.Job(job_id));
  if (!job) return Status::NotFound("no job " + ToHex(job_id) + " on the chain");
  PROBITY_ASSIGN_OR_RETURN(workloads::JobCommitment commitment, CommitmentOf(*job));
  const bool attesting = !segments.has_value();
  if (attesting && job->state() != jobs::v1::JOB_STATE_SAMPLED) {
    return Status::FailedPrecondition("the job is " + jobs::v1::JobState_Name(job->state()) +
                                      ", not sampled: name the segments to check");
  }
  std::vector<uint64_t> which = attesting ? SegmentsToAttest(*job) : *segments;
  for (uint64_t i : which) {
    if (i >= commitment.segment_count) {
      return Status::OutOfRange("segment " + std::to_string(i) + " of a job with " +
                                std::to_string(commitment.segment_count) + " segments");
    }
  }
  ProviderOpenings openings(&provider, &key, job_id);
  ChainCheck out;
  out.check = CheckSegments(job_id, commitment, which, openings, fetch, reexecutor);
  out.job = std::move(*job);
  if (attesting && !out.check.first(Verdict::kUnchecked)) {
    PROBITY_ASSIGN_OR_RETURN(out.attestation, BuildAttestation(out.job, out.check));
  }
  return out;
}

Result<jobs::v1::MsgAttest> AttestSampledJob(const client::ChainReader& chain, const SecretKey& key,
                                             const jobs::v1::Job& job, const FetchPolicy& fetch,
                                             const Reexecutor& reexecutor,
                                             const client::ChannelSecurity& security) {
  PROBITY_ASSIGN_OR_RETURN(Hash256 id, HashOf(job.id(), "id"));
  PROBITY_ASSIGN_OR_RETURN(auto provider, ConnectProvider(chain, job, security));
  PROBITY_ASSIGN_OR_RETURN(ChainCheck checked,
                           CheckJob(chain, *provider, key, id, std::nullopt, fetch, reexecutor));
  if (!checked.attestation) {
    const SegmentCheck* s = checked.check.first(Verdict::kUnchecked);
    return Status::Unavailable("segment " + std::to_string(s ? s->index : 0) +
                               " could not be re-executed here: " + (s ? s->detail : ""));
  }
  return std::move(*checked.attestation);
}

}  // namespace probity::verifierd
