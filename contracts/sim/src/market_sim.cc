#include "probity/marketsim/market_sim.h"

#include <algorithm>
#include <charconv>
#include <deque>
#include <functional>
#include <memory>
#include <random>

#include "probity/marketsim/sim_chain.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"
#include "probity/verifier/referee.h"
#include "probity/verifier/sampling.h"
#include "probity/verifier/sim/provider_trace.h"
#include "probity/verifier/sim/tiny_job.h"

namespace probity::marketsim {
namespace {

using verifier::sim::InferJobInputs;
using verifier::sim::ProviderTrace;
using TracePtr = std::shared_ptr<const ProviderTrace>;

constexpr std::string_view kMsgBond = "probity.staking.v1.MsgBond";
constexpr std::string_view kMsgSetVerifier = "probity.staking.v1.MsgSetVerifier";
constexpr std::string_view kMsgPostOffer = "probity.market.v1.MsgPostOffer";
constexpr std::string_view kMsgUpdateOffer = "probity.market.v1.MsgUpdateOffer";
constexpr std::string_view kMsgPlaceOrder = "probity.market.v1.MsgPlaceOrder";
constexpr std::string_view kMsgCommit = "probity.jobs.v1.MsgCommit";
constexpr std::string_view kMsgReveal = "probity.jobs.v1.MsgReveal";
constexpr std::string_view kMsgAttest = "probity.jobs.v1.MsgAttest";
constexpr std::string_view kMsgChallenge = "probity.jobs.v1.MsgChallenge";
constexpr std::string_view kMsgPostOpening = "probity.jobs.v1.MsgPostOpening";

constexpr uint64_t kOfferLifetime = 900'000;

uint64_t ParseU64(const std::string& s) {
  uint64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

verifier::Secret BuyerSecret(uint64_t i) { return Sha256("buyer secret " + std::to_string(i)); }

std::vector<market::v1::KindPrice> Prices(uint64_t price) {
  market::v1::KindPrice kp;
  kp.set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
  kp.set_price_per_unit(price);
  return {kp};
}

market::v1::MsgPostOffer OfferMsg(uint64_t price, uint32_t capacity, uint64_t expires_at) {
  market::v1::MsgPostOffer m;
  auto* hw = m.mutable_hardware();
  hw->set_gpu_model("h100");
  hw->set_gpu_count(1);
  hw->set_memory_mib(81920);
  hw->set_compute_capability(90);
  hw->set_throughput(1000);
  for (const auto& kp : Prices(price)) *m.add_prices() = kp;
  m.set_capacity(capacity);
  m.set_endpoint("provider.example:7100");
  m.set_expires_at(expires_at);
  return m;
}

staking::v1::MsgBond BondMsg(uint64_t amount) {
  staking::v1::MsgBond m;
  m.set_amount(amount);
  return m;
}

// The jobs buyers order, and what providers need to commit and open them.
struct Template {
  verifier::sim::TinyInferJob job;
  std::shared_ptr<const InferJobInputs> inputs;
  std::map<std::string, TracePtr> honest;  // by backend
  TracePtr other_model, replay;            // built on first use
  verifier::sim::TinyInferJob other_job;
  std::shared_ptr<const InferJobInputs> other_inputs;
};

class Simulation {
 public:
  explicit Simulation(const SimConfig& c) : c_(c), rng_(c.seed) {}

  Status SetUp() {
    if (c_.groups.empty()) return Status::InvalidArgument("no provider groups");
    if (c_.k_levels.empty() || c_.templates == 0 || c_.segments == 0 || c_.slice == 0 ||
        c_.buyers <= 0 || c_.capacity == 0) {
      return Status::InvalidArgument("a simulation needs k levels, templates, segments, buyers");
    }
    result_.group_of.push_back(-1);
    for (size_t g = 0; g < c_.groups.size(); ++g) {
      const ProviderGroup& pg = c_.groups[g];
      if (pg.providers <= 0) return Status::InvalidArgument("a group without providers");
      if (pg.behaviour == Behaviour::kCorrupt && (pg.corrupt == 0 || pg.corrupt > c_.segments)) {
        return Status::InvalidArgument("group " + pg.name + " corrupts 1..segments segments");
      }
      for (int i = 0; i < pg.providers; ++i) result_.group_of.push_back(static_cast<int>(g));
    }
    providers_ = static_cast<int>(result_.group_of.size()) - 1;
    result_.first_verifier = providers_ + 1;
    result_.first_lazy_verifier = result_.first_verifier + c_.verifiers;
    result_.first_buyer = result_.first_lazy_verifier + c_.lazy_verifiers;
    result_.auditor = result_.first_buyer + c_.buyers;
    const int accounts = result_.auditor;
    result_.group_of.resize(accounts + 1, -1);

    PROBITY_ASSIGN_OR_RETURN(cpu_, workloads::CreateBackend("cpu", {.threads = 1}));
    ChainOptions o;
    o.accounts = accounts;
    o.staking_json = c_.staking_json.empty() ? SimDefaultStakingJson() : c_.staking_json;
    o.market_json = c_.market_json.empty() ? SimDefaultMarketJson() : c_.market_json;
    o.jobs_json = c_.jobs_json.empty() ? SimDefaultJobsJson() : c_.jobs_json;
    o.check_invariants = c_.check_invariants;
    PROBITY_ASSIGN_OR_RETURN(chain_, SimChain::Open(o));
    PROBITY_RETURN_IF_ERROR(MakeTemplates());

    std::vector<Bytes> txs;
    for (int p = 1; p <= providers_; ++p) {
      PROBITY_ASSIGN_OR_RETURN(Bytes t, chain_->Tx(p, kMsgBond, BondMsg(c_.provider_stake)));
      txs.push_back(std::move(t));
      target_stake_[p] = c_.provider_stake;
    }
    for (int v = result_.first_verifier; v < result_.first_buyer; ++v) {
      const uint64_t stake =
          v < result_.first_lazy_verifier ? c_.verifier_stake : c_.lazy_verifier_stake;
      PROBITY_ASSIGN_OR_RETURN(Bytes b, chain_->Tx(v, kMsgBond, BondMsg(stake)));
      staking::v1::MsgSetVerifier s;
      s.set_enabled(true);
      PROBITY_ASSIGN_OR_RETURN(Bytes e, chain_->Tx(v, kMsgSetVerifier, s));
      txs.push_back(std::move(b));
      txs.push_back(std::move(e));
      target_stake_[v] = stake;
    }
    PROBITY_RETURN_IF_ERROR(Execute(txs));
    txs.clear();
    for (int p = 1; p <= providers_; ++p) {
      PROBITY_ASSIGN_OR_RETURN(Bytes t, chain_->Tx(p, kMsgPostOffer,
                                                   OfferMsg(c_.price_per_unit, c_.capacity,
                                                            chain_->height() + kOfferLifetime)));
      offer_of_[p] = OfferIdOf(t);
      txs.push_back(std::move(t));
    }
    PROBITY_RETURN_IF_ERROR(Execute(txs));
    for (int a = 1; a <= accounts; ++a) {
      PROBITY_ASSIGN_OR_RETURN(result_.before[a], WealthOf(a));
    }
    return Status::OK();
  }

  Result<SimResult> Run() {
    PROBITY_RETURN_IF_ERROR(SetUp());
    uint64_t placed = 0;
    const uint64_t capacity = uint64_t{c_.capacity} * providers_;
    const uint64_t start = chain_->height();
    while (placed < c_.jobs || busy_ > 0 || !due_.empty() || !next_.empty()) {
      // Keep the providers' capacity filled.
      while (placed < c_.jobs && assigned_ + waiting_ < capacity) {
        PROBITY_RETURN_IF_ERROR(PlaceOrder());
        ++placed;
      }
      // Transactions signed earlier first; those due now are signed now, after them, so that
      // every account's nonces run in block order.
      std::vector<Bytes> txs = std::move(next_);
      next_.clear();
      const uint64_t h = chain_->height() + 1;
      while (!due_.empty() && due_.begin()->first <= h) {
        for (auto& make : due_.begin()->second) {
          PROBITY_ASSIGN_OR_RETURN(Bytes t, make());
          txs.push_back(std::move(t));
        }
        due_.erase(due_.begin());
      }
      PROBITY_RETURN_IF_ERROR(Execute(txs));
      PROBITY_RETURN_IF_ERROR(React());
      if (chain_->height() - start > 40 * c_.jobs + 400) {
        return Status::Internal("the simulation stalled at height " +
                                std::to_string(chain_->height()));
      }
    }
    for (int a = 1; a <= result_.auditor; ++a) {
      PROBITY_ASSIGN_OR_RETURN(result_.after[a], WealthOf(a));
    }
    result_.blocks = chain_->height();
    for (auto& [id, at] : index_) result_.jobs[at].id = id;
    return std::move(result_);
  }

 private:
  struct Live {
    int buyer = 0;
    int templ = 0;
    uint64_t secret = 0;
    TracePtr trace;
    bool withholds = false;
  };

  Status MakeTemplates() {
    for (uint32_t t = 0; t < c_.templates; ++t) {
      Template tp;
      verifier::sim::TinyInferShape shape{.count = c_.segments * c_.slice,
                                          .slice = c_.slice,
                                          .image_seed = 100 + t,
                                          .model_seed = 100 + t};
      PROBITY_ASSIGN_OR_RETURN(tp.job, verifier::sim::MakeTinyInferJob(shape, *cpu_));
      PROBITY_ASSIGN_OR_RETURN(tp.inputs,
                               InferJobInputs::Create(tp.job.spec, tp.job.model, tp.job.images));
      PROBITY_ASSIGN_OR_RETURN(auto honest,
                               ProviderTrace::FromRecords(tp.inputs, tp.job.run->records()));
      tp.honest["cpu"] = std::make_shared<const ProviderTrace>(std::move(honest));
      templates_.push_back(std::move(tp));
    }
    // Honest work on other backends: the same jobs run there, committed as they come out.
    for (const auto& g : c_.groups) {
      if (g.behaviour != Behaviour::kHonest || g.backend == "cpu") continue;
      if (templates_[0].honest.count(g.backend)) continue;
      PROBITY_ASSIGN_OR_RETURN(auto backend, workloads::CreateBackend(g.backend));
      for (auto& tp : templates_) {
        PROBITY_ASSIGN_OR_RETURN(
            auto run,
            workloads::RunJob(tp.job.spec, {.model = &tp.job.model, .images = &tp.job.images},
                              *backend));
        PROBITY_ASSIGN_OR_RETURN(auto trace, ProviderTrace::FromRecords(tp.inputs, run->records()));
        tp.honest[g.backend] = std::make_shared<const ProviderTrace>(std::move(trace));
      }
    }
    return Status::OK();
  }

  Status Execute(const std::vector<Bytes>& txs) {
    PROBITY_ASSIGN_OR_RETURN(auto r, chain_->Block(txs));
    for (const auto& t : r.tx_results) {
      if (t.code() != 0) return Status::Internal("a simulated transaction failed: " + t.log());
    }
    return Status::OK();
  }

  Result<Wealth> WealthOf(int a) {
    Wealth w;
    PROBITY_ASSIGN_OR_RETURN(w.balance, chain_->Balance(SimChain::Account(a)));
    PROBITY_ASSIGN_OR_RETURN(auto s, chain_->Stake(a));
    w.stake = s.stake().bonded() + s.stake().unbonding();
    return w;
  }

  double Uniform() { return std::uniform_real_distribution<>(0, 1)(rng_); }

  Status PlaceOrder() {
    Live l;
    l.buyer = result_.first_buyer + static_cast<int>(rng_() % c_.buyers);
    l.templ = static_cast<int>(rng_() % templates_.size());
    l.secret = rng_();
    const bool reveal = Uniform() >= c_.no_reveal_rate;
    const uint32_t k = c_.k_levels[rng_() % c_.k_levels.size()];
    market::v1::MsgPlaceOrder m;
    m.set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
    m.set_input_hash(HashBytes(templates_[l.templ].inputs->job_input_hash()));
    m.set_units(c_.units);
    m.set_max_price_per_unit(c_.price_per_unit);
    m.set_verification_level(k);
    m.set_deadline_blocks(c_.deadline_blocks);
    m.set_secret_commitment(HashBytes(verifier::SecretCommitment(BuyerSecret(l.secret))));
    m.set_on_timeout(market::v1::TIMEOUT_ACTION_REFUND);
    m.set_expires_at(chain_->height() + 10'000);
    PROBITY_ASSIGN_OR_RETURN(Bytes tx, chain_->Tx(l.buyer, kMsgPlaceOrder, m));
    const Hash256 id = OrderIdOf(tx);
    index_[id] = result_.jobs.size();
    result_.jobs.emplace_back();
    result_.jobs.back().k = k;
    result_.jobs.back().revealed = reveal;
    live_[id] = std::move(l);
    next_.push_back(std::move(tx));
    ++waiting_;
    return Status::OK();
  }

  Result<jobs::v1::Job> J(const Hash256& id) {
    PROBITY_ASSIGN_OR_RETURN(auto r, chain_->Job(id));
    return r.job();
  }
  int IndexOfField(const std::string& field) {
    if (field.size() != 32) return 0;
    XOnlyPubKey k{};
    std::copy(field.begin(), field.end(), k.begin());
    return chain_->AccountIndex(k);
  }

  Status React() {
    std::vector<std::pair<std::string, Hash256>> happened;
    std::set<int> slashed;
    for (const auto& e : chain_->last_events()) {
      if (e.type() == "staking.slash") {
        for (const auto& a : e.attributes()) {
          if (a.key() != "account") continue;
          PROBITY_ASSIGN_OR_RETURN(XOnlyPubKey k, DecodeAddress(a.value()));
          if (int i = chain_->AccountIndex(k)) slashed.insert(i);
        }
      }
      if (e.type().rfind("jobs.", 0) != 0) continue;
      for (const auto& a : e.attributes()) {
        if (a.key() != "job_id") continue;
        PROBITY_ASSIGN_OR_RETURN(Hash256 id, Hash256FromHex(a.value()));
        happened.emplace_back(e.type(), id);
      }
    }
    // Restaking first: its transactions then run before anything else the account sends in
    // the next block (an opening that gets it slashed again, say), so that its offer is
    // refreshed while the stake is whole.
    if (c_.restake) {
      for (int a : slashed) PROBITY_RETURN_IF_ERROR(Restake(a));
    }
    for (const auto& [type, id] : happened) {
      auto it = live_.find(id);
      if (it == live_.end()) return Status::Internal("an event of an unknown job");
      PROBITY_RETURN_IF_ERROR(OnEvent(type, id, it->second, result_.jobs[index_.at(id)]));
    }
    return Status::OK();
  }

  Status OnEvent(const std::string& type, const Hash256& id, Live& l, JobRecord& rec) {
    if (type == "jobs.assigned") {
      --waiting_;
      ++assigned_;
      ++busy_;
      PROBITY_ASSIGN_OR_RETURN(auto job, J(id));
      rec.provider = IndexOfField(job.provider());
      if (rec.provider < 1 || rec.provider > providers_) {
        return Status::Internal("a job assigned to an account that is not a provider");
      }
      rec.group = result_.group_of[rec.provider];
      PROBITY_ASSIGN_OR_RETURN(l.trace, TraceFor(l, rec));
      jobs::v1::MsgCommit m;
      m.set_job_id(HashBytes(id));
      m.set_output_hash(HashBytes(l.trace->commitment().output_hash));
      m.set_trace_root(HashBytes(l.trace->commitment().trace_root));
      m.set_segment_count(l.trace->commitment().segment_count);
      m.set_result_bytes(44ull * c_.segments * c_.slice);
      PROBITY_ASSIGN_OR_RETURN(Bytes t, chain_->Tx(rec.provider, kMsgCommit, m));
      next_.push_back(std::move(t));
    } else if (type == "jobs.committed") {
      --assigned_;
      if (rec.revealed) {
        jobs::v1::MsgReveal reveal;
        reveal.set_job_id(HashBytes(id));
        reveal.set_secret(HashBytes(BuyerSecret(l.secret)));
        due_[chain_->height() + 2].push_back(
            [this, buyer = l.buyer, reveal] { return chain_->Tx(buyer, kMsgReveal, reveal); });
      }
    } else if (type == "jobs.sampled") {
      PROBITY_ASSIGN_OR_RETURN(auto job, J(id));
      rec.sample.assign(job.sample().begin(), job.sample().end());
      rec.verifier = IndexOfField(job.verifier());
      // The buyer checks its own job when no verifier is eligible (the only one slashed below
      // the minimum, say); it re-executes like an honest verifier.
      if (rec.verifier != l.buyer &&
          (rec.verifier < result_.first_verifier || rec.verifier >= result_.first_buyer)) {
        return Status::Internal("a job sampled for an account that is not a verifier");
      }
      rec.lazy_verifier =
          rec.verifier >= result_.first_lazy_verifier && rec.verifier < result_.first_buyer;
      PROBITY_ASSIGN_OR_RETURN(auto msg, Attest(id, job, l, rec));
      PROBITY_ASSIGN_OR_RETURN(Bytes t, chain_->Tx(rec.verifier, kMsgAttest, msg));
      next_.push_back(std::move(t));
    } else if (type == "jobs.disputed") {
      PROBITY_ASSIGN_OR_RETURN(auto job, J(id));
      if (!l.withholds) {
        // A provider posts an opening only when it is valid evidence: anything else would be
        // refused, and the window lets it pass anyway.
        PROBITY_ASSIGN_OR_RETURN(auto o, l.trace->Open(job.dispute().segment()));
        if (workloads::VerifyOpening(o, l.trace->commitment()).ok()) {
          jobs::v1::MsgPostOpening post;
          post.set_job_id(HashBytes(id));
          Bytes wire = workloads::EncodeOpening(o);
          post.set_opening(std::string(wire.begin(), wire.end()));
          PROBITY_ASSIGN_OR_RETURN(Bytes t, chain_->Tx(rec.provider, kMsgPostOpening, post));
          next_.push_back(std::move(t));
        }
      }
    } else if (type == "jobs.verified") {
      if (!rec.audited && Uniform() < c_.audit_rate) {
        rec.audited = rng_() % c_.segments;
        jobs::v1::MsgChallenge ch;
        ch.set_job_id(HashBytes(id));
        ch.set_segment(*rec.audited);
        PROBITY_ASSIGN_OR_RETURN(Bytes t, chain_->Tx(result_.auditor, kMsgChallenge, ch));
        next_.push_back(std::move(t));
      }
    } else if (type == "jobs.settled" || type == "jobs.slashed" || type == "jobs.expired") {
      PROBITY_ASSIGN_OR_RETURN(auto r, chain_->Job(id));
      rec.end = r.state();
      if (type == "jobs.expired") --assigned_;
      --busy_;
      l.trace.reset();
      for (const auto& e : chain_->last_events()) {
        if (e.type() != type) continue;
        bool mine = false;
        uint64_t paid = 0, slashed = 0;
        for (const auto& a : e.attributes()) {
          if (a.key() == "job_id") mine = a.value() == ToHex(id);
          if (a.key() == "provider_paid") paid = ParseU64(a.value());
          if (a.key() == "provider_slashed") slashed = ParseU64(a.value());
        }
        if (mine) {
          rec.provider_paid += paid;
          rec.provider_slashed += slashed;
        }
      }
    }
    return Status::OK();
  }

  Result<TracePtr> TraceFor(Live& l, JobRecord& rec) {
    const ProviderGroup& g = c_.groups[rec.group];
    Template& tp = templates_[l.templ];
    const uint64_t n = c_.segments;
    auto all = [n] {
      std::set<uint64_t> s;
      for (uint64_t i = 0; i < n; ++i) s.insert(i);
      return s;
    };
    switch (g.behaviour) {
      case Behaviour::kHonest: {
        auto it = tp.honest.find(g.backend);
        if (it == tp.honest.end()) return Status::Internal("no honest trace on " + g.backend);
        return it->second;
      }
      case Behaviour::kCorrupt: {
        // A uniformly random set of `corrupt` segments (a partial Fisher–Yates shuffle).
        std::vector<uint64_t> idx(n);
        for (uint64_t i = 0; i < n; ++i) idx[i] = i;
        for (uint64_t i = 0; i < g.corrupt; ++i) {
          std::swap(idx[i], idx[i + rng_() % (n - i)]);
        }
        rec.bad.insert(idx.begin(), idx.begin() + static_cast<int64_t>(g.corrupt));
        PROBITY_ASSIGN_OR_RETURN(
            auto t, ProviderTrace::Build(tp.inputs, *tp.inputs, tp.job.run->records(), rec.bad,
                                         rng_(), *cpu_));
        return std::make_shared<const ProviderTrace>(std::move(t));
      }
      case Behaviour::kWithhold:
        l.withholds = true;
        [[fallthrough]];
      case Behaviour::kRandomOutputs: {
        rec.bad = all();
        PROBITY_ASSIGN_OR_RETURN(
            auto t, ProviderTrace::Build(tp.inputs, *tp.inputs, tp.job.run->records(), rec.bad,
                                         rng_(), *cpu_));
        return std::make_shared<const ProviderTrace>(std::move(t));
      }
      case Behaviour::kReplay: {
        rec.bad = all();
        if (!tp.replay) {
          const Template& earlier = templates_[(l.templ + 1) % templates_.size()];
          if (&earlier == &tp) return Status::InvalidArgument("replay needs two templates");
          PROBITY_ASSIGN_OR_RETURN(
              auto t, ProviderTrace::FromRecords(tp.inputs, earlier.job.run->records()));
          tp.replay = std::make_shared<const ProviderTrace>(std::move(t));
        }
        return tp.replay;
      }
      case Behaviour::kOtherModel: {
        rec.bad = all();
        if (!tp.other_model) {
          verifier::sim::TinyInferShape shape{.count = c_.segments * c_.slice,
                                              .slice = c_.slice,
                                              .image_seed = 100 + static_cast<uint64_t>(l.templ),
                                              .model_seed = 9'000 + static_cast<uint64_t>(l.templ)};
          PROBITY_ASSIGN_OR_RETURN(tp.other_job, verifier::sim::MakeTinyInferJob(shape, *cpu_));
          PROBITY_ASSIGN_OR_RETURN(
              tp.other_inputs,
              InferJobInputs::Create(tp.other_job.spec, tp.other_job.model, tp.other_job.images));
          PROBITY_ASSIGN_OR_RETURN(
              auto t, ProviderTrace::Build(tp.inputs, *tp.other_inputs, tp.other_job.run->records(),
                                           {}, 0, *cpu_));
          tp.other_model = std::make_shared<const ProviderTrace>(std::move(t));
        }
        return tp.other_model;
      }
    }
    return Status::Internal("unknown behaviour");
  }

  // An honest verifier asks the provider for each sampled opening and re-executes it with the
  // referee's code; no opening, or bytes that are no evidence, are reported withheld. The lazy
  // verifier copies the trace's hashes.
  Result<jobs::v1::MsgAttest> Attest(const Hash256& id, const jobs::v1::Job& job, const Live& l,
                                     const JobRecord& rec) {
    jobs::v1::MsgAttest msg;
    msg.set_job_id(HashBytes(id));
    const std::set<uint64_t> proven(job.proven_segments().begin(), job.proven_segments().end());
    for (uint64_t i : job.sample()) {
      auto* sa = msg.add_segments();
      sa->set_index(i);
      const auto& r = l.trace->records()[i];
      Hash256 recomputed = r.output_hash;
      if (!rec.lazy_verifier && !proven.count(i)) {
        std::optional<Hash256> judged;
        if (!l.withholds) {
          PROBITY_ASSIGN_OR_RETURN(auto o, l.trace->Open(i));
          auto j = verifier::JudgeSegment(workloads::EncodeOpening(o), l.trace->commitment(), i,
                                          *cpu_, workloads::DataCatalog::Default());
          if (j.ok()) {
            judged = j->recomputed_output_hash;
          } else if (j.status().code() != Code::kInvalidArgument) {
            return j.status();
          }
        }
        if (!judged) {
          sa->set_withheld(true);
          continue;
        }
        recomputed = *judged;
      }
      sa->set_input_hash(HashBytes(r.input_hash));
      sa->set_output_hash(HashBytes(r.output_hash));
      for (const auto& p : l.trace->Proof(i)) sa->add_proof(HashBytes(p));
      sa->set_recomputed_output_hash(HashBytes(recomputed));
    }
    return msg;
  }

  // Bonds back what slashes took and refreshes a provider's offer.
  Status Restake(int a) {
    auto target = target_stake_.find(a);
    if (target == target_stake_.end()) return Status::OK();
    PROBITY_ASSIGN_OR_RETURN(auto s, chain_->Stake(a));
    const uint64_t bonded = s.stake().bonded();
    if (bonded >= target->second) return Status::OK();
    PROBITY_ASSIGN_OR_RETURN(Bytes bond, chain_->Tx(a, kMsgBond, BondMsg(target->second - bonded)));
    next_.push_back(std::move(bond));
    if (a <= providers_) {
      market::v1::MsgUpdateOffer u;
      u.set_offer_id(HashBytes(offer_of_.at(a)));
      for (const auto& kp : Prices(c_.price_per_unit)) *u.add_prices() = kp;
      u.set_capacity(c_.capacity);
      u.set_expires_at(chain_->height() + kOfferLifetime);
      PROBITY_ASSIGN_OR_RETURN(Bytes t, chain_->Tx(a, kMsgUpdateOffer, u));
      next_.push_back(std::move(t));
    }
    return Status::OK();
  }

  SimConfig c_;
  std::mt19937_64 rng_;
  std::unique_ptr<SimChain> chain_;
  std::unique_ptr<workloads::Backend> cpu_;
  std::vector<Template> templates_;
  int providers_ = 0;
  std::map<int, uint64_t> target_stake_;
  std::map<int, Hash256> offer_of_;
  std::map<Hash256, Live> live_;
  std::map<Hash256, size_t> index_;
  // Transactions for a later block, by height, signed when that block is assembled.
  std::map<uint64_t, std::vector<std::function<Result<Bytes>()>>> due_;
  std::vector<Bytes> next_;  // transactions for the next block
  uint64_t waiting_ = 0, assigned_ = 0, busy_ = 0;
  SimResult result_;
};

}  // namespace

std::string_view BehaviourName(Behaviour b) {
  switch (b) {
    case Behaviour::kHonest:
      return "honest";
    case Behaviour::kCorrupt:
      return "corrupt";
    case Behaviour::kRandomOutputs:
      return "random-outputs";
    case Behaviour::kReplay:
      return "replay";
    case Behaviour::kOtherModel:
      return "other-model";
    case Behaviour::kWithhold:
      return "withhold";
  }
  return "?";
}

std::string SimDefaultStakingJson() {
  return R"({"params":{"min_provider_stake":"1000000","min_verifier_stake":"1000000",
            "unbonding_blocks":"100000","jail_after_faults":4000000000,
            "fault_window_blocks":"1","jail_blocks":"1","max_unbonding_entries":4}})";
}

std::string SimDefaultMarketJson() {
  return R"({"params":{"max_price_per_unit":"1000000","max_units":"1000000",
            "min_verification_level":1,"max_verification_level":64,
            "verify_fee_per_sample":"100","max_capacity":64,
            "max_order_lifetime_blocks":"100000","max_offer_lifetime_blocks":"10000000",
            "min_deadline_blocks":"2","max_deadline_blocks":"1000","recent_trades":8,
            "max_match_scan":1000}})";
}

