// TEST ONLY: a chain behind the ChainPort interface, holding jobs and stakes in memory and
// applying the two messages a provider sends about jobs (MsgCommit, MsgPostOpening) the way
// the jobs module does, with switches to lose a commit or its answer.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "chain_port.h"
#include "proto_bytes.h"

namespace probity::provider::testing {

class FakeChain final : public ChainPort {
 public:
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
  Result<std::optional<market::v1::Order>> Order(const Hash256&) override {
    return std::optional<market::v1::Order>();
  }
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
  Result<market::v1::Params> MarketParams() override { return market::v1::Params(); }
  Result<staking::v1::Params> StakingParams() override { return staking::v1::Params(); }
  Result<market::v1::QueryProviderResponse> ProviderOffers(const XOnlyPubKey&) override {
    return market::v1::QueryProviderResponse();
  }

  Result<client::TxOutcome> Send(const google::protobuf::Message& msg,
                                 std::chrono::milliseconds) override {
    std::lock_guard lock(mu_);
    if (down_) return Status::Unavailable("fake chain is down");
    ++height_;
    client::TxOutcome outcome;
    outcome.height = height_;
    if (const auto* c = dynamic_cast<const jobs::v1::MsgCommit*>(&msg)) {
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
    if (const auto* o = dynamic_cast<const jobs::v1::MsgPostOpening*>(&msg)) {
      openings_.push_back(*o);
      return outcome;
    }
    return Status::Unsupported("fake chain: " + msg.GetTypeName());
  }

 private:
  mutable std::mutex mu_;
  std::map<Hash256, jobs::v1::Job> jobs_;
  std::map<XOnlyPubKey, staking::v1::Stake> stakes_;
  uint64_t height_ = 10;
  int commits_applied_ = 0;
  int commit_sends_ = 0;
  std::vector<jobs::v1::MsgPostOpening> openings_;
  bool drop_next_commit_ = false;
  bool lose_next_answer_ = false;
  bool down_ = false;
};

}  // namespace probity::provider::testing
