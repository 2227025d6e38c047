// The offer's upkeep against a fake chain: bonding, posting, reusing after a restart (and
// cancelling stale offers), refreshing before expiry, and competing for open orders through
// the pricing command.
#include "offer_manager.h"

#include <doctest/doctest.h>

#include "fake_chain.h"
#include "probity/primitives/hex.h"

namespace probity::provider {
namespace {

using testing::FakeChain;

XOnlyPubKey Self() {
  XOnlyPubKey k{};
  k.fill(0xa7);
  return k;
}

struct Setup {
  explicit Setup(PricingConfig pricing_config =
                     {.static_prices = {{market::v1::JOB_KIND_TRAIN_CLASSIFIER, 5}}})
      : chain(Self()), pricing(std::move(pricing_config)), metrics(registry) {
    chain.market_params.set_max_capacity(8);
    chain.market_params.set_max_price_per_unit(1000);
    chain.market_params.set_max_offer_lifetime_blocks(100000);
    chain.staking_params.set_min_provider_stake(1000);
    chain.SetHeight(50);
    options.self = Self();
    options.endpoint = "127.0.0.1:7430";
    options.hardware.set_gpu_model("cpu");
    options.hardware.set_gpu_count(1);
    options.hardware.set_throughput(5000);
    options.capacity = 2;
    options.lifetime_blocks = 100;
    options.check_interval = std::chrono::milliseconds(0);
  }
  std::unique_ptr<OfferManager> Manager() {
    return std::make_unique<OfferManager>(options, &chain, &pricing, &metrics,
                                          [this] { return running; });
  }
  std::vector<market::v1::Offer> Open() {
    std::vector<market::v1::Offer> open;
    for (const auto& o : chain.AllOffers()) {
      if (!o.closed()) open.push_back(o);
    }
    return open;
  }