std::string SimDefaultJobsJson() {
  return R"({"params":{"reveal_window_blocks":"3","attest_window_blocks":"3",
            "challenge_window_blocks":"3","opening_window_blocks":"3","challenge_bond":"5000",
            "cheat_slash_ppm":10000,"withhold_slash_ppm":10000,"commit_timeout_slash_ppm":10000,
            "negligent_verifier_slash_ppm":10000,"false_report_slash_ppm":10000,
            "attest_timeout_slash_ppm":10000,"challenger_reward_ppm":500000,
            "max_verifier_rounds":3,"max_segment_count":"100000","max_result_bytes":"1000000000",
            "max_opening_bytes":"4194304"}})";
}

Result<SimResult> RunSimulation(const SimConfig& config) {
  Simulation sim(config);
  return sim.Run();
}

std::vector<std::string> CheckPromises(const SimConfig& config, const SimResult& r) {
  std::vector<std::string> broken;
  auto note = [&](const JobRecord& j, const std::string& what) {
    broken.push_back("job " + ToHex(j.id) + ": " + what);
  };
  for (const auto& j : r.jobs) {
    if (j.end != jobs::v1::JOB_STATE_SETTLED && j.end != jobs::v1::JOB_STATE_SLASHED) {
      note(j, "did not end settled or slashed");
      continue;
    }
    if (j.group < 0) {
      note(j, "was never assigned");
      continue;
    }
    const bool slashed = j.end == jobs::v1::JOB_STATE_SLASHED;
    if (config.groups[j.group].behaviour == Behaviour::kHonest) {
      if (slashed) note(j, "an honest provider was slashed");
      continue;
    }
    const bool sampled_bad =
        std::any_of(j.sample.begin(), j.sample.end(), [&](uint64_t i) { return j.bad.count(i); });
    const bool audited_bad = j.audited && j.bad.count(*j.audited);
    const bool caught = audited_bad || (!j.lazy_verifier && sampled_bad);
    if (slashed != caught) {
      note(j, std::string(slashed ? "slashed" : "not slashed") + " though its sample " +
                  (sampled_bad ? "hit" : "missed") + " a bad segment and the audit " +
                  (audited_bad ? "did" : "did not") + " (verifier " +
                  (j.lazy_verifier ? "lazy" : "honest") + ")");
    }
  }
  for (int a = 1; a < r.first_verifier; ++a) {
    const int g = r.group_of[a];
    if (g >= 0 && config.groups[g].behaviour == Behaviour::kHonest &&
        r.after.at(a).stake < r.before.at(a).stake) {
      broken.push_back("honest provider " + std::to_string(a) + " lost stake");
    }
  }
  for (int v = r.first_verifier; v < r.first_lazy_verifier; ++v) {
    if (r.after.at(v).stake < r.before.at(v).stake) {
      broken.push_back("honest verifier " + std::to_string(v) + " lost stake");
    }
  }
  return broken;
}

}  // namespace probity::marketsim
