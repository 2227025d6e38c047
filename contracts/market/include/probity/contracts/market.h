// The market module: an order book for GPU compute, matched inside block execution, and the
// escrow of every order.
//
// Offers (providers, who need staking's min_provider_stake) rest in an ask book per job kind;
// orders (buyers) rest in a bid book per job kind. Matching is deterministic:
//   - a new (or re-opened) order takes the cheapest eligible offer with free capacity, ties
//     to the earliest (lowest sequence number); the trade price is the offer's;
//   - a new or refreshed offer (or one whose capacity frees up) takes waiting orders by price
//     (highest first), then time, across the kinds it serves, up to its free capacity; the
//     trade price is each order's maximum.
// Eligible: the provider is not the buyer, its hardware meets the order's constraints, it is
// staked (not jailed, at least min_provider_stake) and the offer has not expired. An offer
// found ineligible by its stake leaves the book until it is refreshed.
//
// Escrow: placing an order moves units * max_price_per_unit + k * verify_fee_per_sample (no
// fee when the buyer verifies itself) from the buyer to ModuleAccount("market"). Cancel or
// expiry before assignment refunds it in full; afterwards the jobs module pays out of it
// (Pay, CloseOrder). Invariant: the module account's balance equals the sum of the orders'
// `escrow` fields.
//
// State (under "market/"), all keys big-endian so that scans walk the book in priority order:
//   "params"                                         Params
//   "seq"                                            u64 time-priority counter
//   "o/" + order_id                                  Order
//   "f/" + offer_id                                  Offer
//   "ask/" + kind + u64 price + u64 seq + offer_id   provider(32) || Hardware: offers with
//                                                    free capacity
//   "bid/" + kind + u64 ~price + u64 seq + order_id  HardwareConstraints: open orders
//   "po/" + provider + offer_id                      empty: a provider's offers
//   "ex/" + u64 height + u8 (1 order | 2 offer) + id empty: expiries
//   "tc/" + kind                                     u64 trades so far of that kind
//   "tr/" + kind + u64 (n mod recent_trades)         Trade: the recent trades ring
//   "pr/" + provider                                 ProviderRecord
// Messages: MsgPostOffer, MsgUpdateOffer, MsgCancelOffer, MsgPlaceOrder, MsgCancelOrder.
// Events: market.offer_posted, market.offer_updated, market.offer_closed,
// market.order_placed, market.order_cancelled, market.order_expired, market.match.
// Queries: "market/order", "market/offer", "market/depth", "market/trades",
// "market/provider", "market/params".
//
// Thread-safety: as ledger::Module.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "probity/contracts/bank.h"
#include "probity/contracts/staking.h"
#include "probity/ledger/module.h"
#include "probity/market/v1/market.pb.h"

namespace probity::contracts {

// Told of every assignment, inside the matching message (the jobs module).
class AssignmentListener {
 public:
  virtual ~AssignmentListener() = default;
  // An error fails the message that matched.
  virtual Status OnAssigned(ledger::Context& ctx, const market::v1::Order& order,
                            const market::v1::Offer& offer) = 0;
};

class Market final : public ledger::Module {
 public:
  static constexpr std::string_view kName = "market";

  // `bank` and `staking` must outlive the module.
  Market(Bank* bank, Staking* staking) : bank_(bank), staking_(staking) {}
  // REQUIRES: set before the first block; `listener` outlives the module.
  void SetAssignmentListener(AssignmentListener* listener) { listener_ = listener; }

  // Time spent in HandleMsg (matching included), for `probity bench market` and metrics. Off
  // by default: no clock is read then. The figures never reach state, so they cannot make two
  // nodes disagree. Execution thread only.
  struct ExecutionStats {
    uint64_t messages = 0;
    double wall_seconds = 0;
    double cpu_seconds = 0;  // of the executing thread
  };
  void CollectStats(bool on) { collect_stats_ = on; }
  const ExecutionStats& stats() const { return stats_; }

