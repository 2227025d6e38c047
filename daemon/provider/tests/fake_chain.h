// TEST ONLY: a chain behind the ChainPort interface, holding jobs, orders, offers and stakes in
// memory and applying the messages a provider sends (MsgCommit, MsgPostOpening, MsgBond,
// MsgPostOffer, MsgUpdateOffer, MsgCancelOffer) the way the modules do, with switches to lose
// a commit or its answer.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "chain_port.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"
#include "proto_bytes.h"

namespace probity::provider::testing {

class FakeChain final : public ChainPort {
 public:
  // The account whose key signs what Send sends (the provider).
  explicit FakeChain(XOnlyPubKey signer = {}) : signer(signer) {}
  const XOnlyPubKey signer;

  void PutJob(const jobs::v1::Job& job) {
    std::lock_guard lock(mu_);
    jobs_[*Hash256Field(job.id(), "id")] = job;
  }
  std::optional<jobs::v1::Job> GetJob(const Hash256& id) {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return std::nullopt;
    return it->second;
  }
  void PutStake(const XOnlyPubKey& who, const staking::v1::Stake& stake) {
    std::lock_guard lock(mu_);
    stakes_[who] = stake;
  }
  void SetHeight(uint64_t h) {
    std::lock_guard lock(mu_);
    height_ = h;
  }

  // MsgCommit transactions that were applied / attempted.
  int commits_applied() const {
    std::lock_guard lock(mu_);
    return commits_applied_;
  }
  int commit_sends() const {
    std::lock_guard lock(mu_);
    return commit_sends_;
  }
  std::vector<jobs::v1::MsgPostOpening> openings() const {
    std::lock_guard lock(mu_);
    return openings_;
  }
  // The next MsgCommit is lost before the chain sees it (the sender gets a timeout).
  void DropNextCommit() {
    std::lock_guard lock(mu_);
    drop_next_commit_ = true;
  }
  // The next MsgCommit lands, but its sender only gets a timeout.
  void LoseNextCommitAnswer() {
    std::lock_guard lock(mu_);
    lose_next_answer_ = true;
  }
  // The chain is unreachable.
  void SetDown(bool down) {
    std::lock_guard lock(mu_);
    down_ = down;
  }

  Result<std::optional<jobs::v1::Job>> Job(const Hash256& id) override {
    std::lock_guard lock(mu_);
    if (down_) return Status::Unavailable("fake chain is down");
    auto it = jobs_.find(id);
    if (it == jobs_.end()) return std::optional<jobs::v1::Job>();
    return std::optional<jobs::v1::Job>(it->second);
  }
  Result<std::optional<market::v1::Order>> Order(const Hash256& id) override {
    std::lock_guard lock(mu_);
    auto it = orders_.find(id);
    if (it == orders_.end()) return std::optional<market::v1::Order>();
    return std::optional<market::v1::Order>(it->second);
  }
  void PutOrder(const market::v1::Order& o) {
    std::lock_guard lock(mu_);
    orders_[*Hash256Field(o.id(), "id")] = o;
  }
  void PutOffer(const market::v1::Offer& o) {
    std::lock_guard lock(mu_);
    offers_[*Hash256Field(o.id(), "id")] = o;
  }
  std::vector<market::v1::Offer> AllOffers() const {
    std::lock_guard lock(mu_);
    std::vector<market::v1::Offer> out;
    for (const auto& [id, o] : offers_) out.push_back(o);
    return out;
  }
  // Type names of every message sent, in order.
  std::vector<std::string> sent() const {
    std::lock_guard lock(mu_);
    return sent_;
  }
  market::v1::Params market_params;
  staking::v1::Params staking_params;
  Result<staking::v1::Stake> Stake(const XOnlyPubKey& who) override {
    std::lock_guard lock(mu_);
    if (down_) return Status::Unavailable("fake chain is down");
    auto it = stakes_.find(who);
    return it == stakes_.end() ? staking::v1::Stake() : it->second;
  }
  Result<uint64_t> Height() override {
    std::lock_guard lock(mu_);
    if (down_) return Status::Unavailable("fake chain is down");
    return height_;
  }
  Result<market::v1::Params> MarketParams() override { return market_params; }
  Result<staking::v1::Params> StakingParams() override { return staking_params; }
  Result<market::v1::QueryProviderResponse> ProviderOffers(const XOnlyPubKey& who) override {
    std::lock_guard lock(mu_);
    market::v1::QueryProviderResponse r;
    for (const auto& [id, o] : offers_) {
      if (FieldIs(o.provider(), who)) *r.add_offers() = o;
    }
    return r;
  }

