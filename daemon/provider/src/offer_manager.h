// The provider's standing on the market: its bonded stake and its one open Offer.
//
// Setup: bonds the difference when --bond N asks for more than is bonded (MsgBond); reuses an
// open offer of this key that advertises the same endpoint and hardware (market/provider
// query), refreshing it, and cancels open offers that advertise another endpoint or other
// hardware (they would send buyers to the wrong place); posts a new offer only when none is
// left. Tick refreshes the offer (MsgUpdateOffer: standing prices, capacity, a new expiry)
// once three quarters of its lifetime have passed, and posts a new one when the chain closed
// it. A provider below the minimum stake posts nothing and says so, trying again each tick.
// With a pricing command, OnOrderPlaced competes for open orders (pricing.h).
//
// Thread-safety: thread-safe (one mutex; chain calls happen outside it only for reads).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chain_port.h"
#include "metrics.h"
#include "pricing.h"
#include "probity/node/v1/node.pb.h"

namespace probity::provider {

inline constexpr uint64_t kDefaultOfferLifetimeBlocks = 3000;

struct OfferOptions {
  XOnlyPubKey self{};
  std::string endpoint;           // host:port buyers reach the service at
  market::v1::Hardware hardware;  // throughput included
  std::string backend;
  uint32_t capacity = 1;
  uint64_t bond = 0;                                       // bond up to this much; 0: never bond
  uint64_t lifetime_blocks = kDefaultOfferLifetimeBlocks;  // capped by the market's maximum
  std::chrono::milliseconds tx_timeout{30000};
  std::chrono::milliseconds check_interval{1000};  // Tick reads the chain at most this often
};

// Whether `hw` meets an order's constraints (the market's rule).
bool MeetsConstraints(const market::v1::Hardware& hw, const market::v1::HardwareConstraints& c);

class OfferManager {
 public:
  // `running` reports the jobs computing now (for the pricing command).
  OfferManager(OfferOptions options, ChainPort* chain, Pricing* pricing, ProviderMetrics* metrics,
               std::function<uint32_t()> running);

  // Checks the options against the chain's parameters (kInvalidArgument: a capacity or price
  // the market refuses), bonds, then reuses or posts the offer. A provider not yet eligible
  // is not an error: Tick keeps trying.
  Status Setup();
  void Tick();
  // market.offer_closed / market.offer_updated of this provider (the main event follower).
  void OnEvent(const node::v1::EventRecord& record);
  // market.order_placed (the pricing follower).
  void OnOrderPlaced(const node::v1::EventRecord& record);

  std::optional<Hash256> offer_id() const;
  KindPrices prices() const;
  bool eligible() const;

 private:
  PricingContext Context(uint64_t height);
  Status EnsureOffer(uint64_t height);
  Status Post(uint64_t height, const KindPrices& prices);
  Status Refresh(uint64_t height, const KindPrices& prices, std::string_view why);
  static std::vector<market::v1::KindPrice> PriceList(const KindPrices& prices);
  bool SameTerms(const market::v1::Offer& offer) const;

  const OfferOptions options_;
  ChainPort* chain_;
  Pricing* pricing_;
  ProviderMetrics* metrics_;
  std::function<uint32_t()> running_;

  mutable std::mutex mu_;  // serialises offer transactions and guards the fields below
  market::v1::Params market_params_;
  staking::v1::Params staking_params_;
  bool params_loaded_ = false;
  bool eligible_ = false;
  uint64_t lifetime_ = 0;
  std::optional<Hash256> offer_id_;
  uint64_t expires_at_ = 0;
  bool closed_ = true;
  KindPrices prices_;
  std::chrono::steady_clock::time_point next_check_{};
  std::chrono::steady_clock::time_point next_warning_{};
};

}  // namespace probity::provider
