// Prices per unit of work for each job kind (ParsePriceList, provider.h, reads them): fixed by the
// operator (--price KIND=N), or asked of an external command (--pricing-command CMD), as Akash
// providers' bid scripts are.
//
// The pricing command protocol (docs/operators.md): the daemon runs `/bin/sh -c CMD` with one
// JSON object on standard input, then closes it:
//   {"version": 1,
//    "purpose": "standing" | "order",
//    "kind": "train-classifier" | "infer-classifier",
//    "height": H,                          the chain's height when asked
//    "current_price_per_unit": P,          this provider's price for the kind now (0: none)
//    "static_price_per_unit": S,           the --price for the kind (0: none)
//    "max_price_per_unit": M,              the market's ceiling
//    "provider": {"address": "prb1…", "backend": "cpu", "gpu_model": "cpu", "gpu_count": 1,
//                 "memory_mib": N, "compute_capability": 0, "throughput": N,
//                 "capacity": N, "running": N},
//    "order": {"id": "<hex>", "buyer": "prb1…", "units": N, "max_price_per_unit": N,
//              "verification_level": K, "deadline_blocks": N, "self_verify": false,
//              "expires_at": H}                                       (purpose "order" only)
//   }
// and reads one answer from standard output: a decimal integer price per unit in
// [1, max_price_per_unit], or the word `skip`, surrounded by whitespace only.
//   "standing": asked for each kind when the offer is posted and at every refresh. The answer
//     is the kind's price in the offer; `skip` leaves the kind out of the offer.
//   "order": asked for an order of a kind the provider serves that stayed in the book
//     unmatched (it saw market.order_placed, the order is still open after its block, its
//     constraints fit this hardware and a slot is free). An answer below the current price
//     and within the order's maximum lowers the offer's price for that kind to it
//     (MsgUpdateOffer), and the refreshed offer takes the waiting orders it now can (the
//     trade price of a refresh match is each order's maximum); the lowered price stands until
//     the next refresh asks for the standing price again. `skip`, or a price the order cannot
//     pay, lets the order go.
// A command that fails, exits non-zero, runs past its timeout (5 s; it is killed) or prints
// anything else is logged as an error and its answer ignored: for a standing price the static
// price applies, else the previous standing price, else the kind is not offered.
//
// Thread-safety: thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <variant>

#include "probity/market/v1/market.pb.h"
#include "probity/primitives/status.h"
#include "probity/provider/provider.h"

namespace probity::provider {

using KindPrices = std::map<market::v1::JobKind, uint64_t>;

struct PricingConfig {
  KindPrices static_prices;
  std::string command;  // empty: static prices only
  std::chrono::milliseconds timeout{5000};
};

// What the command is told about the provider.
struct PricingContext {
  std::string address;  // bech32m
  std::string backend;
  market::v1::Hardware hardware;
  uint32_t capacity = 0;
  uint32_t running = 0;
  uint64_t height = 0;
  uint64_t max_price_per_unit = 0;  // the market's
  KindPrices current;               // the offer's prices now
};

// The command's answer: a price, or nullopt for `skip`. kInvalidArgument for anything else,
// including a price outside [1, max].
Result<std::optional<uint64_t>> ParsePriceAnswer(std::string_view output, uint64_t max);

// The JSON the command receives (see above); `order` only for purpose "order".
std::string PricingRequestJson(std::string_view purpose, market::v1::JobKind kind,
                               const PricingContext& ctx, uint64_t static_price,
                               const market::v1::Order* order);

class Pricing {
 public:
  explicit Pricing(PricingConfig config) : config_(std::move(config)) {}

  bool has_command() const { return !config_.command.empty(); }
  // The kinds this provider may serve: those with a static price, or every kind with a
  // command.
  std::vector<market::v1::JobKind> Kinds() const;
  // The standing prices of the offer (the kinds to leave out are absent).
  KindPrices StandingPrices(const PricingContext& ctx);
  // The command's price for an open order; nullopt when it skipped, failed or there is none.
  std::optional<uint64_t> PriceForOrder(const market::v1::Order& order, const PricingContext& ctx);

 private:
  Result<std::optional<uint64_t>> Ask(std::string_view purpose, market::v1::JobKind kind,
                                      const PricingContext& ctx, const market::v1::Order* order);

  const PricingConfig config_;
  std::mutex mu_;
  KindPrices last_standing_;  // guarded by mu_
};

std::string_view KindName(market::v1::JobKind kind);
// kInvalidArgument for a name other than "train-classifier" and "infer-classifier".
Result<market::v1::JobKind> KindFromName(std::string_view name);

}  // namespace probity::provider
