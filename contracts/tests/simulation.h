// TEST ONLY: a market simulation driven through the real modules on the real chain (ChainApp,
// state tree, RocksDB): buyers order small inference jobs, honest and cheating providers
// commit traces built with the workloads code, verifiers re-execute the sampled segments with
// the referee's code and attest, an auditor challenges at random, and the chain settles or
// slashes. It records, for every job, what the provider did, what was sampled, what was
// challenged and how the job ended, so that tests can check the protocol's promises.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <vector>

#include "job_fixture.h"
#include "probity/contracts/jobs.h"
#include "probity/primitives/hex.h"

namespace probity::contracts::testing {

// What a provider does with the jobs it gets.
struct Strategy {
  uint32_t corrupt = 0;   // segments (of 16) whose output it makes up; 0 = honest
  bool withhold = false;  // never hands out an opening (and never posts one)
};

struct SimOptions {
  uint64_t jobs = 400;
  uint64_t seed = 1;
  double audit_rate = 0.05;     // share of verified jobs the auditor challenges at random
  double no_reveal_rate = 0.1;  // buyers that never reveal (the block hash alone seeds them)
};

struct JobRecord {
  int provider = 0;
  Strategy strategy;
  std::set<uint64_t> corrupted;
  uint32_t k = 0;
  std::vector<uint64_t> sample;
  int verifier = 0;
  bool lazy_verifier = false;
  std::optional<uint64_t> audited;  // the segment the auditor challenged
  jobs::v1::JobState end = jobs::v1::JOB_STATE_UNSPECIFIED;
};

struct SimResult {
  std::map<Hash256, JobRecord> jobs;
  std::set<int> honest_providers, cheating_providers;
  int lazy_verifier = 0;
  std::map<int, uint64_t> stake_before, stake_after;
  uint64_t blocks = 0;
};

inline constexpr uint32_t kSimSegments = 16;

// Providers 1..14 (1..6 honest; 7..8 corrupt 2 segments, 9..10 corrupt 4, 11..12 corrupt 8,
// 13 corrupts all 16, 14 skips the work and withholds every opening); verifiers 15..18
// honest, 19 lazy (attests without re-executing); buyers 20..29; auditor 30.
inline Strategy StrategyOf(int provider) {
  if (provider <= 6) return {};
  if (provider <= 8) return {2, false};
  if (provider <= 10) return {4, false};
  if (provider <= 12) return {8, false};
  if (provider == 13) return {16, false};
  return {16, true};
}

class Simulation {
 public:
  static constexpr int kProviders = 14, kFirstVerifier = 15, kLazyVerifier = 19, kFirstBuyer = 20,
                       kBuyers = 10, kAuditor = 30;