  static market::v1::Params DefaultParams();
  static std::string DefaultGenesisJson();
  static Status ValidateParams(const market::v1::Params& p);
  // Derived once: finding the key searches for a point on the curve.
  static const XOnlyPubKey& ModuleAccount() {
    static const XOnlyPubKey account = Bank::ModuleAccount(kName);
    return account;
  }
  static Hash256 OrderId(const Hash256& tx_id);
  static Hash256 OfferId(const Hash256& tx_id);

  // --- the API of the jobs module ---
  // REQUIRES: genesis ran. The pointer stays valid for the module's life.
  Result<const market::v1::Params*> Params(ledger::Context& ctx);
  // kNotFound for an unknown order.
  Result<market::v1::Order> GetOrder(ledger::Context& ctx, const Hash256& order_id);
  // The order in committed state (for other modules' queries); nullopt when unknown.
  Result<std::optional<market::v1::Order>> FindOrder(const ledger::QueryContext& ctx,
                                                     const Hash256& order_id) const;
  // Pays `amount` out of the order's escrow (kFailedPrecondition if it holds less).
  Status Pay(ledger::Context& ctx, const Hash256& order_id, const XOnlyPubKey& to, uint64_t amount);
  // Refunds whatever escrow is left to the buyer and closes the order.
  Status CloseOrder(ledger::Context& ctx, const Hash256& order_id);
  // Puts an assigned order back in the book (it matches at once if it can), never again with
  // `failed_provider`. An order past its expiry is closed and refunded instead; returns whether
  // it re-opened.
  Result<bool> ReopenOrder(ledger::Context& ctx, const Hash256& order_id,
                           const XOnlyPubKey& failed_provider);
  // One job of the offer no longer occupies it (committed or ended): the offer takes waiting
  // orders again.
  Status ReleaseCapacity(ledger::Context& ctx, const Hash256& offer_id);
  Status UpdateProviderRecord(ledger::Context& ctx, const XOnlyPubKey& provider,
                              const std::function<void(market::v1::ProviderRecord&)>& update);

  // --- ledger::Module ---
  std::string_view Name() const override { return kName; }
  std::vector<std::string> MessageTypes() const override;
  std::vector<std::string> ScanPrefixes() const override { return {"ask/", "bid/", "ex/", "po/"}; }
  Status InitGenesis(ledger::Context& ctx, std::string_view section_json) override;
  Status ValidateMsg(const types::v1::Msg& msg) const override;
  Status HandleMsg(ledger::Context& ctx, const ledger::TxInfo& tx,
                   const types::v1::Msg& msg) override;
  Status EndBlock(ledger::Context& ctx) override;
  Result<Bytes> Query(const ledger::QueryContext& ctx, std::string_view path,
                      ByteView request) const override;

 private:
  class Book;
  Status PostOffer(ledger::Context& ctx, const ledger::TxInfo& tx,
                   const market::v1::MsgPostOffer& m);
  Status UpdateOffer(ledger::Context& ctx, const ledger::TxInfo& tx,
                     const market::v1::MsgUpdateOffer& m);
  Status CancelOffer(ledger::Context& ctx, const ledger::TxInfo& tx,
                     const market::v1::MsgCancelOffer& m);
  Status PlaceOrder(ledger::Context& ctx, const ledger::TxInfo& tx,
                    const market::v1::MsgPlaceOrder& m);
  Status CancelOrder(ledger::Context& ctx, const ledger::TxInfo& tx,
                     const market::v1::MsgCancelOrder& m);

  Bank* bank_;
  Staking* staking_;
  AssignmentListener* listener_ = nullptr;
  bool collect_stats_ = false;
  ExecutionStats stats_;
  Status Dispatch(ledger::Context& ctx, const ledger::TxInfo& tx, const types::v1::Msg& msg);
  std::optional<market::v1::Params> params_;  // execution thread only; fixed after genesis
};

}  // namespace probity::contracts
