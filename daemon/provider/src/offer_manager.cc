#include "offer_manager.h"

#include "probity/client/chain.h"
#include "probity/observe/observe.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "proto_bytes.h"

namespace probity::provider {
namespace {

constexpr std::string_view kLog = "provider";

std::string PricesText(const KindPrices& prices) {
  std::string s;
  for (const auto& [kind, price] : prices) {
    if (!s.empty()) s += ",";
    s += std::string(KindName(kind)) + "=" + std::to_string(price);
  }
  return s.empty() ? "none" : s;
}

}  // namespace

bool MeetsConstraints(const market::v1::Hardware& hw, const market::v1::HardwareConstraints& c) {
  return (c.gpu_model().empty() || c.gpu_model() == hw.gpu_model()) &&
         hw.gpu_count() >= c.min_gpu_count() && hw.memory_mib() >= c.min_memory_mib() &&
         hw.compute_capability() >= c.min_compute_capability() &&
         hw.throughput() >= c.min_throughput();
}

OfferManager::OfferManager(OfferOptions options, ChainPort* chain, Pricing* pricing,
                           ProviderMetrics* metrics, std::function<uint32_t()> running)
    : options_(std::move(options)),
      chain_(chain),
      pricing_(pricing),
      metrics_(metrics),
      running_(std::move(running)) {}

std::optional<Hash256> OfferManager::offer_id() const {
  std::lock_guard lock(mu_);
  if (closed_) return std::nullopt;
  return offer_id_;
}

KindPrices OfferManager::prices() const {
  std::lock_guard lock(mu_);
  return prices_;
}

bool OfferManager::eligible() const {
  std::lock_guard lock(mu_);
  return eligible_;
}

std::vector<market::v1::KindPrice> OfferManager::PriceList(const KindPrices& prices) {
  std::vector<market::v1::KindPrice> list;
  for (const auto& [kind, price] : prices) {  // std::map: increasing kinds, as the market wants
    market::v1::KindPrice kp;
    kp.set_kind(kind);
    kp.set_price_per_unit(price);
    list.push_back(kp);
  }
  return list;
}

PricingContext OfferManager::Context(uint64_t height) {
  PricingContext ctx;
  ctx.address = EncodeAddress(options_.self);
  ctx.backend = options_.backend;
  ctx.hardware = options_.hardware;
  ctx.capacity = options_.capacity;
  ctx.running = running_ ? running_() : 0;
  ctx.height = height;
  ctx.max_price_per_unit = market_params_.max_price_per_unit();
  ctx.current = prices_;
  return ctx;
}

bool OfferManager::SameTerms(const market::v1::Offer& o) const {
  const auto& a = o.hardware();
  const auto& b = options_.hardware;
  return o.endpoint() == options_.endpoint && a.gpu_model() == b.gpu_model() &&
         a.gpu_count() == b.gpu_count() && a.memory_mib() == b.memory_mib() &&
         a.compute_capability() == b.compute_capability() && a.throughput() == b.throughput();
}

Status OfferManager::Setup() {
  std::lock_guard lock(mu_);
  PROBITY_ASSIGN_OR_RETURN(market_params_, chain_->MarketParams());
  PROBITY_ASSIGN_OR_RETURN(staking_params_, chain_->StakingParams());
  params_loaded_ = true;
  if (options_.capacity == 0 || options_.capacity > market_params_.max_capacity()) {
    return Status::InvalidArgument("--capacity must be within 1.." +
                                   std::to_string(market_params_.max_capacity()) +
                                   " (the market's max_capacity)");
  }
  lifetime_ = std::min(options_.lifetime_blocks, market_params_.max_offer_lifetime_blocks());
  if (lifetime_ < 4) return Status::InvalidArgument("the offer lifetime must be at least 4 blocks");

  PROBITY_ASSIGN_OR_RETURN(staking::v1::Stake stake, chain_->Stake(options_.self));
  if (options_.bond > stake.bonded()) {
    staking::v1::MsgBond bond;
    bond.set_amount(options_.bond - stake.bonded());
    auto sent = chain_->Send(bond, options_.tx_timeout);
    if (!sent.ok()) return sent.status().WithContext("cannot bond stake");
    observe::LogInfo(kLog, "stake bonded",
                     {{"amount", std::to_string(bond.amount())},
                      {"bonded", std::to_string(options_.bond)},
                      {"height", std::to_string(sent->height)}});
  }
  PROBITY_ASSIGN_OR_RETURN(uint64_t height, chain_->Height());
  return EnsureOffer(height);
}

Status OfferManager::EnsureOffer(uint64_t height) {
  PROBITY_ASSIGN_OR_RETURN(staking::v1::Stake stake, chain_->Stake(options_.self));
  eligible_ = !stake.jailed() && stake.bonded() >= staking_params_.min_provider_stake();
  if (!eligible_) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_warning_) {
      next_warning_ = now + std::chrono::seconds(60);
      observe::LogWarn(
          kLog,
          stake.jailed() ? "jailed: no offer until unjailed"
                         : "not eligible to offer: bond at least the minimum "
                           "provider stake (--bond N)",
          {{"bonded", std::to_string(stake.bonded())},
           {"min_provider_stake", std::to_string(staking_params_.min_provider_stake())}});
    }
    return Status::OK();
  }
  const KindPrices prices = pricing_->StandingPrices(Context(height));
  if (prices.empty()) {
    return Status::InvalidArgument(
        "no job kind has a price: give --price KIND=N or a pricing command that answers");
  }
  for (const auto& [kind, price] : prices) {
    if (price > market_params_.max_price_per_unit()) {
      return Status::InvalidArgument("the price of " + std::string(KindName(kind)) + " (" +
                                     std::to_string(price) + ") exceeds the market's maximum " +
                                     std::to_string(market_params_.max_price_per_unit()));
    }
  }
  PROBITY_ASSIGN_OR_RETURN(market::v1::QueryProviderResponse mine,
                           chain_->ProviderOffers(options_.self));
  std::optional<market::v1::Offer> keep;
  for (const market::v1::Offer& o : mine.offers()) {
    if (o.closed() || o.expires_at() <= height + 1) continue;
    if (SameTerms(o) && (!keep || o.expires_at() > keep->expires_at())) {
      if (keep) {
        // A duplicate: keep the longer-lived one.
        market::v1::MsgCancelOffer cancel;
        cancel.set_offer_id(keep->id());
        (void)chain_->Send(cancel, options_.tx_timeout);
      }
      keep = o;
      continue;
    }
    market::v1::MsgCancelOffer cancel;
    cancel.set_offer_id(o.id());
    auto sent = chain_->Send(cancel, options_.tx_timeout);
    observe::LogInfo(kLog, "cancelled a stale offer",
                     {{"offer", ToHex(AsBytes(o.id())).substr(0, 16)},
                      {"endpoint", o.endpoint()},
                      {"result", sent.ok() ? "ok" : sent.status().message()}});
  }
  if (keep) {
    offer_id_ = *Hash256Field(keep->id(), "offer id");
    expires_at_ = keep->expires_at();
    closed_ = false;
    return Refresh(height, prices, "reused after a restart");
  }
  return Post(height, prices);
}