  explicit Simulation(const SimOptions& o) : o_(o), rng_(o.seed), m_(Options()) {
    cpu_ = verifier::testing::Cpu();
    for (int t = 0; t < 3; ++t) {
      templates_.push_back(verifier::testing::MakeTinyInferJob(32, 2, 100 + t, *cpu_));
      honest_.push_back(std::make_unique<verifier::testing::ProviderTrace>(
          *templates_.back().run, std::set<uint64_t>{}, *cpu_));
    }
    std::vector<Bytes> txs;
    for (int p = 1; p <= kProviders; ++p) {
      txs.push_back(m_.Tx(p, kMsgBond, BondMsg(1'000'000'000)));
      (StrategyOf(p).corrupt ? result_.cheating_providers : result_.honest_providers).insert(p);
    }
    for (int v = kFirstVerifier; v <= kLazyVerifier; ++v) {
      txs.push_back(m_.Tx(v, kMsgBond, BondMsg(v == kLazyVerifier ? 100'000'000 : 50'000'000)));
      staking::v1::MsgSetVerifier s;
      s.set_enabled(true);
      txs.push_back(m_.Tx(v, kMsgSetVerifier, s));
    }
    Expect(m_.Block(txs));
    txs.clear();
    for (int p = 1; p <= kProviders; ++p) {
      txs.push_back(m_.Tx(p, kMsgPostOffer, OfferMsg(10, 2, 1'000'000)));
    }
    Expect(m_.Block(txs));
    for (int a = 1; a <= kAuditor; ++a) result_.stake_before[a] = Stake(a);
    result_.lazy_verifier = kLazyVerifier;
  }

  SimResult Run() {
    uint64_t placed = 0;
    const uint64_t capacity = 2 * kProviders;
    while (placed < o_.jobs || busy_ > 0 || !due_.empty() || !open_.empty()) {
      // Keep the providers' capacity filled.
      while (placed < o_.jobs && assigned_ + waiting_ < capacity) {
        PlaceOrder();
        ++placed;
      }
      // Transactions signed earlier first; those due now are signed now, after them, so that
      // every account's nonces run in block order.
      std::vector<Bytes> txs = std::move(next_);
      next_.clear();
      const uint64_t h = m_.height() + 1;
      while (!due_.empty() && due_.begin()->first <= h) {
        for (auto& make : due_.begin()->second) txs.push_back(make());
        due_.erase(due_.begin());
      }
      auto r = m_.Block(txs);
      for (size_t i = 0; i < r.tx_results.size(); ++i) {
        REQUIRE_MESSAGE(r.tx_results[i].code() == 0, r.tx_results[i].log());
      }
      React();
      REQUIRE_MESSAGE(m_.height() < 20 * o_.jobs + 200, "the simulation stalled");
    }
    for (int a = 1; a <= kAuditor; ++a) result_.stake_after[a] = Stake(a);
    result_.blocks = m_.height();
    return std::move(result_);
  }

 private:
  static HarnessOptions Options() {
    HarnessOptions o;
    o.accounts = kAuditor;
    o.staking_json =
        R"({"params":{"min_provider_stake":"1000000","min_verifier_stake":"1000000",
            "unbonding_blocks":"100000","jail_after_faults":4000000000,
            "fault_window_blocks":"1","jail_blocks":"1","max_unbonding_entries":4}})";
    o.market_json =
        R"({"params":{"max_price_per_unit":"1000000","max_units":"1000000",
            "min_verification_level":1,"max_verification_level":16,
            "verify_fee_per_sample":"100","max_capacity":64,
            "max_order_lifetime_blocks":"100000","max_offer_lifetime_blocks":"10000000",
            "min_deadline_blocks":"2","max_deadline_blocks":"1000","recent_trades":8,
            "max_match_scan":1000}})";
    o.jobs_json =
        R"({"params":{"reveal_window_blocks":"3","attest_window_blocks":"3",
            "challenge_window_blocks":"3","opening_window_blocks":"3","challenge_bond":"5000",
            "cheat_slash_ppm":10000,"withhold_slash_ppm":10000,"commit_timeout_slash_ppm":10000,
            "negligent_verifier_slash_ppm":10000,"false_report_slash_ppm":10000,
            "attest_timeout_slash_ppm":10000,"challenger_reward_ppm":500000,
            "max_verifier_rounds":3,"max_segment_count":"100000","max_result_bytes":"1000000000",
            "max_opening_bytes":"4194304"}})";
    return o;
  }

  struct Live {
    int buyer = 0;
    int templ = 0;
    uint64_t secret = 0;
    bool reveal = true;
    std::shared_ptr<const verifier::testing::ProviderTrace> trace;
  };

  static void Expect(const ledger::FinalizeBlockResponse& r) {
    for (const auto& t : r.tx_results) REQUIRE_MESSAGE(t.code() == 0, t.log());
  }
  uint64_t Stake(int a) {
    auto s = m_.Stake(a).stake();
    return s.bonded() + s.unbonding();
  }
  int Index(const std::string& key) {
    for (int i = 1; i <= kAuditor; ++i) {
      if (HashBytes(Marketplace::Account(i)) == key) return i;
    }
    return 0;
  }
  jobs::v1::Job J(const Hash256& id) { return m_.Job(id).job(); }

  void PlaceOrder() {
    Live l;
    l.buyer = kFirstBuyer + static_cast<int>(rng_() % kBuyers);
    l.templ = static_cast<int>(rng_() % templates_.size());
    l.secret = rng_();
    l.reveal = std::uniform_real_distribution<>(0, 1)(rng_) >= o_.no_reveal_rate;
    static constexpr uint32_t kLevels[] = {1, 2, 4};
    const uint32_t k = kLevels[rng_() % 3];
    auto msg = OrderMsg(10, 4, m_.height() + 10'000,
                        workloads::JobInputHash(templates_[l.templ].spec), l.secret, k);
    msg.set_on_timeout(market::v1::TIMEOUT_ACTION_REFUND);
    Bytes tx = m_.Tx(l.buyer, kMsgPlaceOrder, msg);
    const Hash256 id = OrderIdOf(tx);
    live_[id] = std::move(l);
    result_.jobs[id].k = k;
    next_.push_back(std::move(tx));
    ++waiting_;
  }

  void React() {
    std::vector<std::pair<std::string, Hash256>> happened;
    for (const auto& e : m_.last_events()) {
      if (e.type().rfind("jobs.", 0) != 0) continue;
      for (const auto& a : e.attributes()) {
        if (a.key() == "job_id") happened.emplace_back(e.type(), *Hash256FromHex(a.value()));
      }
    }
    for (const auto& [type, id] : happened) {
      Live& l = live_.at(id);
      JobRecord& rec = result_.jobs.at(id);
      if (type == "jobs.assigned") {
        --waiting_;
        ++assigned_;
        ++busy_;
        open_.insert(id);
        const auto job = J(id);
        rec.provider = Index(job.provider());
        rec.strategy = StrategyOf(rec.provider);
        l.trace = TraceFor(l.templ, rec);
        next_.push_back(
            m_.Tx(rec.provider, kMsgCommit, JobFixture::CommitMsg(id, l.trace->commitment())));
      } else if (type == "jobs.committed") {
        --assigned_;
        if (l.reveal) {
          jobs::v1::MsgReveal reveal;
          reveal.set_job_id(HashBytes(id));
          reveal.set_secret(HashBytes(TestSecret(l.secret)));
          due_[m_.height() + 2].push_back(
              [this, buyer = l.buyer, reveal] { return m_.Tx(buyer, kMsgReveal, reveal); });
        }
      } else if (type == "jobs.sampled") {
        const auto job = J(id);
        rec.sample.assign(job.sample().begin(), job.sample().end());
        rec.verifier = Index(job.verifier());
        rec.lazy_verifier = rec.verifier == kLazyVerifier;
        REQUIRE(rec.verifier >= kFirstVerifier);
        REQUIRE(rec.verifier <= kLazyVerifier);
        next_.push_back(m_.Tx(rec.verifier, kMsgAttest, Attest(id, job, l, rec)));
      } else if (type == "jobs.disputed") {
        const auto job = J(id);
        if (!rec.strategy.withhold) {
          jobs::v1::MsgPostOpening post;
          post.set_job_id(HashBytes(id));
          Bytes wire = workloads::EncodeOpening(l.trace->Open(job.dispute().segment(), *cpu_));
          post.set_opening(std::string(wire.begin(), wire.end()));
          next_.push_back(m_.Tx(rec.provider, kMsgPostOpening, post));
        }
      } else if (type == "jobs.verified") {
        if (!rec.audited && std::uniform_real_distribution<>(0, 1)(rng_) < o_.audit_rate) {
          rec.audited = rng_() % kSimSegments;
          jobs::v1::MsgChallenge ch;
          ch.set_job_id(HashBytes(id));
          ch.set_segment(*rec.audited);
          next_.push_back(m_.Tx(kAuditor, kMsgChallenge, ch));
        }
      } else if (type == "jobs.settled" || type == "jobs.slashed" || type == "jobs.expired") {
        rec.end = m_.Job(id).state();
        --busy_;
        open_.erase(id);
      }
    }
  }

  std::shared_ptr<const verifier::testing::ProviderTrace> TraceFor(int templ, JobRecord& rec) {
    const uint32_t c = rec.strategy.corrupt;
    if (c == 0)
      return std::shared_ptr<const verifier::testing::ProviderTrace>(
          honest_[templ].get(), [](const verifier::testing::ProviderTrace*) {});
    std::vector<uint64_t> all(kSimSegments);
    for (uint64_t i = 0; i < kSimSegments; ++i) all[i] = i;
    std::shuffle(all.begin(), all.end(), rng_);
    rec.corrupted.insert(all.begin(), all.begin() + c);
    return std::make_shared<verifier::testing::ProviderTrace>(*templates_[templ].run, rec.corrupted,
                                                              *cpu_);
  }

  // An honest verifier asks the provider for each sampled opening and re-executes it with the
  // referee's code; the lazy one copies the trace's hashes. A withholding provider gives no
  // opening.
  jobs::v1::MsgAttest Attest(const Hash256& id, const jobs::v1::Job& job, const Live& l,
                             const JobRecord& rec) {
    jobs::v1::MsgAttest msg;
    msg.set_job_id(HashBytes(id));
    const std::set<uint64_t> proven(job.proven_segments().begin(), job.proven_segments().end());
    for (uint64_t i : job.sample()) {
      auto* sa = msg.add_segments();
      sa->set_index(i);
      if (rec.strategy.withhold && !rec.lazy_verifier && !proven.count(i)) {
        sa->set_withheld(true);
        continue;
      }
      const auto& r = l.trace->records()[i];
      sa->set_input_hash(HashBytes(r.input_hash));
      sa->set_output_hash(HashBytes(r.output_hash));
      for (const auto& p : l.trace->Proof(i)) sa->add_proof(HashBytes(p));
      Hash256 recomputed = r.output_hash;
      if (!rec.lazy_verifier) {
        Bytes wire = workloads::EncodeOpening(l.trace->Open(i, *cpu_));
        auto j = verifier::JudgeSegment(wire, l.trace->commitment(), i, *cpu_,
                                        workloads::DataCatalog::Default());
        REQUIRE_MESSAGE(j.ok(), j.status().ToString());
        recomputed = j->recomputed_output_hash;
      }
      sa->set_recomputed_output_hash(HashBytes(recomputed));
    }
    return msg;
  }

  SimOptions o_;
  std::mt19937_64 rng_;
  Marketplace m_;
  std::unique_ptr<workloads::Backend> cpu_;
  std::vector<verifier::testing::TinyInferJob> templates_;
  std::vector<std::unique_ptr<verifier::testing::ProviderTrace>> honest_;
  std::map<Hash256, Live> live_;
  std::set<Hash256> open_;
  // Transactions for a later block, by height, signed when that block is assembled.
  std::map<uint64_t, std::vector<std::function<Bytes()>>> due_;
  std::vector<Bytes> next_;  // transactions for the next block
  uint64_t waiting_ = 0, assigned_ = 0, busy_ = 0;
  SimResult result_;
};

