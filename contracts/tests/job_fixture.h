// TEST ONLY: a marketplace with two providers, two verifiers and buyers, and the moves of
// each party in a job's life (commit a trace, reveal, attest by re-executing the sample,
// challenge, post an opening), built on real small inference jobs.
#pragma once

#include <doctest/doctest.h>

#include <map>
#include <optional>
#include <set>

#include "market_messages.h"
#include "marketplace_harness.h"
#include "probity/primitives/merkle.h"
#include "probity/verifier/referee.h"
#include "probity/verifier/sampling.h"
#include "provider_traces.h"

namespace probity::contracts::testing {

// Accounts: providers 1 and 2, verifiers 3 and 4, buyers 5 and 6, others from 7.
inline constexpr int kProvider = 1;
inline constexpr int kProvider2 = 2;
inline constexpr int kVerifierA = 3;
inline constexpr int kVerifierB = 4;
inline constexpr int kBuyer = 5;
inline constexpr int kChallenger = 7;

inline HarnessOptions JobTestOptions() {
  HarnessOptions o;
  o.staking_json = kTestStaking;
  o.market_json = kTestMarket;
  o.jobs_json = kTestJobs;
  return o;
}

class JobFixture {
 public:
  explicit JobFixture(const HarnessOptions& options = JobTestOptions(), bool verifiers = true)
      : m(options), cpu(verifier::testing::Cpu()) {
    std::vector<Bytes> txs;
    for (int p : {kProvider, kProvider2}) txs.push_back(m.Tx(p, kMsgBond, BondMsg(100'000)));
    if (verifiers) {
      for (int v : {kVerifierA, kVerifierB}) {
        txs.push_back(m.Tx(v, kMsgBond, BondMsg(50'000)));
        staking::v1::MsgSetVerifier s;
        s.set_enabled(true);
        txs.push_back(m.Tx(v, kMsgSetVerifier, s));
      }
    }
    for (const auto& r : m.Block(txs).tx_results) REQUIRE_MESSAGE(r.code() == 0, r.log());
    job = verifier::testing::MakeTinyInferJob(16, 2, 7, *cpu);  // 8 segments
  }

  int AccountIndex(const std::string& key) {
    for (int i = 1; i <= 16; ++i) {
      if (HashBytes(Marketplace::Account(i)) == key) return i;
    }
    FAIL("not a test account");
    return 0;
  }

  types::v1::TxResult Send(int signer, std::string_view type,
                           const google::protobuf::Message& msg) {
    return m.Run(signer, type, msg);
  }
  void Ok(int signer, std::string_view type, const google::protobuf::Message& msg) {
    auto r = Send(signer, type, msg);
    REQUIRE_MESSAGE(r.code() == 0, r.log());
  }

  // Provider 1 offers at `price`; buyer places an order for this fixture's job.
  Hash256 Order(uint32_t k = 3, bool self_verify = false,
                market::v1::TimeoutAction on_timeout = market::v1::TIMEOUT_ACTION_REOPEN,
                uint64_t price = 10, int provider = kProvider) {
    if (!offered_.count(provider)) {
      Ok(provider, kMsgPostOffer, OfferMsg(price, 4, m.height() + 10'000));
      offered_.insert(provider);
    }
    auto msg = OrderMsg(20, 50, m.height() + 500, workloads::JobInputHash(job.spec), 1, k);
    msg.set_self_verify(self_verify);
    msg.set_on_timeout(on_timeout);
    msg.set_deadline_blocks(deadline_blocks);
    Bytes tx = m.Tx(kBuyer, kMsgPlaceOrder, msg);
    auto r = m.Block({tx});
    REQUIRE_MESSAGE(r.tx_results[0].code() == 0, r.tx_results[0].log());
    return OrderIdOf(tx);
  }

  jobs::v1::Job J(const Hash256& id) { return m.Job(id).job(); }

  static jobs::v1::MsgCommit CommitMsg(const Hash256& id, const workloads::JobCommitment& c) {
    jobs::v1::MsgCommit msg;
    msg.set_job_id(HashBytes(id));
    msg.set_output_hash(HashBytes(c.output_hash));
    msg.set_trace_root(HashBytes(c.trace_root));
    msg.set_segment_count(c.segment_count);
    msg.set_result_bytes(16 * 44);
    return msg;
  }
  void Commit(const Hash256& id, const verifier::testing::ProviderTrace& trace) {
    Ok(AccountIndex(J(id).provider()), kMsgCommit, CommitMsg(id, trace.commitment()));
  }

  jobs::v1::MsgReveal RevealMsg(const Hash256& id, uint64_t secret = 1) {
    jobs::v1::MsgReveal msg;
    msg.set_job_id(HashBytes(id));
    msg.set_secret(HashBytes(TestSecret(secret)));
    return msg;
  }
  // Waits for the seed block and reveals.
  void Reveal(const Hash256& id) {
    m.AdvanceTo(J(id).commit_height() + 1);
    Ok(kBuyer, kMsgReveal, RevealMsg(id));
    REQUIRE(J(id).state() == jobs::v1::JOB_STATE_SAMPLED);
  }

  // The attestation of an honest verifier: opens each sampled segment from the provider's
  // trace and re-executes it with the referee's code. `lazy` copies the trace's hash instead;
  // `withhold` marks these indices as not opened; `lie` reports a wrong hash for them.
  jobs::v1::MsgAttest Attestation(const Hash256& id, const verifier::testing::ProviderTrace& trace,
                                  bool lazy = false, std::set<uint64_t> withhold = {},
                                  std::set<uint64_t> lie = {}) {
    jobs::v1::MsgAttest msg;
    msg.set_job_id(HashBytes(id));
    const jobs::v1::Job current = J(id);
    for (uint64_t i : current.sample()) {
      auto* sa = msg.add_segments();
      sa->set_index(i);
      if (withhold.count(i)) {
        sa->set_withheld(true);
        continue;
      }
      const auto& rec = trace.records()[i];
      sa->set_input_hash(HashBytes(rec.input_hash));
      sa->set_output_hash(HashBytes(rec.output_hash));
      for (const auto& p : trace.Proof(i)) sa->add_proof(HashBytes(p));
      Hash256 recomputed = rec.output_hash;
      if (!lazy) {
        Bytes wire = workloads::EncodeOpening(trace.Open(i, *cpu));
        auto j = verifier::JudgeSegment(wire, trace.commitment(), i, *cpu,
                                        workloads::DataCatalog::Default());
        REQUIRE_MESSAGE(j.ok(), j.status().ToString());
        recomputed = j->recomputed_output_hash;
      }
      if (lie.count(i)) recomputed[0] ^= 1;
      sa->set_recomputed_output_hash(HashBytes(recomputed));
    }
    return msg;
  }
  int Verifier(const Hash256& id) { return AccountIndex(J(id).verifier()); }

  jobs::v1::MsgPostOpening OpeningMsg(const Hash256& id,
                                      const verifier::testing::ProviderTrace& trace,
                                      uint64_t segment) {
    jobs::v1::MsgPostOpening msg;
    msg.set_job_id(HashBytes(id));
    Bytes wire = workloads::EncodeOpening(trace.Open(segment, *cpu));
    msg.set_opening(std::string(wire.begin(), wire.end()));
    return msg;
  }
  jobs::v1::MsgChallenge ChallengeMsg(const Hash256& id, uint64_t segment) {
    jobs::v1::MsgChallenge msg;
    msg.set_job_id(HashBytes(id));
    msg.set_segment(segment);
    return msg;
  }

  // Empty blocks until the job leaves `state` (at most `limit` blocks).
  void WaitWhile(const Hash256& id, jobs::v1::JobState state, int limit = 50) {
    for (int i = 0; i < limit && m.Job(id).state() == state; ++i) m.Block();
    REQUIRE(m.Job(id).state() != state);
  }

  bool SawEvent(std::string_view type) {
    for (const auto& e : m.last_events()) {
      if (e.type() == type) return true;
    }
    return false;
  }

  uint64_t deadline_blocks = 5;  // of the orders Order() places
  Marketplace m;
  std::unique_ptr<workloads::Backend> cpu;
  verifier::testing::TinyInferJob job;

 private:
  std::set<int> offered_;
};

}  // namespace probity::contracts::testing
