// The bank module: balances, transfers and the ledger's fees.
//
// State (under "bank/"):
//   "bank/b/" + account(32)  -> u64 LE balance; absent means 0 (a zero balance is deleted)
//   "bank/supply"            -> u64 LE total supply; equal to the sum of all balances, always
// Message: probity.bank.v1.MsgSend {to, amount} moves `amount` from the signer to `to` and
// emits "bank.transfer" {sender, recipient, amount} (sender and recipient indexed, as
// bech32m addresses). Fees go to the module account "fee_collector". The chain does not check
// that `to` is a point on the curve: it cannot tell a key nobody holds from one somebody does,
// so the check would catch only a sliver of the mistakes it suggests it catches, at a quarter
// of a signature check per transfer; clients get the real protection from bech32m addresses,
// which only decode to valid keys.
// Queries: "bank/balance" (QueryBalanceRequest -> QueryBalanceResponse), "bank/supply"
// (-> QuerySupplyResponse). For proofs, query the raw key BalanceKey(account) instead.
//
// Other modules move funds with Transfer(), passing the Context they were given; escrow is a
// transfer to the module's own account (ModuleAccount("market")) and back. Amounts are u64
// with checked arithmetic; nothing here creates or destroys funds after genesis, so the total
// supply is constant.
//
// Thread-safety: as ledger::Module (module.h).
#pragma once

#include <string>
#include <string_view>

#include "probity/ledger/module.h"

namespace probity::contracts {

class Bank final : public ledger::Module, public ledger::FeePayer {
 public:
  static constexpr std::string_view kName = "bank";
  static constexpr std::string_view kMsgSend = "probity.bank.v1.MsgSend";
  static constexpr std::string_view kTransferEvent = "bank.transfer";
  static constexpr std::string_view kFeeCollector = "fee_collector";

  // Full state key of `account`'s balance ("bank/b/" + 32 bytes), for store queries.
  static Bytes BalanceKey(const XOnlyPubKey& account);
  static Bytes SupplyKey();
  // Decodes a stored balance (absent = 0). kCorruption for a value that is not 8 bytes.
  static Result<uint64_t> DecodeAmount(const std::optional<Bytes>& value);

  // The account of a module (no one holds its secret key): the first x-only key on the curve
  // among tagged_hash("probity/module-account", name || u32 LE counter), counter = 0, 1, ...
  static XOnlyPubKey ModuleAccount(std::string_view module_name);

  // --- the API other modules use ---
  Result<uint64_t> Balance(ledger::Context& ctx, const XOnlyPubKey& account);
  Result<uint64_t> Balance(const ledger::QueryContext& ctx, const XOnlyPubKey& account) const;
  Result<uint64_t> Supply(ledger::Context& ctx);
  // kFailedPrecondition "insufficient funds: ..." when `from` holds less than `amount`
  // (nothing written then); kInvalidArgument for amount 0. Emits kTransferEvent.
  Status Transfer(ledger::Context& ctx, const XOnlyPubKey& from, const XOnlyPubKey& to,
                  uint64_t amount);

  // --- ledger::Module ---
  std::string_view Name() const override { return kName; }
  std::vector<std::string> MessageTypes() const override { return {std::string(kMsgSend)}; }
  Status InitGenesis(ledger::Context& ctx, std::string_view section_json) override;
  Status ValidateMsg(const types::v1::Msg& msg) const override;
  Status HandleMsg(ledger::Context& ctx, const ledger::TxInfo& tx,
                   const types::v1::Msg& msg) override;
  Result<Bytes> Query(const ledger::QueryContext& ctx, std::string_view path,
                      ByteView request) const override;

  // --- ledger::FeePayer ---
  Result<uint64_t> FeeBalance(const ledger::QueryContext& ctx,
                              const XOnlyPubKey& account) const override;
  Status ChargeFee(ledger::Context& ctx, const XOnlyPubKey& payer, uint64_t fee) override;

 private:
  Status Move(ledger::Context& ctx, const XOnlyPubKey& from, const XOnlyPubKey& to, uint64_t amount,
              std::string_view what);
};

}  // namespace probity::contracts