// The checks every run must pass; returns (observed detections, expected detections, variance)
// of the jobs whose sample an honest verifier checked.
struct Detection {
  double observed = 0, expected = 0, variance = 0;
  uint64_t jobs = 0;
};

inline Detection CheckSimulation(const SimResult& r) {
  Detection d;
  std::map<int, uint64_t> slashes_of;
  for (const auto& [id, j] : r.jobs) {
    CAPTURE(ToHex(id));
    REQUIRE(j.end != jobs::v1::JOB_STATE_UNSPECIFIED);
    const bool cheat = j.strategy.corrupt > 0;
    const bool sampled_bad = std::any_of(j.sample.begin(), j.sample.end(),
                                         [&](uint64_t i) { return j.corrupted.count(i); });
    const bool audited_bad = j.audited && j.corrupted.count(*j.audited);
    if (!cheat) {
      // An honest provider is never slashed, whatever is sampled or challenged.
      CHECK(j.end == jobs::v1::JOB_STATE_SETTLED);
      continue;
    }
    CHECK(j.end != jobs::v1::JOB_STATE_EXPIRED);
    if (!j.lazy_verifier) {
      // Caught exactly when the sample hits a corrupted segment (or the auditor does).
      CHECK((j.end == jobs::v1::JOB_STATE_SLASHED) == (sampled_bad || audited_bad));
      if (!j.strategy.withhold) {
        const double p = verifier::DetectionProbability(kSimSegments, j.strategy.corrupt, j.k);
        d.expected += p;
        d.variance += p * (1 - p);
        d.observed += sampled_bad ? 1 : 0;
        ++d.jobs;
      }
    } else {
      CHECK((j.end == jobs::v1::JOB_STATE_SLASHED) == audited_bad);
    }
  }
  for (int p : r.honest_providers) CHECK(r.stake_after.at(p) == r.stake_before.at(p));
  for (int v = Simulation::kFirstVerifier; v < Simulation::kLazyVerifier; ++v) {
    CHECK(r.stake_after.at(v) == r.stake_before.at(v));
  }
  return d;
}

}  // namespace probity::contracts::testing