  FakeChain chain;
  Pricing pricing;
  observe::Registry registry;
  ProviderMetrics metrics;
  OfferOptions options;
  uint32_t running = 0;
};

TEST_CASE("bonds what --bond asks, then posts one offer with the configured terms") {
  Setup s;
  s.options.bond = 3000;
  auto m = s.Manager();
  REQUIRE(m->Setup().ok());
  CHECK(m->eligible());
  CHECK(s.chain.Stake(Self())->bonded() == 3000);
  auto open = s.Open();
  REQUIRE(open.size() == 1);
  CHECK(open[0].endpoint() == "127.0.0.1:7430");
  CHECK(open[0].capacity() == 2);
  CHECK(open[0].expires_at() == 151);  // height 51 after the bond, plus the lifetime
  CHECK(open[0].hardware().throughput() == 5000);
  REQUIRE(open[0].prices_size() == 1);
  CHECK(open[0].prices(0).price_per_unit() == 5);
  CHECK(m->offer_id() == *Hash256Field(open[0].id(), "id"));
  CHECK(s.chain.sent() ==
        std::vector<std::string>{"probity.staking.v1.MsgBond", "probity.market.v1.MsgPostOffer"});
  // Bonded enough already: no second bond on a restart, and the offer is reused.
  auto again = s.Manager();
  REQUIRE(again->Setup().ok());
  CHECK(s.Open().size() == 1);
  CHECK(s.chain.sent().back() == "probity.market.v1.MsgUpdateOffer");
  CHECK(again->offer_id() == m->offer_id());
}

TEST_CASE("below the minimum stake nothing is offered, and the manager keeps checking") {
  Setup s;
  auto m = s.Manager();
  REQUIRE(m->Setup().ok());
  CHECK(!m->eligible());
  CHECK(s.Open().empty());
  CHECK(!m->offer_id());
  // Someone bonds for it; the next tick posts.
  staking::v1::Stake st;
  st.set_bonded(1000);
  s.chain.PutStake(Self(), st);
  m->Tick();
  CHECK(m->eligible());
  CHECK(s.Open().size() == 1);
}

TEST_CASE("a restart with another endpoint cancels the stale offer and posts a new one") {
  Setup s;
  s.options.bond = 1000;
  REQUIRE(s.Manager()->Setup().ok());
  const auto first = s.Open().at(0);
  s.options.endpoint = "127.0.0.1:9999";
  auto m = s.Manager();
  REQUIRE(m->Setup().ok());
  auto open = s.Open();
  REQUIRE(open.size() == 1);
  CHECK(open[0].endpoint() == "127.0.0.1:9999");
  CHECK(open[0].id() != first.id());
}

TEST_CASE("the offer is refreshed once three quarters of its life have passed") {
  Setup s;
  s.options.bond = 1000;
  auto m = s.Manager();
  REQUIRE(m->Setup().ok());
  const size_t sent = s.chain.sent().size();
  s.chain.SetHeight(120);  // 30 of 100 blocks left
  m->Tick();
  CHECK(s.chain.sent().size() == sent);
  s.chain.SetHeight(126);  // 24 left: refresh
  m->Tick();
  CHECK(s.chain.sent().size() == sent + 1);
  CHECK(s.chain.sent().back() == "probity.market.v1.MsgUpdateOffer");
  CHECK(s.Open().at(0).expires_at() == 226);
  // An offer the chain closed is replaced.
  market::v1::Offer closed = s.Open().at(0);
  closed.set_closed(true);
  s.chain.PutOffer(closed);
  node::v1::EventRecord r;
  r.mutable_event()->set_type("market.offer_closed");
  auto* a = r.mutable_event()->add_attributes();
  a->set_key("offer_id");
  a->set_value(ToHex(AsBytes(closed.id())));
  m->OnEvent(r);
  CHECK(!m->offer_id());
  m->Tick();
  CHECK(s.Open().size() == 1);
  CHECK(m->offer_id());
}

market::v1::Order OpenOrder(uint64_t max_price) {
  market::v1::Order o;
  o.set_id(std::string(32, '\x05'));
  o.set_buyer(std::string(32, '\x06'));
  o.set_kind(market::v1::JOB_KIND_TRAIN_CLASSIFIER);
  o.set_units(100);
  o.set_max_price_per_unit(max_price);
  o.set_status(market::v1::ORDER_STATUS_OPEN);
  return o;
}

node::v1::EventRecord Placed(const market::v1::Order& o) {
  node::v1::EventRecord r;
  r.mutable_event()->set_type("market.order_placed");
  auto* a = r.mutable_event()->add_attributes();
  a->set_key("order_id");
  a->set_value(ToHex(AsBytes(o.id())));
  return r;
}

TEST_CASE("the pricing command lowers the price to win an open order it wants, within its max") {
  // Standing price 5; for an order, 3 when it pays at least 4, else skip.
  Setup s({.command =
               "in=$(cat); case \"$in\" in *'\"purpose\":\"order\"'*'\"max_price_per_unit\":4,'*) "
               "echo 3;; *'\"purpose\":\"order\"'*) echo skip;; *) echo 5;; esac"});
  s.options.bond = 1000;
  auto m = s.Manager();
  REQUIRE(m->Setup().ok());
  CHECK(m->prices().at(market::v1::JOB_KIND_TRAIN_CLASSIFIER) == 5);
  const size_t sent = s.chain.sent().size();

  auto cheap = OpenOrder(2);  // the command skips it
  s.chain.PutOrder(cheap);
  m->OnOrderPlaced(Placed(cheap));
  CHECK(s.chain.sent().size() == sent);

  auto wanted = OpenOrder(4);
  s.chain.PutOrder(wanted);
  s.running = 2;  // no free slot: not even asked
  m->OnOrderPlaced(Placed(wanted));
  CHECK(s.chain.sent().size() == sent);
  s.running = 0;
  m->OnOrderPlaced(Placed(wanted));
  REQUIRE(s.chain.sent().size() == sent + 1);
  CHECK(m->prices().at(market::v1::JOB_KIND_TRAIN_CLASSIFIER) == 3);
  CHECK(s.Open().at(0).prices(0).price_per_unit() == 3);

  // Already matched, another kind, or constraints this hardware misses: left alone.
  auto matched = OpenOrder(4);
  matched.set_status(market::v1::ORDER_STATUS_ASSIGNED);
  s.chain.PutOrder(matched);
  m->OnOrderPlaced(Placed(matched));
  auto gpu_only = OpenOrder(4);
  gpu_only.mutable_constraints()->set_gpu_model("h100");
  s.chain.PutOrder(gpu_only);
  m->OnOrderPlaced(Placed(gpu_only));
  CHECK(s.chain.sent().size() == sent + 1);
}

TEST_CASE("capacity and prices the market refuses are startup errors") {
  Setup s;
  s.options.capacity = 9;
  CHECK(s.Manager()->Setup().code() == Code::kInvalidArgument);
  Setup p({.static_prices = {{market::v1::JOB_KIND_TRAIN_CLASSIFIER, 5000}}});
  p.options.bond = 1000;
  CHECK(p.Manager()->Setup().code() == Code::kInvalidArgument);
  CHECK(MeetsConstraints(p.options.hardware, {}));
}

}  // namespace
}  // namespace probity::provider