  Result<client::TxOutcome> Send(const google::protobuf::Message& msg,
                                 std::chrono::milliseconds) override {
    std::lock_guard lock(mu_);
    if (down_) return Status::Unavailable("fake chain is down");
    ++height_;
    client::TxOutcome outcome;
    outcome.height = height_;
    if (const auto* c = dynamic_cast<const jobs::v1::MsgCommit*>(&msg)) {
      sent_.push_back(msg.GetTypeName());
      ++commit_sends_;
      if (drop_next_commit_) {
        drop_next_commit_ = false;
        return Status::DeadlineExceeded("fake chain: the commit was lost");
      }
      auto it = jobs_.find(*Hash256Field(c->job_id(), "id"));
      if (it == jobs_.end() || it->second.state() != jobs::v1::JOB_STATE_ASSIGNED) {
        return Status::FailedPrecondition("fake chain: the job takes no commit now");
      }
      jobs::v1::Job& j = it->second;
      j.set_state(jobs::v1::JOB_STATE_COMMITTED);
      j.set_output_hash(c->output_hash());
      j.set_trace_root(c->trace_root());
      j.set_segment_count(c->segment_count());
      j.set_result_bytes(c->result_bytes());
      j.set_commit_height(height_);
      ++commits_applied_;
      if (lose_next_answer_) {
        lose_next_answer_ = false;
        return Status::DeadlineExceeded("fake chain: no answer");
      }
      return outcome;
    }
    sent_.push_back(msg.GetTypeName());
    if (const auto* o = dynamic_cast<const jobs::v1::MsgPostOpening*>(&msg)) {
      openings_.push_back(*o);
      return outcome;
    }
    if (const auto* b = dynamic_cast<const staking::v1::MsgBond*>(&msg)) {
      auto& stake = stakes_[signer];
      stake.set_bonded(stake.bonded() + b->amount());
      return outcome;
    }
    if (const auto* p = dynamic_cast<const market::v1::MsgPostOffer*>(&msg)) {
      market::v1::Offer o;
      const Hash256 id = Sha256(AsBytes("offer " + std::to_string(++offers_posted_)));
      o.set_id(FieldOf(id));
      o.set_provider(FieldOf(signer));
      *o.mutable_hardware() = p->hardware();
      *o.mutable_prices() = p->prices();
      o.set_capacity(p->capacity());
      o.set_endpoint(p->endpoint());
      o.set_expires_at(p->expires_at());
      offers_[id] = o;
      auto* e = outcome.result.add_events();
      e->set_type("market.offer_posted");
      auto* a = e->add_attributes();
      a->set_key("offer_id");
      a->set_value(ToHex(id));
      return outcome;
    }
    if (const auto* u = dynamic_cast<const market::v1::MsgUpdateOffer*>(&msg)) {
      auto it = offers_.find(*Hash256Field(u->offer_id(), "id"));
      if (it == offers_.end() || it->second.closed()) {
        return Status::FailedPrecondition("fake chain: the offer is closed");
      }
      *it->second.mutable_prices() = u->prices();
      it->second.set_capacity(u->capacity());
      it->second.set_expires_at(u->expires_at());
      return outcome;
    }
    if (const auto* c = dynamic_cast<const market::v1::MsgCancelOffer*>(&msg)) {
      auto it = offers_.find(*Hash256Field(c->offer_id(), "id"));
      if (it == offers_.end()) return Status::NotFound("fake chain: no such offer");
      it->second.set_closed(true);
      return outcome;
    }
    return Status::Unsupported("fake chain: " + msg.GetTypeName());
  }

 private:
  mutable std::mutex mu_;
  std::map<Hash256, jobs::v1::Job> jobs_;
  std::map<XOnlyPubKey, staking::v1::Stake> stakes_;
  std::map<Hash256, market::v1::Order> orders_;
  std::map<Hash256, market::v1::Offer> offers_;
  std::vector<std::string> sent_;
  int offers_posted_ = 0;
  uint64_t height_ = 10;
  int commits_applied_ = 0;
  int commit_sends_ = 0;
  std::vector<jobs::v1::MsgPostOpening> openings_;
  bool drop_next_commit_ = false;
  bool lose_next_answer_ = false;
  bool down_ = false;
};

}  // namespace probity::provider::testing
