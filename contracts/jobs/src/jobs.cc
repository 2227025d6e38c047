#include "probity/contracts/jobs.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "probity/contracts/module_state.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"
#include "probity/verifier/sampling.h"
#include "probity/workloads/workloads.h"

namespace probity::contracts {
namespace {

using jobs::v1::Dispute;
using jobs::v1::Job;
using jobs::v1::JobState;

constexpr std::string_view kMsgCommit = "probity.jobs.v1.MsgCommit";
constexpr std::string_view kMsgReveal = "probity.jobs.v1.MsgReveal";
constexpr std::string_view kMsgAttest = "probity.jobs.v1.MsgAttest";
constexpr std::string_view kMsgChallenge = "probity.jobs.v1.MsgChallenge";
constexpr std::string_view kMsgPostOpening = "probity.jobs.v1.MsgPostOpening";

constexpr std::string_view kParamsKey = "params";
constexpr uint8_t kTimerSeedBlock = 0;
constexpr uint8_t kTimerDeadline = 1;
constexpr size_t kMaxAttestedSegments = 1024;
constexpr size_t kMaxProofLength = 64;

Bytes JobKey(const Hash256& id) { return KeyBuilder("j/").Bytes32(id).Take(); }
constexpr std::string_view kTimerPrefix = "t/";
Bytes TimerKey(uint64_t height, uint8_t kind, const Hash256& id) {
  return contracts::TimerKey(kTimerPrefix, height, kind, id);
}

Hash256 H(const std::string& s) {
  Hash256 h{};
  if (s.size() == 32) std::memcpy(h.data(), s.data(), 32);
  return h;
}

template <typename M>
Result<M> Decode(const types::v1::Msg& msg) {
  M m;
  if (!ledger::ParseCanonical(AsBytes(msg.value()), &m)) {
    return Status::InvalidArgument("not a canonical " + std::string(m.GetTypeName()));
  }
  return m;
}

std::string StateName(JobState s) {
  std::string n = jobs::v1::JobState_Name(s);
  if (n.rfind("JOB_STATE_", 0) == 0) n = n.substr(10);
  std::transform(n.begin(), n.end(), n.begin(), [](char c) { return c == '_' ? '-' : c | 0x20; });
  return n;
}

std::string IndexList(const google::protobuf::RepeatedField<uint64_t>& v) {
  std::string out;
  for (uint64_t i : v) {
    if (!out.empty()) out += ",";
    out += std::to_string(i);
  }
  return out;
}

bool Contains(const google::protobuf::RepeatedField<uint64_t>& v, uint64_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

Status WrongState(const Job& job, std::string_view need) {
  return Status::FailedPrecondition("job is " + StateName(job.state()) + "; this needs " +
                                    std::string(need));
}

Result<jobs::v1::Params> LoadParams(const ledger::KvReader& store) {
  jobs::v1::Params p;
  PROBITY_ASSIGN_OR_RETURN(bool found, GetRecord(store, AsBytes(kParamsKey), &p));
  if (!found) return Status::Corruption("jobs params missing from state");
  return p;
}

workloads::JobCommitment CommitmentOf(const Job& job) {
  workloads::JobCommitment c;
  c.job_input_hash = H(job.input_hash());
  c.output_hash = H(job.output_hash());
  c.trace_root = H(job.trace_root());
  c.segment_count = job.segment_count();
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parameters and genesis

jobs::v1::Params Jobs::DefaultParams() {
  jobs::v1::Params p;
  p.set_reveal_window_blocks(100);
  p.set_attest_window_blocks(300);
  p.set_challenge_window_blocks(600);
  p.set_opening_window_blocks(300);
  p.set_challenge_bond(100'000);
  p.set_cheat_slash_ppm(500'000);
  p.set_withhold_slash_ppm(500'000);
  p.set_commit_timeout_slash_ppm(10'000);
  p.set_negligent_verifier_slash_ppm(300'000);
  p.set_false_report_slash_ppm(100'000);
  p.set_attest_timeout_slash_ppm(10'000);
  p.set_challenger_reward_ppm(500'000);
  p.set_max_verifier_rounds(3);
  p.set_max_segment_count(1u << 20);
  p.set_max_result_bytes(uint64_t{1} << 40);
  p.set_max_opening_bytes(workloads::kMaxOpeningBytes);
  return p;
}

std::string Jobs::DefaultGenesisJson() {
  jobs::v1::GenesisState g;
  *g.mutable_params() = DefaultParams();
  return ToGenesisJson(g);
}

Status Jobs::ValidateParams(const jobs::v1::Params& p) {
  auto bad = [](std::string m) { return Status::InvalidArgument("jobs params: " + m); };
  if (p.reveal_window_blocks() == 0 || p.attest_window_blocks() == 0 ||
      p.challenge_window_blocks() == 0 || p.opening_window_blocks() == 0) {
    return bad("every window must be at least one block");
  }
  if (p.challenge_bond() == 0) return bad("challenge_bond must be positive");
  for (uint32_t ppm : {p.cheat_slash_ppm(), p.withhold_slash_ppm(), p.commit_timeout_slash_ppm(),
                       p.negligent_verifier_slash_ppm(), p.false_report_slash_ppm(),
                       p.attest_timeout_slash_ppm(), p.challenger_reward_ppm()}) {
    if (ppm > kMillion) return bad("a fraction exceeds 1,000,000 ppm");
  }
  if (p.cheat_slash_ppm() == 0 || p.withhold_slash_ppm() == 0) {
    return bad("cheating and withholding must cost stake");
  }
  if (p.max_verifier_rounds() == 0) return bad("max_verifier_rounds must be at least 1");
  if (p.max_segment_count() == 0) return bad("max_segment_count must be positive");
  if (p.max_opening_bytes() == 0 || p.max_opening_bytes() > workloads::kMaxOpeningBytes) {
    return bad("max_opening_bytes must be 1.." + std::to_string(workloads::kMaxOpeningBytes));
  }
  return Status::OK();
}

Jobs::Jobs(Bank* bank, Staking* staking, Market* market, std::unique_ptr<verifier::Referee> referee)
    : bank_(bank), staking_(staking), market_(market), referee_(std::move(referee)) {}

std::vector<std::string> Jobs::MessageTypes() const {
  return {std::string(kMsgCommit), std::string(kMsgReveal), std::string(kMsgAttest),
          std::string(kMsgChallenge), std::string(kMsgPostOpening)};
}

Status Jobs::InitGenesis(ledger::Context& ctx, std::string_view section_json) {
  params_.reset();
  jobs::v1::GenesisState g;
  PROBITY_RETURN_IF_ERROR(ParseGenesisJson(kName, section_json, &g));
  jobs::v1::Params p = g.has_params() ? g.params() : DefaultParams();
  PROBITY_RETURN_IF_ERROR(ValidateParams(p));
  PutRecord(ctx.Store(*this), AsBytes(kParamsKey), p);
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// The state machine over one Context.
//
// Rule: a job is saved before any call into the market that may match orders (ReopenOrder,
// ReleaseCapacity), because a match writes job records through OnAssigned.

class Jobs::Lifecycle {
 public:
  Lifecycle(Jobs* j, ledger::Context& ctx, const jobs::v1::Params& p)
      : j_(j), ctx_(ctx), s_(ctx.Store(*j)), p_(p), height_(ctx.block().height) {}

  Result<Job> Load(const Hash256& id) {
    Job job;
    PROBITY_ASSIGN_OR_RETURN(bool found, GetRecord(s_, JobKey(id), &job));
    if (!found) return Status::NotFound("no job " + ToHex(id));
    return job;
  }
  void Save(const Job& job) { PutRecord(s_, JobKey(H(job.id())), job); }
  void SetDeadline(Job& job, uint64_t deadline) {
    job.set_deadline(deadline);
    s_.Set(TimerKey(deadline, kTimerDeadline, H(job.id())), {});
  }

  EventBuilder Event(std::string_view name, const Job& job) {
    EventBuilder e("jobs." + std::string(name));
    e.Id("job_id", H(job.id()))
        .Account("buyer", H(job.buyer()))
        .Account("provider", H(job.provider()));
    return e;
  }

  Status Assigned(const market::v1::Order& order, const market::v1::Offer& offer) {
    const Hash256 id = H(order.id());
    Job job;
    if (order.attempts() > 1) {  // a re-opened order: its last job must have expired
      PROBITY_ASSIGN_OR_RETURN(bool exists, GetRecord(s_, JobKey(id), &job));
      if (!exists || job.state() != jobs::v1::JOB_STATE_EXPIRED) {
        return Status::Corruption("order " + ToHex(id) + " re-assigned while its job is " +
                                  StateName(job.state()));
      }
      job.Clear();
    }
    job.set_id(order.id());
    job.set_buyer(order.buyer());
    job.set_provider(offer.provider());
    job.set_offer_id(offer.id());
    job.set_kind(order.kind());
    job.set_input_hash(order.input_hash());
    job.set_units(order.units());
    job.set_price_per_unit(order.price_per_unit());
    job.set_verification_level(order.verification_level());
    job.set_self_verify(order.self_verify());
    job.set_secret_commitment(order.secret_commitment());
    job.set_state(jobs::v1::JOB_STATE_ASSIGNED);
    job.set_attempt(order.attempts());
    job.set_assigned_height(height_);
    SetDeadline(job, height_ + order.deadline_blocks());
    Save(job);
    PROBITY_RETURN_IF_ERROR(j_->staking_->Lock(ctx_, H(job.provider())));
    Event("assigned", job)
        .Id("offer_id", H(offer.id()))
        .Number("deadline", job.deadline())
        .Number("attempt", job.attempt())
        .EmitTo(ctx_);
    return Status::OK();
  }

  // --- commit, reveal, sampling ---

  Status Commit(Job& job, const jobs::v1::MsgCommit& m) {
    job.set_output_hash(m.output_hash());
    job.set_trace_root(m.trace_root());
    job.set_segment_count(m.segment_count());
    job.set_result_bytes(m.result_bytes());
    job.set_commit_height(height_);
    job.set_state(jobs::v1::JOB_STATE_COMMITTED);
    SetDeadline(job, height_ + 1 + p_.reveal_window_blocks());
    s_.Set(TimerKey(height_ + 2, kTimerSeedBlock, H(job.id())), {});
    Save(job);
    Event("committed", job)
        .Attr("output_hash", ToHex(H(job.output_hash())))
        .Attr("trace_root", ToHex(H(job.trace_root())))
        .Number("segment_count", job.segment_count())
        .Number("reveal_until", job.deadline())
        .EmitTo(ctx_);
    PROBITY_RETURN_IF_ERROR(j_->market_->UpdateProviderRecord(
        ctx_, H(job.provider()),
        [](market::v1::ProviderRecord& r) { r.set_committed(r.committed() + 1); }));
    return j_->market_->ReleaseCapacity(ctx_, H(job.offer_id()));
  }

  // The hash of block commit_height + 1: captured in EndBlock of commit_height + 2, or read
  // from this block when it is that block.
  Result<Hash256> SeedBlockHash(const Job& job) {
    if (job.seed_block_hash().size() == 32) return H(job.seed_block_hash());
    if (height_ == job.commit_height() + 2) return ctx_.block().prev_block_hash;
    return Status::FailedPrecondition(
        "too early: sampling needs the hash of block " + std::to_string(job.commit_height() + 1) +
        ", known from block " + std::to_string(job.commit_height() + 2));
  }

  Status CaptureSeedBlock(Job& job) {
    if (job.seed_block_hash().empty() && job.commit_height() + 2 == height_) {
      job.set_seed_block_hash(HashField(ctx_.block().prev_block_hash));
      Save(job);
    }
    return Status::OK();
  }

  Status Sample(Job& job, const std::optional<verifier::Secret>& secret) {
    PROBITY_ASSIGN_OR_RETURN(Hash256 block_hash, SeedBlockHash(job));
    const Hash256 seed = verifier::SampleSeed(H(job.id()), secret, block_hash);
    PROBITY_ASSIGN_OR_RETURN(
        auto indices, verifier::SampleIndices(seed, job.segment_count(), job.verification_level()));
    job.set_seed_block_hash(HashField(block_hash));
    job.set_revealed(secret.has_value());
    if (secret) job.set_secret(HashField(*secret));
    job.set_seed(HashField(seed));
    job.clear_sample();
    for (uint64_t i : indices) job.add_sample(i);
    job.set_sampled_height(height_);
    job.set_verifier_round(1);
    if (secret) Event("revealed", job).EmitTo(ctx_);
    return AssignVerifier(job);
  }

  // Picks the verifier of the current round and waits for its attestation.
  Status AssignVerifier(Job& job) {
    XOnlyPubKey verifier = H(job.buyer());
    bool fallback = false;
    if (!job.self_verify()) {
      Hash256 seed = H(job.seed());
      if (job.verifier_round() > 1) {
        Bytes msg(36);
        std::memcpy(msg.data(), seed.data(), 32);
        PutU32LE(msg.data() + 32, job.verifier_round());
        seed = TaggedHash("probity/verifier-round", msg);
      }
      std::vector<XOnlyPubKey> exclude = {H(job.provider())};
      for (const auto& x : job.excluded_verifiers()) exclude.push_back(H(x));
      PROBITY_ASSIGN_OR_RETURN(auto picked, j_->staking_->PickVerifier(ctx_, seed, exclude));
      if (picked) {
        verifier = *picked;
      } else {
        fallback = true;  // nobody is bonded to verify: the buyer checks its own job
      }
    }
    job.set_verifier(HashField(verifier));
    job.set_state(jobs::v1::JOB_STATE_SAMPLED);
    SetDeadline(job, height_ + p_.attest_window_blocks());
    Save(job);
    Event("sampled", job)
        .Account("verifier", verifier)
        .Attr("seed", ToHex(H(job.seed())))
        .Attr("indices", IndexList(job.sample()))
        .Attr("revealed", job.revealed() ? "true" : "false")
        .Attr("self_verify", job.self_verify() || fallback ? "true" : "false")
        .Number("round", job.verifier_round())
        .Number("attest_until", job.deadline())
        .EmitTo(ctx_);
    return Status::OK();
  }

  // --- attestation ---

  Status Attest(Job& job, const XOnlyPubKey& attester, const jobs::v1::MsgAttest& m) {
    if (static_cast<size_t>(m.segments_size()) != static_cast<size_t>(job.sample_size())) {
      return Status::InvalidArgument("the attestation covers " + std::to_string(m.segments_size()) +
                                     " segments; " + std::to_string(job.sample_size()) +
                                     " were sampled");
    }
    const Hash256 root = H(job.trace_root());
    std::optional<std::pair<uint64_t, jobs::v1::DisputeKind>> problem;
    for (int i = 0; i < m.segments_size(); ++i) {
      const auto& sa = m.segments(i);
      if (sa.index() != job.sample(i)) {
        return Status::InvalidArgument("entry " + std::to_string(i) + " is segment " +
                                       std::to_string(sa.index()) + "; the sample has " +
                                       std::to_string(job.sample(i)) + " there");
      }
      if (Contains(job.proven_segments(), sa.index())) continue;  // re-executed on chain
      if (sa.withheld()) {
        if (!problem) problem.emplace(sa.index(), jobs::v1::DISPUTE_KIND_WITHHELD);
        continue;
      }
      workloads::TraceRecord rec{sa.index(), H(sa.input_hash()), H(sa.output_hash())};
      std::vector<Hash256> proof;
      for (const auto& p : sa.proof()) proof.push_back(H(p));
      if (!VerifyMerkleInclusion(MerkleLeafHash(workloads::EncodeTraceRecord(rec)), sa.index(),
                                 job.segment_count(), proof, root)) {
        return Status::InvalidArgument("the record of segment " + std::to_string(sa.index()) +
                                       " is not in the committed trace root");
      }
      if (sa.recomputed_output_hash() != sa.output_hash() && !problem) {
        problem.emplace(sa.index(), jobs::v1::DISPUTE_KIND_MISMATCH);
      }
    }
    if (!problem) {
      Event("attested", job).Account("verifier", attester).Attr("result", "all equal").EmitTo(ctx_);
      return Verify(job, /*attested=*/true);
    }
    const bool staked_verifier = attester != H(job.buyer());
    const uint64_t bond = staked_verifier ? 0 : p_.challenge_bond();
    if (bond > 0) {
      PROBITY_RETURN_IF_ERROR(j_->bank_->Transfer(ctx_, attester, ModuleAccount(), bond));
    }
    Event("attested", job)
        .Account("verifier", attester)
        .Attr("result",
              problem->second == jobs::v1::DISPUTE_KIND_MISMATCH ? "mismatch" : "withheld")
        .Number("segment", problem->first)
        .EmitTo(ctx_);
    return OpenDispute(job, attester, problem->first, problem->second, bond);
  }

  Status Verify(Job& job, bool attested) {
    job.set_attested(attested);
    // The attesting verifier's stake answers for the attestation until settlement.
    if (attested && job.verifier() != job.buyer()) {
      PROBITY_RETURN_IF_ERROR(j_->staking_->Lock(ctx_, H(job.verifier())));
    }
    job.set_state(jobs::v1::JOB_STATE_VERIFIED);
    job.set_verified_height(height_);
    SetDeadline(job, height_ + p_.challenge_window_blocks());
    Save(job);
    Event("verified", job)
        .Attr("attested", attested ? "true" : "false")
        .Number("settle_at", job.deadline())
        .EmitTo(ctx_);
    return j_->market_->UpdateProviderRecord(
        ctx_, H(job.provider()),
        [](market::v1::ProviderRecord& r) { r.set_verified(r.verified() + 1); });
  }

  Status Settle(Job& job) {
    const Hash256 id = H(job.id());
    PROBITY_ASSIGN_OR_RETURN(market::v1::Order order, j_->market_->GetOrder(ctx_, id));
    PROBITY_ASSIGN_OR_RETURN(uint64_t pay,
                             CheckedMul(job.price_per_unit(), job.units(), "the payment"));
    PROBITY_RETURN_IF_ERROR(j_->market_->Pay(ctx_, id, H(job.provider()), pay));
    const bool verifier_paid = job.attested() && job.verifier() != job.buyer();
    const uint64_t fee = verifier_paid ? order.verification_fee() : 0;
    if (fee > 0) PROBITY_RETURN_IF_ERROR(j_->market_->Pay(ctx_, id, H(job.verifier()), fee));
    PROBITY_RETURN_IF_ERROR(j_->market_->CloseOrder(ctx_, id));
    PROBITY_RETURN_IF_ERROR(j_->staking_->Unlock(ctx_, H(job.provider())));
    if (job.attested() && job.verifier() != job.buyer()) {
      PROBITY_RETURN_IF_ERROR(j_->staking_->Unlock(ctx_, H(job.verifier())));
    }
    job.set_state(jobs::v1::JOB_STATE_SETTLED);
    job.set_settled_height(height_);
    Save(job);
    auto e = Event("settled", job);
    if (verifier_paid) e.Account("verifier", H(job.verifier()));
    e.Number("provider_paid", pay).Number("verifier_paid", fee).EmitTo(ctx_);
    return j_->market_->UpdateProviderRecord(ctx_, H(job.provider()),
                                             [pay](market::v1::ProviderRecord& r) {
                                               r.set_settled(r.settled() + 1);
                                               r.set_earned(r.earned() + pay);
                                             });
  }

  // --- disputes ---

  Status OpenDispute(Job& job, const XOnlyPubKey& challenger, uint64_t segment,
                     jobs::v1::DisputeKind kind, uint64_t bond) {
    // A claim without a bond is backed by the attesting verifier's stake: held until decided.
    if (bond == 0) PROBITY_RETURN_IF_ERROR(j_->staking_->Lock(ctx_, challenger));
    job.set_resume_state(job.state());
    job.set_resume_remaining(job.deadline() > height_ ? job.deadline() - height_ : 1);
    Dispute* d = job.mutable_dispute();
    d->Clear();
    d->set_challenger(HashField(challenger));
    d->set_segment(segment);
    d->set_kind(kind);
    d->set_bond(bond);
    d->set_raised_height(height_);
    d->set_outcome(jobs::v1::DISPUTE_OUTCOME_PENDING);
    job.set_disputes(job.disputes() + 1);
    job.set_state(jobs::v1::JOB_STATE_DISPUTED);
    SetDeadline(job, height_ + p_.opening_window_blocks());
    d->set_opening_deadline(job.deadline());
    Save(job);
    Event("disputed", job)
        .Account("challenger", challenger)
        .Number("segment", segment)
        .Attr("kind", jobs::v1::DisputeKind_Name(kind))
        .Number("bond", bond)
        .Number("opening_until", job.deadline())
        .EmitTo(ctx_);
    return Status::OK();
  }

  // The provider cheated (the referee re-executed the segment to another hash) or withheld
  // the opening: slashed; the buyer refunded in full; the challenger rewarded.
  Status ProviderLoses(Job& job, bool withheld, const std::optional<Hash256>& recomputed) {
    Dispute* d = job.mutable_dispute();
    const XOnlyPubKey challenger = H(d->challenger());
    const XOnlyPubKey provider = H(job.provider());
    d->set_outcome(jobs::v1::DISPUTE_OUTCOME_PROVIDER_SLASHED);
    d->set_resolved_height(height_);
    if (recomputed) d->set_recomputed_output_hash(HashField(*recomputed));
    const Staking::SlashShare reward[] = {{challenger, p_.challenger_reward_ppm()}};
    PROBITY_ASSIGN_OR_RETURN(
        uint64_t slashed,
        j_->staking_->Slash(ctx_, provider,
                            withheld ? p_.withhold_slash_ppm() : p_.cheat_slash_ppm(),
                            withheld ? "withheld opening" : "wrong segment", reward));
    if (d->bond() > 0) {
      PROBITY_RETURN_IF_ERROR(j_->bank_->Transfer(ctx_, ModuleAccount(), challenger, d->bond()));
    } else {
      PROBITY_RETURN_IF_ERROR(j_->staking_->Unlock(ctx_, challenger));
    }
    PROBITY_RETURN_IF_ERROR(j_->staking_->Unlock(ctx_, provider));
    if (job.attested() && job.verifier() != job.buyer()) {
      PROBITY_RETURN_IF_ERROR(j_->staking_->Unlock(ctx_, H(job.verifier())));
    }
    // A verifier that attested this very segment as correct did not check it.
    uint64_t verifier_slashed = 0;
    const bool negligent = !withheld && job.attested() && job.verifier() != job.buyer() &&
                           Contains(job.sample(), d->segment());
    if (negligent) {
      PROBITY_ASSIGN_OR_RETURN(
          verifier_slashed,
          j_->staking_->Slash(ctx_, H(job.verifier()), p_.negligent_verifier_slash_ppm(),
                              "attested a wrong segment", reward));
    }
    job.set_state(jobs::v1::JOB_STATE_SLASHED);
    job.set_settled_height(height_);
    Save(job);
    PROBITY_RETURN_IF_ERROR(j_->market_->CloseOrder(ctx_, H(job.id())));
    auto e = Event("slashed", job);
    e.Account("challenger", challenger)
        .Number("segment", d->segment())
        .Attr("reason", withheld ? "withheld opening" : "wrong segment")
        .Number("provider_slashed", slashed);
    if (negligent) {
      e.Account("verifier", H(job.verifier())).Number("verifier_slashed", verifier_slashed);
    }
    e.EmitTo(ctx_);
    return j_->market_->UpdateProviderRecord(
        ctx_, provider, [](market::v1::ProviderRecord& r) { r.set_slashed(r.slashed() + 1); });
  }

  // The opening re-executed to the committed hash.
  Status ChallengerLoses(Job& job, const Hash256& recomputed) {
    Dispute* d = job.mutable_dispute();
    const XOnlyPubKey challenger = H(d->challenger());
    const XOnlyPubKey provider = H(job.provider());
    d->set_outcome(jobs::v1::DISPUTE_OUTCOME_CHALLENGER_LOST);
    d->set_resolved_height(height_);
    d->set_recomputed_output_hash(HashField(recomputed));
    if (Contains(job.sample(), d->segment()) && !Contains(job.proven_segments(), d->segment())) {
      job.add_proven_segments(d->segment());
    }
    PROBITY_RETURN_IF_ERROR(j_->market_->UpdateProviderRecord(
        ctx_, provider,
        [](market::v1::ProviderRecord& r) { r.set_disputes_won(r.disputes_won() + 1); }));
    auto lost = Event("challenger_lost", job);
    lost.Account("challenger", challenger).Number("segment", d->segment());
    const jobs::v1::DisputeKind kind = d->kind();
    const bool buyer_claim = challenger == H(job.buyer());
    if (d->bond() == 0) PROBITY_RETURN_IF_ERROR(j_->staking_->Unlock(ctx_, challenger));
    if (kind == jobs::v1::DISPUTE_KIND_WITHHELD) {
      // The provider did open the segment, on chain: nobody is punished and the same
      // attester attests again (the proven segment now needs no evidence).
      if (d->bond() > 0) {
        PROBITY_RETURN_IF_ERROR(j_->bank_->Transfer(ctx_, ModuleAccount(), challenger, d->bond()));
      }
      lost.Attr("outcome", "opened on chain").EmitTo(ctx_);
      job.set_state(jobs::v1::JOB_STATE_SAMPLED);
      SetDeadline(job, height_ + p_.attest_window_blocks());
      Save(job);
      return Status::OK();
    }
    if (d->bond() > 0) {
      PROBITY_RETURN_IF_ERROR(j_->bank_->Transfer(ctx_, ModuleAccount(), provider, d->bond()));
    }
    if (kind == jobs::v1::DISPUTE_KIND_CHALLENGE) {
      lost.Attr("outcome", "bond to provider").EmitTo(ctx_);
      job.set_state(job.resume_state());
      SetDeadline(job, height_ + std::max<uint64_t>(1, job.resume_remaining()));
      Save(job);
      return Status::OK();
    }
    // A mismatch report that was false.
    if (buyer_claim) {
      lost.Attr("outcome", "bond to provider").EmitTo(ctx_);
      return Verify(job, /*attested=*/false);
    }
    const Staking::SlashShare to_provider[] = {{provider, p_.challenger_reward_ppm()}};
    PROBITY_RETURN_IF_ERROR(j_->staking_
                                ->Slash(ctx_, challenger, p_.false_report_slash_ppm(),
                                        "false mismatch report", to_provider)
                                .status());
    lost.Attr("outcome", "verifier slashed").EmitTo(ctx_);
    return ReplaceVerifier(job, "false mismatch report");
  }

  // The verifier failed (missed its window or reported falsely): the next round's verifier,
  // or verification by default once max_verifier_rounds have failed.
  Status ReplaceVerifier(Job& job, std::string_view why) {
    const XOnlyPubKey old = H(job.verifier());
    job.add_excluded_verifiers(job.verifier());
    Event("verifier_replaced", job)
        .Account("verifier", old)
        .Attr("reason", std::string(why))
        .Number("round", job.verifier_round())
        .EmitTo(ctx_);
    if (job.verifier_round() >= p_.max_verifier_rounds()) return Verify(job, false);
    job.set_verifier_round(job.verifier_round() + 1);
    return AssignVerifier(job);
  }

  // --- deadlines ---

  Status OnDeadline(Job& job) {
    switch (job.state()) {
      case jobs::v1::JOB_STATE_ASSIGNED:
        return CommitMissed(job);
      case jobs::v1::JOB_STATE_COMMITTED:
        return Sample(job, std::nullopt);  // no reveal in time: the block hash alone
      case jobs::v1::JOB_STATE_SAMPLED:
        if (job.verifier() == job.buyer()) return Verify(job, false);  // silence accepts
        PROBITY_RETURN_IF_ERROR(j_->staking_
                                    ->Slash(ctx_, H(job.verifier()), p_.attest_timeout_slash_ppm(),
                                            "no attestation", {})
                                    .status());
        return ReplaceVerifier(job, "no attestation in time");
      case jobs::v1::JOB_STATE_VERIFIED:
        return Settle(job);
      case jobs::v1::JOB_STATE_DISPUTED:
        return ProviderLoses(job, /*withheld=*/true, std::nullopt);
      default:
        return Status::OK();
    }
  }

  Status CommitMissed(Job& job) {
    const XOnlyPubKey provider = H(job.provider());
    const XOnlyPubKey buyer = H(job.buyer());
    const Staking::SlashShare to_buyer[] = {{buyer, kMillion}};
    PROBITY_ASSIGN_OR_RETURN(uint64_t slashed,
                             j_->staking_->Slash(ctx_, provider, p_.commit_timeout_slash_ppm(),
                                                 "commit deadline missed", to_buyer));
    job.set_state(jobs::v1::JOB_STATE_EXPIRED);
    Save(job);
    PROBITY_RETURN_IF_ERROR(j_->staking_->Unlock(ctx_, provider));
    PROBITY_RETURN_IF_ERROR(j_->market_->UpdateProviderRecord(
        ctx_, provider, [](market::v1::ProviderRecord& r) { r.set_expired(r.expired() + 1); }));
    PROBITY_ASSIGN_OR_RETURN(market::v1::Order order, j_->market_->GetOrder(ctx_, H(job.id())));
    // The event precedes the market's calls: a re-opened order may be assigned at once.
    Event("expired", job)
        .Number("provider_slashed", slashed)
        .Attr("next", order.on_timeout() == market::v1::TIMEOUT_ACTION_REOPEN ? "reopen" : "refund")
        .EmitTo(ctx_);
    PROBITY_RETURN_IF_ERROR(j_->market_->ReleaseCapacity(ctx_, H(job.offer_id())));
    if (order.on_timeout() == market::v1::TIMEOUT_ACTION_REOPEN) {
      // An order past its own expiry is refunded instead.
      return j_->market_->ReopenOrder(ctx_, H(job.id()), provider).status();
    }
    return j_->market_->CloseOrder(ctx_, H(job.id()));
  }

  ledger::KvStore& store() { return s_; }
  uint64_t height() const { return height_; }
  const jobs::v1::Params& params() const { return p_; }

 private:
  Jobs* j_;
  ledger::Context& ctx_;
  ledger::KvStore& s_;
  const jobs::v1::Params& p_;
  uint64_t height_;
};

Status Jobs::OnAssigned(ledger::Context& ctx, const market::v1::Order& order,
                        const market::v1::Offer& offer) {
  if (!params_) {
    PROBITY_ASSIGN_OR_RETURN(params_, LoadParams(ctx.Store(*this)));
  }
  Lifecycle life(this, ctx, *params_);
  return life.Assigned(order, offer);
}

// ---------------------------------------------------------------------------------------------
// Messages

Status Jobs::ValidateMsg(const types::v1::Msg& msg) const {
  const std::string& t = msg.type_url();
  if (t == kMsgCommit) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<jobs::v1::MsgCommit>(msg));
    PROBITY_RETURN_IF_ERROR(ParseHash(m.job_id(), "job_id").status());
    PROBITY_RETURN_IF_ERROR(ParseHash(m.output_hash(), "output_hash").status());
    PROBITY_RETURN_IF_ERROR(ParseHash(m.trace_root(), "trace_root").status());
    if (m.segment_count() == 0) return Status::OutOfRange("segment_count must be positive");
    return Status::OK();
  }
  if (t == kMsgReveal) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<jobs::v1::MsgReveal>(msg));
    PROBITY_RETURN_IF_ERROR(ParseHash(m.job_id(), "job_id").status());
    return ParseHash(m.secret(), "secret").status();
  }
  if (t == kMsgAttest) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<jobs::v1::MsgAttest>(msg));
    PROBITY_RETURN_IF_ERROR(ParseHash(m.job_id(), "job_id").status());
    if (m.segments().empty() || m.segments_size() > static_cast<int>(kMaxAttestedSegments)) {
      return Status::InvalidArgument("an attestation covers 1.." +
                                     std::to_string(kMaxAttestedSegments) + " segments");
    }
    for (const auto& sa : m.segments()) {
      if (sa.withheld()) {
        if (!sa.input_hash().empty() || !sa.output_hash().empty() || !sa.proof().empty() ||
            !sa.recomputed_output_hash().empty()) {
          return Status::InvalidArgument("a withheld segment carries no hashes");
        }
        continue;
      }
      PROBITY_RETURN_IF_ERROR(ParseHash(sa.input_hash(), "input_hash").status());
      PROBITY_RETURN_IF_ERROR(ParseHash(sa.output_hash(), "output_hash").status());
      PROBITY_RETURN_IF_ERROR(
          ParseHash(sa.recomputed_output_hash(), "recomputed_output_hash").status());
      if (static_cast<size_t>(sa.proof_size()) > kMaxProofLength) {
        return Status::InvalidArgument("a Merkle proof has at most 64 hashes");
      }
      for (const auto& p : sa.proof()) PROBITY_RETURN_IF_ERROR(ParseHash(p, "proof").status());
    }
    return Status::OK();
  }
  if (t == kMsgChallenge) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<jobs::v1::MsgChallenge>(msg));
    return ParseHash(m.job_id(), "job_id").status();
  }
  if (t == kMsgPostOpening) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<jobs::v1::MsgPostOpening>(msg));
    PROBITY_RETURN_IF_ERROR(ParseHash(m.job_id(), "job_id").status());
    if (m.opening().size() > workloads::kMaxOpeningBytes) {
      return Status::ResourceExhausted("an opening is at most 4 MiB");
    }
    auto o = workloads::DecodeOpening(AsBytes(m.opening()));
    if (!o.ok()) return Status::InvalidArgument("opening does not decode: " + o.status().message());
    return Status::OK();
  }
  return Status::InvalidArgument("jobs does not handle " + t);
}

Status Jobs::HandleMsg(ledger::Context& ctx, const ledger::TxInfo& tx, const types::v1::Msg& msg) {
  if (!params_) {
    PROBITY_ASSIGN_OR_RETURN(params_, LoadParams(ctx.Store(*this)));
  }
  const jobs::v1::Params& p = *params_;
  Lifecycle life(this, ctx, p);
  const uint64_t height = ctx.block().height;
  const std::string& t = msg.type_url();

  if (t == kMsgCommit) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<jobs::v1::MsgCommit>(msg));
    PROBITY_ASSIGN_OR_RETURN(Job job, life.Load(H(m.job_id())));
    if (job.provider() != HashField(tx.signer)) {
      return Status::PermissionDenied("only the job's provider may commit");
    }
    if (job.state() == jobs::v1::JOB_STATE_EXPIRED) {
      return Status::DeadlineExceeded("too late: the commit deadline (height " +
                                      std::to_string(job.deadline()) + ") has passed");
    }
    if (job.state() != jobs::v1::JOB_STATE_ASSIGNED) {
      return Status::FailedPrecondition("already committed (the job is " + StateName(job.state()) +
                                        ")");
    }
    if (height > job.deadline()) {
      return Status::DeadlineExceeded("too late: the commit deadline was height " +
                                      std::to_string(job.deadline()));
    }
    if (m.segment_count() > p.max_segment_count()) {
      return Status::OutOfRange("segment_count " + std::to_string(m.segment_count()) + " exceeds " +
                                std::to_string(p.max_segment_count()));
    }
    if (m.result_bytes() > p.max_result_bytes()) {
      return Status::OutOfRange("result_bytes exceeds " + std::to_string(p.max_result_bytes()));
    }
    return life.Commit(job, m);
  }