Status OfferManager::Post(uint64_t height, const KindPrices& prices) {
  market::v1::MsgPostOffer msg;
  *msg.mutable_hardware() = options_.hardware;
  for (const auto& kp : PriceList(prices)) *msg.add_prices() = kp;
  msg.set_capacity(options_.capacity);
  msg.set_endpoint(options_.endpoint);
  msg.set_expires_at(height + lifetime_);
  auto sent = chain_->Send(msg, options_.tx_timeout);
  if (!sent.ok()) return sent.status().WithContext("cannot post the offer");
  std::optional<Hash256> id;
  for (const auto& e : sent->result.events()) {
    if (e.type() != "market.offer_posted") continue;
    if (auto parsed = client::EventId(e, "offer_id"); parsed.ok()) id = *parsed;
  }
  if (!id) return Status::Internal("the posted offer's id is missing from its events");
  metrics_->offer_updates.Inc();
  offer_id_ = id;
  expires_at_ = msg.expires_at();
  closed_ = false;
  prices_ = prices;
  observe::LogInfo(kLog, "offer posted",
                   {{"offer", ToHex(*id).substr(0, 16)},
                    {"prices", PricesText(prices)},
                    {"capacity", std::to_string(options_.capacity)},
                    {"endpoint", options_.endpoint},
                    {"gpu_model", options_.hardware.gpu_model()},
                    {"throughput", std::to_string(options_.hardware.throughput())},
                    {"expires_at", std::to_string(expires_at_)}});
  return Status::OK();
}

