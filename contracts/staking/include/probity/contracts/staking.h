// The staking module: bonded stake of providers and verifiers, unbonding, slashing, jailing
// and the stake-weighted verifier rotation.
//
// Stake is held by the module account ModuleAccount("staking"); bonding and unbonding are bank
// transfers to and from it. Unbonded stake is paid back unbonding_blocks later (EndBlock) and
// stays slashable until then, so a provider cannot escape a slash by unbonding right after
// cheating.
//
// Slashing redistributes, never burns: Slash() takes a fraction of the offender's stake and
// pays the shares the caller names (the jobs module: a challenger's reward, a buyer's
// compensation) and the rest to the community pool ModuleAccount("community_pool"). The total
// supply therefore never changes. Every slash counts a fault; jail_after_faults faults within
// fault_window_blocks jail the account: no offer of it is matched and it leaves the verifier
// rotation until it sends MsgUnjail, allowed jail_blocks later.
//
// Locks: while an account has unsettled jobs (a provider) or unsettled attestations (a
// verifier), the jobs module holds locks on it (Lock/Unlock) and MsgUnbond may not take its
// bonded stake below min_provider_stake, so that the stake a dispute may slash is still there
// however long the dispute takes.
//
// Verifier rotation: accounts that opted in (MsgSetVerifier), are not jailed and have at least
// min_verifier_stake bonded have weight = bonded stake. PickVerifier(seed, exclude) draws
//   r = first 8 bytes, little-endian, of tagged_hash("probity/verifier", seed),
//   t = floor(r * W / 2^64)       (W = total weight of the eligible, not excluded, verifiers)
// and returns the verifier whose cumulative weight interval, in key (account byte) order,
// contains t. Anyone can recompute it from the "staking/verifiers" query.
//
// State (under "staking/"):
//   "params"                          Params
//   "s/" + account                    Stake
//   "uq/" + u64be(height) + account   u64 amount unbonding until height (the payout queue)
//   "ua/" + account + u64be(height)   empty; the same entries by account (for slashing)
//   "v/" + account                    u64 weight of an eligible verifier
//   "vw"                              u64 sum of the weights
//   "total"                           u64 bonded + unbonding of everyone: the module account's
//                                     balance, always
//   "l/" + account                    u64 locks held by the jobs module
// Messages: MsgBond, MsgUnbond, MsgSetVerifier, MsgUnjail (proto/probity/staking/v1).
// Events: staking.bond, staking.unbond, staking.unbonded, staking.slash, staking.jail,
// staking.unjail, staking.verifier.
// Queries: "staking/stake", "staking/verifiers", "staking/params".
//
// Thread-safety: as ledger::Module.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "probity/contracts/bank.h"
#include "probity/ledger/module.h"
#include "probity/staking/v1/staking.pb.h"

namespace probity::contracts {

class Staking final : public ledger::Module {
 public:
  static constexpr std::string_view kName = "staking";
  static constexpr std::string_view kCommunityPool = "community_pool";

  // `bank` must outlive the module.
  explicit Staking(Bank* bank) : bank_(bank) {}

  static staking::v1::Params DefaultParams();
  // The "staking" section `probity init` writes into genesis.json.
  static std::string DefaultGenesisJson();
  static Status ValidateParams(const staking::v1::Params& p);

  // Derived once: finding the key searches for a point on the curve.
  static const XOnlyPubKey& ModuleAccount() {
    static const XOnlyPubKey account = Bank::ModuleAccount(kName);
    return account;
  }
  static const XOnlyPubKey& CommunityPool() {
    static const XOnlyPubKey account = Bank::ModuleAccount(kCommunityPool);
    return account;
  }

  // --- the API of the market and jobs modules ---
  // REQUIRES: genesis ran. The pointer stays valid for the module's life.
  Result<const staking::v1::Params*> Params(ledger::Context& ctx);
  // The account's stake (an empty record when it never bonded).
  Result<staking::v1::Stake> GetStake(ledger::Context& ctx, const XOnlyPubKey& account);
  // Bonded >= min_provider_stake and not jailed.
  Result<bool> EligibleProvider(ledger::Context& ctx, const XOnlyPubKey& account);

  struct SlashShare {
    XOnlyPubKey to{};
    uint32_t ppm = 0;  // of the amount slashed
  };
  // Takes fraction_ppm of the offender's slashable stake (bonded first, then its unbonding
  // entries, newest first), pays each share and the remainder to the community pool, counts a
  // fault (jailing at jail_after_faults) and emits staking.slash. Returns the amount taken (0
  // when the offender has no stake; the fault still counts).
  // REQUIRES: fraction_ppm <= 1e6 and the shares' ppm sum <= 1e6 (kInvalidArgument otherwise).
  Result<uint64_t> Slash(ledger::Context& ctx, const XOnlyPubKey& offender, uint32_t fraction_ppm,
                         std::string_view reason, std::span<const SlashShare> shares);

  // Counts one more / one fewer unsettled job (or attestation) of `account`.
  Status Lock(ledger::Context& ctx, const XOnlyPubKey& account);
  Status Unlock(ledger::Context& ctx, const XOnlyPubKey& account);

  // The verifier for `seed` (see above), or nullopt when no eligible verifier is left.
  Result<std::optional<XOnlyPubKey>> PickVerifier(ledger::Context& ctx, const Hash256& seed,
                                                  std::span<const XOnlyPubKey> exclude);

  // --- ledger::Module ---
  std::string_view Name() const override { return kName; }
  std::vector<std::string> MessageTypes() const override;
  std::vector<std::string> ScanPrefixes() const override { return {"uq/", "ua/", "v/"}; }
  Status InitGenesis(ledger::Context& ctx, std::string_view section_json) override;
  Status ValidateMsg(const types::v1::Msg& msg) const override;
  Status HandleMsg(ledger::Context& ctx, const ledger::TxInfo& tx,
                   const types::v1::Msg& msg) override;
  Status EndBlock(ledger::Context& ctx) override;
  Result<Bytes> Query(const ledger::QueryContext& ctx, std::string_view path,
                      ByteView request) const override;

 private:
  Status Bond(ledger::Context& ctx, const XOnlyPubKey& account, uint64_t amount);
  Status Unbond(ledger::Context& ctx, const XOnlyPubKey& account, uint64_t amount);
  Status SetVerifier(ledger::Context& ctx, const XOnlyPubKey& account, bool enabled);
  Status Unjail(ledger::Context& ctx, const XOnlyPubKey& account);
  Status PutStake(ledger::Context& ctx, const XOnlyPubKey& account,
                  const staking::v1::Stake& stake);
  Status AddTotal(ledger::Context& ctx, uint64_t add, uint64_t sub);

  Bank* bank_;
  // Params never change after genesis; cached for the execution thread only (Query reads
  // state).
  std::optional<staking::v1::Params> params_;
};

}  // namespace probity::contracts