  if (t == kMsgReveal) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<jobs::v1::MsgReveal>(msg));
    PROBITY_ASSIGN_OR_RETURN(Job job, life.Load(H(m.job_id())));
    if (job.buyer() != HashField(tx.signer)) {
      return Status::PermissionDenied("only the job's buyer may reveal its secret");
    }
    if (job.state() != jobs::v1::JOB_STATE_COMMITTED) {
      if (job.sample_size() > 0 && !job.revealed()) {
        return Status::DeadlineExceeded(
            "too late: the reveal window closed; the job was "
            "sampled without the secret");
      }
      return WrongState(job, "committed");
    }
    verifier::Secret secret = H(m.secret());
    if (!verifier::CheckSecretReveal(H(job.secret_commitment()), secret)) {
      return Status::InvalidArgument("the secret does not open the order's commitment");
    }
    return life.Sample(job, secret);
  }

  if (t == kMsgAttest) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<jobs::v1::MsgAttest>(msg));
    PROBITY_ASSIGN_OR_RETURN(Job job, life.Load(H(m.job_id())));
    if (job.state() != jobs::v1::JOB_STATE_SAMPLED) return WrongState(job, "sampled");
    if (job.verifier() != HashField(tx.signer)) {
      return Status::PermissionDenied("only the assigned verifier may attest");
    }
    return life.Attest(job, tx.signer, m);
  }

  if (t == kMsgChallenge) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<jobs::v1::MsgChallenge>(msg));
    PROBITY_ASSIGN_OR_RETURN(Job job, life.Load(H(m.job_id())));
    if (job.state() != jobs::v1::JOB_STATE_COMMITTED &&
        job.state() != jobs::v1::JOB_STATE_SAMPLED && job.state() != jobs::v1::JOB_STATE_VERIFIED) {
      return WrongState(job, "committed, sampled or verified (before settlement)");
    }
    if (job.provider() == HashField(tx.signer)) {
      return Status::PermissionDenied("a provider cannot challenge its own job");
    }
    if (m.segment() >= job.segment_count()) {
      return Status::OutOfRange("segment " + std::to_string(m.segment()) + " of a job with " +
                                std::to_string(job.segment_count()) + " segments");
    }
    if (Contains(job.proven_segments(), m.segment())) {
      return Status::FailedPrecondition("segment " + std::to_string(m.segment()) +
                                        " was already re-executed on chain");
    }
    PROBITY_RETURN_IF_ERROR(bank_->Transfer(ctx, tx.signer, ModuleAccount(), p.challenge_bond()));
    return life.OpenDispute(job, tx.signer, m.segment(), jobs::v1::DISPUTE_KIND_CHALLENGE,
                            p.challenge_bond());
  }

  if (t == kMsgPostOpening) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<jobs::v1::MsgPostOpening>(msg));
    PROBITY_ASSIGN_OR_RETURN(Job job, life.Load(H(m.job_id())));
    if (job.state() != jobs::v1::JOB_STATE_DISPUTED) return WrongState(job, "disputed");
    if (height > job.dispute().opening_deadline()) {
      return Status::DeadlineExceeded("too late: the opening was due by height " +
                                      std::to_string(job.dispute().opening_deadline()));
    }
    if (m.opening().size() > p.max_opening_bytes()) {
      return Status::ResourceExhausted("opening of " + std::to_string(m.opening().size()) +
                                       " bytes exceeds " + std::to_string(p.max_opening_bytes()));
    }
    const uint64_t segment = job.dispute().segment();
    PROBITY_ASSIGN_OR_RETURN(auto judgement,
                             referee_->Judge(AsBytes(m.opening()), CommitmentOf(job), segment));
    life.Event("opening_posted", job)
        .Account("poster", tx.signer)
        .Number("segment", segment)
        .Attr("recomputed_output_hash", ToHex(judgement.recomputed_output_hash))
        .Attr("verdict", judgement.honest ? "correct" : "wrong")
        .EmitTo(ctx);
    if (judgement.honest) return life.ChallengerLoses(job, judgement.recomputed_output_hash);
    return life.ProviderLoses(job, /*withheld=*/false, judgement.recomputed_output_hash);
  }
  return Status::InvalidArgument("jobs does not handle " + t);
}