Status OfferManager::Refresh(uint64_t height, const KindPrices& prices, std::string_view why) {
  market::v1::MsgUpdateOffer msg;
  msg.set_offer_id(FieldOf(*offer_id_));
  for (const auto& kp : PriceList(prices)) *msg.add_prices() = kp;
  msg.set_capacity(options_.capacity);
  msg.set_expires_at(height + lifetime_);
  auto sent = chain_->Send(msg, options_.tx_timeout);
  if (!sent.ok()) {
    if (sent.status().code() == Code::kFailedPrecondition) closed_ = true;  // post a new one
    return sent.status().WithContext("cannot refresh the offer");
  }
  metrics_->offer_updates.Inc();
  expires_at_ = msg.expires_at();
  prices_ = prices;
  observe::LogInfo(kLog, "offer refreshed",
                   {{"offer", ToHex(*offer_id_).substr(0, 16)},
                    {"why", std::string(why)},
                    {"prices", PricesText(prices)},
                    {"expires_at", std::to_string(expires_at_)}});
  return Status::OK();
}

void OfferManager::Tick() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (now < next_check_) return;
  next_check_ = now + options_.check_interval;
  Status s;
  if (!params_loaded_) {
    auto mp = chain_->MarketParams();
    auto sp = chain_->StakingParams();
    if (!mp.ok() || !sp.ok()) return;
    market_params_ = *mp;
    staking_params_ = *sp;
    params_loaded_ = true;
    lifetime_ = std::min(options_.lifetime_blocks, market_params_.max_offer_lifetime_blocks());
  }
  auto height = chain_->Height();
  if (!height.ok()) return;
  if (closed_ || !offer_id_ || *height + 1 >= expires_at_) {
    s = EnsureOffer(*height);
  } else if (expires_at_ - *height <= lifetime_ / 4) {
    s = Refresh(*height, pricing_->StandingPrices(Context(*height)), "before expiry");
  }
  if (!s.ok()) {
    next_check_ = now + std::chrono::seconds(5);
    observe::LogWarn(kLog, "offer upkeep failed; retrying", {{"error", s.message()}});
  }
}

void OfferManager::OnEvent(const node::v1::EventRecord& record) {
  const types::v1::Event& e = record.event();
  if (e.type() == "market.match") {
    observe::LogInfo(kLog, "order matched",
                     {{"order", client::EventAttribute(e, "order_id").value_or("").substr(0, 16)},
                      {"price_per_unit", client::EventAttribute(e, "price_per_unit").value_or("")},
                      {"units", client::EventAttribute(e, "units").value_or("")}});
    return;
  }
  if (e.type() != "market.offer_closed") return;
  auto id = client::EventId(e, "offer_id");
  std::lock_guard lock(mu_);
  if (!id.ok() || !offer_id_ || *id != *offer_id_) return;
  closed_ = true;
  next_check_ = {};
  observe::LogInfo(kLog, "offer closed by the chain; a new one will be posted",
                   {{"offer", ToHex(*id).substr(0, 16)},
                    {"reason", client::EventAttribute(e, "reason").value_or("")}});
}

void OfferManager::OnOrderPlaced(const node::v1::EventRecord& record) {
  if (!pricing_->has_command()) return;
  auto id = client::EventId(record.event(), "order_id");
  if (!id.ok()) return;
  auto order = chain_->Order(*id);
  if (!order.ok() || !*order) return;
  const market::v1::Order& o = **order;
  if (o.status() != market::v1::ORDER_STATUS_OPEN) return;  // matched in its own block
  if (FieldIs(o.buyer(), options_.self)) return;
  for (const std::string& excluded : o.excluded_providers()) {
    if (FieldIs(excluded, options_.self)) return;
  }
  if (!MeetsConstraints(options_.hardware, o.constraints())) return;
  std::lock_guard lock(mu_);
  if (closed_ || !offer_id_ || !eligible_) return;
  auto current = prices_.find(o.kind());
  if (current == prices_.end()) return;  // a kind this provider does not serve
  if (running_ && running_() >= options_.capacity) return;
  auto height = chain_->Height();
  if (!height.ok()) return;
  std::optional<uint64_t> price = pricing_->PriceForOrder(o, Context(*height));
  if (!price || *price > o.max_price_per_unit() || *price >= current->second) {
    observe::LogDebug(kLog, "open order left to others",
                      {{"order", ToHex(*id).substr(0, 16)},
                       {"max_price", std::to_string(o.max_price_per_unit())},
                       {"answer", price ? std::to_string(*price) : "skip"}});
    return;
  }
  KindPrices lowered = prices_;
  lowered[o.kind()] = *price;
  Status s = Refresh(*height, lowered, "competing for order " + ToHex(*id).substr(0, 16));
  if (!s.ok()) observe::LogWarn(kLog, "cannot lower the offer's price", {{"error", s.message()}});
}

}  // namespace probity::provider
