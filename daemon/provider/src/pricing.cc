#include "pricing.h"

#include <sstream>

#include "external_command.h"
#include "probity/observe/observe.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "proto_bytes.h"

namespace probity::provider {
namespace {

using market::v1::JobKind;

constexpr JobKind kAllKinds[] = {market::v1::JOB_KIND_TRAIN_CLASSIFIER,
                                 market::v1::JOB_KIND_INFER_CLASSIFIER};

std::string_view Trim(std::string_view s) {
  const char* ws = " \t\r\n";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

Result<uint64_t> ParseU64(std::string_view s, std::string_view what) {
  if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + " '" + std::string(s) +
                                   "' is not a whole number");
  }
  unsigned __int128 v = 0;
  for (char c : s) v = v * 10 + static_cast<unsigned>(c - '0');
  if (v > UINT64_MAX) return Status::OutOfRange(std::string(what) + " is too large");
  return static_cast<uint64_t>(v);
}

// The strings this JSON carries are names, hex and addresses; escape anyway.
std::string Quote(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      o += buf;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

uint64_t PriceOf(const KindPrices& prices, JobKind kind) {
  auto it = prices.find(kind);
  return it == prices.end() ? 0 : it->second;
}

}  // namespace

std::string_view KindName(JobKind kind) {
  switch (kind) {
    case market::v1::JOB_KIND_TRAIN_CLASSIFIER:
      return "train-classifier";
    case market::v1::JOB_KIND_INFER_CLASSIFIER:
      return "infer-classifier";
    default:
      return "unspecified";
  }
}

Result<JobKind> KindFromName(std::string_view name) {
  for (JobKind k : kAllKinds) {
    if (KindName(k) == name) return k;
  }
  return Status::InvalidArgument("unknown job kind '" + std::string(name) +
                                 "' (train-classifier or infer-classifier)");
}

Status ParsePriceList(std::string_view text, KindPrices* prices) {
  std::string_view rest = text;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("a price is KIND=PRICE_PER_UNIT, got '" + std::string(item) +
                                     "'");
    }
    PROBITY_ASSIGN_OR_RETURN(JobKind kind, KindFromName(Trim(item.substr(0, eq))));
    PROBITY_ASSIGN_OR_RETURN(uint64_t price, ParseU64(Trim(item.substr(eq + 1)), "price"));
    if (price == 0) return Status::InvalidArgument("a price per unit must be at least 1");
    if (!prices->emplace(kind, price).second) {
      return Status::InvalidArgument("the price of " + std::string(KindName(kind)) +
                                     " is given twice");
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return Status::OK();
}

Result<std::optional<uint64_t>> ParsePriceAnswer(std::string_view output, uint64_t max) {
  std::string_view answer = Trim(output);
  if (answer == "skip") return std::optional<uint64_t>();
  auto price = ParseU64(answer, "the pricing command's answer");
  if (!price.ok()) {
    return Status::InvalidArgument(
        "the pricing command must print a price per unit or 'skip', got '" +
        std::string(answer.substr(0, 64)) + "'");
  }
  if (*price == 0 || *price > max) {
    return Status::InvalidArgument("the pricing command's price " + std::to_string(*price) +
                                   " is outside 1.." + std::to_string(max));
  }
  return std::optional<uint64_t>(*price);
}

std::string PricingRequestJson(std::string_view purpose, JobKind kind, const PricingContext& ctx,
                               uint64_t static_price, const market::v1::Order* order) {
  std::ostringstream o;
  o << "{\"version\":1,\"purpose\":" << Quote(purpose) << ",\"kind\":" << Quote(KindName(kind))
    << ",\"height\":" << ctx.height << ",\"current_price_per_unit\":" << PriceOf(ctx.current, kind)
    << ",\"static_price_per_unit\":" << static_price
    << ",\"max_price_per_unit\":" << ctx.max_price_per_unit
    << ",\"provider\":{\"address\":" << Quote(ctx.address) << ",\"backend\":" << Quote(ctx.backend)
    << ",\"gpu_model\":" << Quote(ctx.hardware.gpu_model())
    << ",\"gpu_count\":" << ctx.hardware.gpu_count()
    << ",\"memory_mib\":" << ctx.hardware.memory_mib()
    << ",\"compute_capability\":" << ctx.hardware.compute_capability()
    << ",\"throughput\":" << ctx.hardware.throughput() << ",\"capacity\":" << ctx.capacity
    << ",\"running\":" << ctx.running << "}";
  if (order != nullptr) {
    std::string buyer = "";
    if (auto b = Hash256Field(order->buyer(), "buyer"); b.ok()) buyer = EncodeAddress(*b);
    o << ",\"order\":{\"id\":" << Quote(ToHex(AsBytes(order->id())))
      << ",\"buyer\":" << Quote(buyer) << ",\"units\":" << order->units()
      << ",\"max_price_per_unit\":" << order->max_price_per_unit()
      << ",\"verification_level\":" << order->verification_level()
      << ",\"deadline_blocks\":" << order->deadline_blocks()
      << ",\"self_verify\":" << (order->self_verify() ? "true" : "false")
      << ",\"expires_at\":" << order->expires_at() << "}";
  }
  o << "}";
  return o.str();
}

std::vector<JobKind> Pricing::Kinds() const {
  std::vector<JobKind> kinds;
  for (JobKind k : kAllKinds) {
    if (has_command() || config_.static_prices.count(k)) kinds.push_back(k);
  }
  return kinds;
}

Result<std::optional<uint64_t>> Pricing::Ask(std::string_view purpose, JobKind kind,
                                             const PricingContext& ctx,
                                             const market::v1::Order* order) {
  const std::string json =
      PricingRequestJson(purpose, kind, ctx, PriceOf(config_.static_prices, kind), order);
  PROBITY_ASSIGN_OR_RETURN(std::string out,
                           RunExternalCommand(config_.command, json, {.timeout = config_.timeout}));
  return ParsePriceAnswer(out, ctx.max_price_per_unit);
}

KindPrices Pricing::StandingPrices(const PricingContext& ctx) {
  KindPrices prices;
  std::lock_guard lock(mu_);
  for (JobKind kind : Kinds()) {
    const uint64_t fixed = PriceOf(config_.static_prices, kind);
    if (!has_command()) {
      prices[kind] = fixed;
      continue;
    }
    auto answer = Ask("standing", kind, ctx, nullptr);
    if (answer.ok()) {
      if (*answer) prices[kind] = **answer;
      continue;
    }
    const uint64_t fallback = fixed ? fixed : PriceOf(last_standing_, kind);
    observe::LogError("provider", "pricing command failed; its answer is ignored",
                      {{"purpose", "standing"},
                       {"kind", std::string(KindName(kind))},
                       {"error", answer.status().message()},
                       {"fallback_price", std::to_string(fallback)}});
    if (fallback) prices[kind] = fallback;
  }
  last_standing_ = prices;
  return prices;
}

std::optional<uint64_t> Pricing::PriceForOrder(const market::v1::Order& order,
                                               const PricingContext& ctx) {
  if (!has_command()) return std::nullopt;
  auto answer = Ask("order", order.kind(), ctx, &order);
  if (!answer.ok()) {
    observe::LogError("provider", "pricing command failed; its answer is ignored",
                      {{"purpose", "order"},
                       {"order", ToHex(AsBytes(order.id()))},
                       {"error", answer.status().message()}});
    return std::nullopt;
  }
  return *answer;
}

}  // namespace probity::provider
