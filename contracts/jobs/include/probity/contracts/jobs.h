// The jobs module: the life of a job after the market assigns it, spot-check verification by
// sampled re-execution, and disputes settled on chain by the verifier library's referee.
//
//   (market) open ──match──▶ ASSIGNED ──MsgCommit──▶ COMMITTED ──MsgReveal / reveal window──▶
//   SAMPLED ──MsgAttest (all equal)──▶ VERIFIED ──challenge window──▶ SETTLED
//   ASSIGNED ──commit deadline──▶ EXPIRED (small slash; the order re-opens or is refunded)
//   COMMITTED | SAMPLED | VERIFIED ──MsgChallenge──▶ DISPUTED
//   SAMPLED ──MsgAttest (a mismatch or a withheld opening)──▶ DISPUTED
//   DISPUTED ──MsgPostOpening, re-executes to another hash──▶ SLASHED
//   DISPUTED ──opening window passes──▶ SLASHED (withholding)
//   DISPUTED ──MsgPostOpening, re-executes to the committed hash──▶ challenger lost: back to
//             the state the dispute interrupted (a false mismatch report instead brings a new
//             verifier; a withheld claim lets the same verifier attest again)
// docs/protocol.md states every transition, its deadline and who pays whom.
//
// Sampling (verifier/sampling.h): seed = SampleSeed(job_id, secret or none, hash of block
// commit_height + 1), indices = SampleIndices(seed, segment_count, k). The block hash is read
// from BlockInfo.prev_block_hash of block commit_height + 2, so the buyer may reveal from that
// block until commit_height + 1 + reveal_window_blocks; then the no-secret seed applies.
// The verifier is Staking::PickVerifier(round seed, excluding the provider and verifiers that
// failed this job), where the round seed is the sampling seed for round 1 and
// tagged_hash("probity/verifier-round", seed || u32le(round)) after; the buyer when it chose to
// self-verify or when no verifier is bonded.
//
// Money: the escrow stays in the market (Market::Pay / CloseOrder). Challenge bonds sit in
// ModuleAccount("jobs"): its balance always equals the bonds of open disputes. Slashes go
// through Staking::Slash (redistributed, never burnt).
//
// State (under "jobs/"):
//   "params"                                   Params
//   "j/" + job_id                              Job
//   "t/" + u64 height + u8 kind + job_id       timers, run in EndBlock of that height:
//                                              kind 0 captures the seed block hash,
//                                              kind 1 is the job's current deadline
// Messages: MsgCommit, MsgReveal, MsgAttest, MsgChallenge, MsgPostOpening.
// Events (job_id, buyer, provider, verifier and challenger indexed): jobs.assigned,
// jobs.committed, jobs.revealed, jobs.sampled, jobs.attested, jobs.verified, jobs.settled,
// jobs.disputed, jobs.opening_posted, jobs.challenger_lost, jobs.slashed, jobs.expired,
// jobs.verifier_replaced.
// Queries: "jobs/job", "jobs/sample", "jobs/params".
//
// Thread-safety: as ledger::Module.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "probity/contracts/bank.h"
#include "probity/contracts/market.h"
#include "probity/contracts/staking.h"
#include "probity/jobs/v1/jobs.pb.h"
#include "probity/ledger/module.h"
#include "probity/verifier/referee.h"

namespace probity::contracts {

class Jobs final : public ledger::Module, public AssignmentListener {
 public:
  static constexpr std::string_view kName = "jobs";

  // The modules must outlive this one; `referee` judges disputes (owned).
  Jobs(Bank* bank, Staking* staking, Market* market, std::unique_ptr<verifier::Referee> referee);

  static jobs::v1::Params DefaultParams();
  static std::string DefaultGenesisJson();
  static Status ValidateParams(const jobs::v1::Params& p);
  static const XOnlyPubKey& ModuleAccount() {
    static const XOnlyPubKey account = Bank::ModuleAccount(kName);
    return account;
  }

  // --- AssignmentListener (called by the market inside the matching message) ---
  Status OnAssigned(ledger::Context& ctx, const market::v1::Order& order,
                    const market::v1::Offer& offer) override;

  // --- ledger::Module ---
  std::string_view Name() const override { return kName; }
  std::vector<std::string> MessageTypes() const override;
  std::vector<std::string> ScanPrefixes() const override { return {"t/"}; }
  Status InitGenesis(ledger::Context& ctx, std::string_view section_json) override;
  Status ValidateMsg(const types::v1::Msg& msg) const override;
  Status HandleMsg(ledger::Context& ctx, const ledger::TxInfo& tx,
                   const types::v1::Msg& msg) override;
  Status EndBlock(ledger::Context& ctx) override;
  Result<Bytes> Query(const ledger::QueryContext& ctx, std::string_view path,
                      ByteView request) const override;

 private:
  class Lifecycle;

  Bank* bank_;
  Staking* staking_;
  Market* market_;
  std::unique_ptr<verifier::Referee> referee_;
  std::optional<jobs::v1::Params> params_;  // execution thread only; fixed after genesis
};

}  // namespace probity::contracts