// ---------------------------------------------------------------------------------------------
// Timers

Status Jobs::EndBlock(ledger::Context& ctx) {
  ledger::KvStore& s = ctx.Store(*this);
  const uint64_t height = ctx.block().height;
  PROBITY_ASSIGN_OR_RETURN(std::vector<DueTimer> due, DueTimers(s, kTimerPrefix, height));
  if (due.empty()) return Status::OK();
  if (!params_) {
    PROBITY_ASSIGN_OR_RETURN(params_, LoadParams(s));
  }
  Lifecycle life(this, ctx, *params_);
  for (const DueTimer& d : due) {
    s.Delete(d.key);
    PROBITY_ASSIGN_OR_RETURN(Job job, life.Load(d.id));
    if (d.kind == kTimerSeedBlock) {
      PROBITY_RETURN_IF_ERROR(life.CaptureSeedBlock(job));
      continue;
    }
    // A deadline that the job has since moved past (a new state, a dispute) is stale.
    if (job.deadline() != d.height) continue;
    PROBITY_RETURN_IF_ERROR(life.OnDeadline(job));
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Queries

Result<Bytes> Jobs::Query(const ledger::QueryContext& ctx, std::string_view path,
                          ByteView request) const {
  const ledger::KvReader& s = ctx.Store(*this);
  auto reply = [](const google::protobuf::Message& m) {
    return ToBytes(AsBytes(ledger::SerializeCanonical(m)));
  };
  if (path == "params") {
    PROBITY_ASSIGN_OR_RETURN(auto p, LoadParams(s));
    return reply(p);
  }
  if (path == "job" || path == "sample") {
    jobs::v1::QueryJobRequest req;
    if (!req.ParseFromArray(request.data(), static_cast<int>(request.size()))) {
      return Status::InvalidArgument("jobs/" + std::string(path) + " needs a QueryJobRequest");
    }
    PROBITY_ASSIGN_OR_RETURN(Hash256 id, ParseHash(req.job_id(), "job_id"));
    Job job;
    PROBITY_ASSIGN_OR_RETURN(bool found, GetRecord(s, JobKey(id), &job));
    if (path == "sample") {
      if (!found || job.seed().empty()) {
        return Status::NotFound("job " + ToHex(id) + " has not been sampled");
      }
      jobs::v1::QuerySampleResponse resp;
      resp.set_seed(job.seed());
      *resp.mutable_indices() = job.sample();
      resp.set_verifier(job.verifier());
      resp.set_revealed(job.revealed());
      resp.set_secret(job.secret());
      resp.set_seed_block_hash(job.seed_block_hash());
      return reply(resp);
    }
    PROBITY_ASSIGN_OR_RETURN(auto order, market_->FindOrder(ctx, id));
    if (!found && !order) return Status::NotFound("no job or order " + ToHex(id));
    jobs::v1::QueryJobResponse resp;
    if (found) *resp.mutable_job() = job;
    if (order && order->status() == market::v1::ORDER_STATUS_OPEN) {
      resp.set_state(jobs::v1::JOB_STATE_OPEN);
    } else if (found) {
      resp.set_state(job.state());
    } else {
      resp.set_state(jobs::v1::JOB_STATE_CANCELLED);
    }
    return reply(resp);
  }
  return Status::NotFound("no query 'jobs/" + std::string(path) + "'");
}

}  // namespace probity::contracts
