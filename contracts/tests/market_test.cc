// The market: price-time matching inside block execution, escrow, cancels, expiries, stake
// requirements, constraints, queries, and the refusal of bad orders and offers.
#include "probity/contracts/market.h"

#include <doctest/doctest.h>

#include <functional>

#include "market_messages.h"
#include "marketplace_harness.h"

using namespace probity;
using namespace probity::contracts;
using namespace probity::contracts::testing;

namespace {

// Accounts 1..4 are providers (bonded), 5..8 buyers.
struct Fixture {
  Marketplace m;
  Fixture() : m(Options()) {
    std::vector<Bytes> txs;
    for (int p = 1; p <= 4; ++p) txs.push_back(m.Tx(p, kMsgBond, BondMsg(20'000)));
    auto r = m.Block(txs);
    for (const auto& res : r.tx_results) REQUIRE(res.code() == 0);
  }
  static HarnessOptions Options() {
    HarnessOptions o;
    o.staking_json = kTestStaking;
    o.market_json = kTestMarket;
    o.jobs_json = kTestJobs;
    return o;
  }
  // Runs one transaction in its own block; REQUIREs success.
  Bytes Ok(int signer, std::string_view type, const google::protobuf::Message& msg) {
    Bytes tx = m.Tx(signer, type, msg);
    auto r = m.Block({tx});
    REQUIRE_MESSAGE(r.tx_results[0].code() == 0, r.tx_results[0].log());
    return tx;
  }
};

}  // namespace

TEST_CASE(
    "a new order takes the cheapest offer with capacity, ties to the earliest, at its price") {
  Fixture f;
  Hash256 o10 = OfferIdOf(f.Ok(1, kMsgPostOffer, OfferMsg(10, 1, 1000)));
  Hash256 o8a = OfferIdOf(f.Ok(2, kMsgPostOffer, OfferMsg(8, 1, 1000)));
  Hash256 o8b = OfferIdOf(f.Ok(3, kMsgPostOffer, OfferMsg(8, 1, 1000)));

  const uint64_t buyer0 = f.m.Balance(Marketplace::Account(5));
  Bytes tx = f.Ok(5, kMsgPlaceOrder, OrderMsg(12, 3, 500));
  Hash256 id = OrderIdOf(tx);
  auto order = f.m.Order(id);
  CHECK(order.status() == market::v1::ORDER_STATUS_ASSIGNED);
  CHECK(FromField(order.offer_id()) == o8a);
  CHECK(order.price_per_unit() == 8);
  // Escrow: the maximum cost plus k = 2 samples at 100.
  CHECK(order.escrow() == 3 * 12 + 2 * 100);
  CHECK(f.m.Balance(Marketplace::Account(5)) == buyer0 - 236 - 1);
  CHECK(f.m.Balance(Market::ModuleAccount()) == 236);
  auto job = f.m.Job(id);
  CHECK(job.state() == jobs::v1::JOB_STATE_ASSIGNED);
  CHECK(job.job().provider() == HashBytes(Marketplace::Account(2)));
  bool matched = false;
  for (const auto& e : f.m.last_events()) matched = matched || e.type() == "market.match";
  CHECK(matched);

  CHECK(FromField(f.m.Order(OrderIdOf(f.Ok(6, kMsgPlaceOrder, OrderMsg(12, 1, 500)))).offer_id()) ==
        o8b);
  auto third = f.m.Order(OrderIdOf(f.Ok(7, kMsgPlaceOrder, OrderMsg(12, 1, 500))));
  CHECK(FromField(third.offer_id()) == o10);
  CHECK(third.price_per_unit() == 10);
  // Nothing left at or below 9: the order rests in the book.
  auto resting = f.m.Order(OrderIdOf(f.Ok(8, kMsgPlaceOrder, OrderMsg(9, 1, 500))));
  CHECK(resting.status() == market::v1::ORDER_STATUS_OPEN);
  CHECK(f.m.Offer(o10).active() == 1);
}

TEST_CASE("a new offer takes waiting orders by price then time, at the orders' prices") {
  Fixture f;
  Hash256 b10 = OrderIdOf(f.Ok(5, kMsgPlaceOrder, OrderMsg(10, 2, 500)));
  Hash256 b12a = OrderIdOf(f.Ok(6, kMsgPlaceOrder, OrderMsg(12, 2, 500)));
  Hash256 b12b = OrderIdOf(f.Ok(7, kMsgPlaceOrder, OrderMsg(12, 2, 500)));
  Hash256 b5 = OrderIdOf(f.Ok(8, kMsgPlaceOrder, OrderMsg(5, 2, 500)));
  Hash256 b12c = OrderIdOf(f.Ok(5, kMsgPlaceOrder, OrderMsg(12, 2, 500)));

  Hash256 offer = OfferIdOf(f.Ok(1, kMsgPostOffer, OfferMsg(8, 2, 1000)));
  CHECK(f.m.Order(b12a).status() == market::v1::ORDER_STATUS_ASSIGNED);
  CHECK(f.m.Order(b12a).price_per_unit() == 12);
  CHECK(f.m.Order(b12b).status() == market::v1::ORDER_STATUS_ASSIGNED);
  CHECK(f.m.Order(b12c).status() == market::v1::ORDER_STATUS_OPEN);  // later, capacity gone
  CHECK(f.m.Order(b10).status() == market::v1::ORDER_STATUS_OPEN);
  CHECK(f.m.Offer(offer).active() == 2);

  // A refresh with more capacity takes the next ones: 12 (time) then 10; 5 stays below 8.
  market::v1::MsgUpdateOffer up;
  up.set_offer_id(HashBytes(offer));
  *up.mutable_prices() = OfferMsg(8, 1, 1).prices();
  up.set_capacity(4);
  up.set_expires_at(2000);
  f.Ok(1, kMsgUpdateOffer, up);
  CHECK(f.m.Order(b12c).status() == market::v1::ORDER_STATUS_ASSIGNED);
  CHECK(f.m.Order(b10).status() == market::v1::ORDER_STATUS_ASSIGNED);
  CHECK(f.m.Order(b10).price_per_unit() == 10);
  CHECK(f.m.Order(b5).status() == market::v1::ORDER_STATUS_OPEN);
  CHECK(f.m.Offer(offer).active() == 4);
}

TEST_CASE("hardware constraints, self-trade and stake decide eligibility") {
  Fixture f;
  Hash256 small = OfferIdOf(f.Ok(1, kMsgPostOffer, OfferMsg(5, 4, 1000, "a100", 40960)));
  Hash256 big = OfferIdOf(f.Ok(2, kMsgPostOffer, OfferMsg(7, 4, 1000, "h100", 81920)));
  auto msg = OrderMsg(10, 1, 500);
  msg.mutable_constraints()->set_min_memory_mib(65536);
  CHECK(FromField(f.m.Order(OrderIdOf(f.Ok(5, kMsgPlaceOrder, msg))).offer_id()) == big);
  msg = OrderMsg(10, 1, 500);
  msg.mutable_constraints()->set_gpu_model("a100");
  CHECK(FromField(f.m.Order(OrderIdOf(f.Ok(5, kMsgPlaceOrder, msg))).offer_id()) == small);
  msg.mutable_constraints()->set_gpu_model("b200");
  CHECK(f.m.Order(OrderIdOf(f.Ok(5, kMsgPlaceOrder, msg))).status() ==
        market::v1::ORDER_STATUS_OPEN);
  // Provider 1 buying: never its own offer.
  CHECK(FromField(f.m.Order(OrderIdOf(f.Ok(1, kMsgPlaceOrder, OrderMsg(10, 1, 500)))).offer_id()) ==
        big);

  // A provider with an unsettled job cannot unbond below the minimum...
  staking::v1::MsgUnbond u;
  u.set_amount(15'000);
  auto locked = f.m.Run(1, kMsgUnbond, u);
  CHECK(locked.log().find("unsettled jobs") != std::string::npos);
  // ...one without can; its offer is then skipped (and leaves the book).
  Hash256 cheap = OfferIdOf(f.Ok(3, kMsgPostOffer, OfferMsg(4, 4, 1000)));
  f.Ok(3, kMsgUnbond, u);
  CHECK(FromField(f.m.Order(OrderIdOf(f.Ok(6, kMsgPlaceOrder, OrderMsg(10, 1, 500)))).offer_id()) ==
        small);
  CHECK(f.m.Offer(cheap).active() == 0);
  market::v1::QueryDepthRequest dq;
  dq.set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
  market::v1::QueryDepthResponse depth;
  REQUIRE(ParseBytes(&depth, f.m.Query("market/depth", dq)));
  REQUIRE(depth.asks_size() == 2);
  CHECK(depth.asks(0).price_per_unit() == 5);

  // Without stake no offer can be posted.
  auto r = f.m.Run(9, kMsgPostOffer, OfferMsg(5, 1, 1000));
  CHECK(r.code() == static_cast<uint32_t>(Code::kFailedPrecondition));
  CHECK(r.log().find("a provider needs 10000 bonded") != std::string::npos);
}

TEST_CASE("cancel before assignment refunds in full, nobody else may cancel, not twice") {
  Fixture f;
  const uint64_t b0 = f.m.Balance(Marketplace::Account(5));
  Hash256 id = OrderIdOf(f.Ok(5, kMsgPlaceOrder, OrderMsg(10, 7, 500)));
  CHECK(f.m.Balance(Marketplace::Account(5)) == b0 - 270 - 1);
  market::v1::MsgCancelOrder c;
  c.set_order_id(HashBytes(id));
  const Hash256 before = f.m.ModuleStateDigest();
  auto r = f.m.Run(6, kMsgCancelOrder, c);
  CHECK(r.code() == static_cast<uint32_t>(Code::kPermissionDenied));
  CHECK(f.m.ModuleStateDigest() == before);
  f.Ok(5, kMsgCancelOrder, c);
  CHECK(f.m.Balance(Marketplace::Account(5)) == b0 - 2);
  CHECK(f.m.Order(id).status() == market::v1::ORDER_STATUS_CLOSED);
  CHECK(f.m.Job(id).state() == jobs::v1::JOB_STATE_CANCELLED);
  r = f.m.Run(5, kMsgCancelOrder, c);
  CHECK(r.code() == static_cast<uint32_t>(Code::kFailedPrecondition));

  // An assigned order cannot be cancelled.
  f.Ok(1, kMsgPostOffer, OfferMsg(5, 1, 1000));
  Hash256 taken = OrderIdOf(f.Ok(5, kMsgPlaceOrder, OrderMsg(10, 1, 500)));
  c.set_order_id(HashBytes(taken));
  r = f.m.Run(5, kMsgCancelOrder, c);
  CHECK(r.code() == static_cast<uint32_t>(Code::kFailedPrecondition));
  CHECK(r.log().find("ORDER_STATUS_ASSIGNED") != std::string::npos);
  c.set_order_id(HashBytes(Sha256("no such order")));
  CHECK(f.m.Run(5, kMsgCancelOrder, c).code() == static_cast<uint32_t>(Code::kNotFound));
}

TEST_CASE("orders and offers expire at the end of their block") {
  Fixture f;
  const uint64_t b0 = f.m.Balance(Marketplace::Account(5));
  const uint64_t h = f.m.height();
  Hash256 id = OrderIdOf(f.Ok(5, kMsgPlaceOrder, OrderMsg(10, 1, h + 3)));
  Hash256 offer = OfferIdOf(f.Ok(1, kMsgPostOffer, OfferMsg(50, 1, h + 4)));
  CHECK(f.m.Order(id).status() == market::v1::ORDER_STATUS_OPEN);
  f.m.AdvanceTo(h + 3);
  CHECK(f.m.Order(id).status() == market::v1::ORDER_STATUS_CLOSED);
  CHECK(f.m.Balance(Marketplace::Account(5)) == b0 - 1);
  bool expired = false;
  for (const auto& e : f.m.last_events()) expired = expired || e.type() == "market.order_expired";
  CHECK(expired);
  f.m.AdvanceTo(h + 4);
  market::v1::QueryByIdRequest q;
  q.set_id(HashBytes(offer));
  ledger::QueryRequest req;
  req.path = "market/offer";
  std::string d = q.SerializeAsString();
  req.data.assign(d.begin(), d.end());
  CHECK(f.m.app().Query(req).status().code() == Code::kNotFound);  // closed and unused: gone
  CHECK(f.m.Order(OrderIdOf(f.Ok(6, kMsgPlaceOrder, OrderMsg(60, 1, h + 100)))).status() ==
        market::v1::ORDER_STATUS_OPEN);
}

TEST_CASE("bad orders and offers are rejected with a reason and change nothing") {
  Fixture f;
  const Hash256 before = f.m.ModuleStateDigest();
  using O = market::v1::MsgPlaceOrder;
  struct Case {
    std::string what;
    std::function<void(O&, uint64_t)> mutate;  // (message, height of its block)
    std::string log;
  };
  const std::vector<Case> cases = {
      {"price zero", [](O& m, uint64_t) { m.set_max_price_per_unit(0); }, "max_price_per_unit"},
      {"price too high", [](O& m, uint64_t) { m.set_max_price_per_unit(1'000'001); },
       "outside 1..1000000"},
      {"units too many", [](O& m, uint64_t) { m.set_units(1'000'001); }, "exceed"},
      {"k too high", [](O& m, uint64_t) { m.set_verification_level(17); }, "verification_level"},
      {"deadline short", [](O& m, uint64_t) { m.set_deadline_blocks(1); }, "deadline_blocks"},
      {"expired already", [](O& m, uint64_t h) { m.set_expires_at(h); }, "expires_at"},
      {"too far", [](O& m, uint64_t h) { m.set_expires_at(h + 1001); }, "expires_at"},
      {"short input hash", [](O& m, uint64_t) { m.set_input_hash("abc"); }, "input_hash"},
      {"no kind", [](O& m, uint64_t) { m.set_kind(market::v1::JOB_KIND_UNSPECIFIED); },
       "unknown job kind"},
      {"no timeout action",
       [](O& m, uint64_t) { m.set_on_timeout(market::v1::TIMEOUT_ACTION_UNSPECIFIED); },
       "on_timeout"},
      {"bad class", [](O& m, uint64_t) { m.mutable_constraints()->set_gpu_model("H100!"); },
       "gpu_model"},
      {"cannot pay",
       [](O& m, uint64_t) {
         m.set_units(1'000'000);
         m.set_max_price_per_unit(1'000'000);
       },
       "insufficient funds"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    const uint64_t b0 = f.m.Balance(Marketplace::Account(5));
    const uint64_t h = f.m.height() + 1;
    auto msg = OrderMsg(10, 1, h + 10);
    c.mutate(msg, h);
    auto r = f.m.Run(5, kMsgPlaceOrder, msg);
    CHECK(r.code() != 0);
    CHECK_MESSAGE(r.log().find(c.log) != std::string::npos, r.log());
    CHECK(f.m.ModuleStateDigest() == before);
    CHECK(f.m.Balance(Marketplace::Account(5)) >= b0 - 1);  // at most the fee
  }
  const uint64_t h = f.m.height() + 1;
  auto offer = OfferMsg(10, 1, h + 10);
  offer.set_capacity(65);
  CHECK(f.m.Run(1, kMsgPostOffer, offer).log().find("capacity 65 exceeds 64") != std::string::npos);
  offer = OfferMsg(0, 1, h + 10);
  CHECK(f.m.Run(1, kMsgPostOffer, offer).codespace() == "ledger");
  offer = OfferMsg(10, 1, h + 10);
  offer.mutable_hardware()->set_gpu_count(0);
  CHECK(f.m.Run(1, kMsgPostOffer, offer).log().find("gpu_count") != std::string::npos);
  offer = OfferMsg(10, 1, h + 10);
  offer.set_endpoint("has space");
  CHECK(f.m.Run(1, kMsgPostOffer, offer).log().find("endpoint") != std::string::npos);
  CHECK(f.m.ModuleStateDigest() == before);

  // Updating or cancelling someone else's offer.
  Hash256 id = OfferIdOf(f.Ok(1, kMsgPostOffer, OfferMsg(10, 1, h + 50)));
  const Hash256 with_offer = f.m.ModuleStateDigest();
  market::v1::MsgCancelOffer c;
  c.set_offer_id(HashBytes(id));
  CHECK(f.m.Run(2, kMsgCancelOffer, c).code() == static_cast<uint32_t>(Code::kPermissionDenied));
  market::v1::MsgUpdateOffer up;
  up.set_offer_id(HashBytes(id));
  *up.mutable_prices() = OfferMsg(8, 1, 1).prices();
  up.set_capacity(2);
  up.set_expires_at(h + 60);
  CHECK(f.m.Run(2, kMsgUpdateOffer, up).code() == static_cast<uint32_t>(Code::kPermissionDenied));
  CHECK(f.m.ModuleStateDigest() == with_offer);
  f.Ok(1, kMsgCancelOffer, c);
  CHECK(f.m.Run(1, kMsgCancelOffer, c).code() != 0);
}

TEST_CASE("queries: depth by kind and class, recent trades, a provider's record") {
  Fixture f;
  f.Ok(1, kMsgPostOffer, OfferMsg(5, 3, 1000, "a100"));
  f.Ok(2, kMsgPostOffer, OfferMsg(5, 2, 1000, "h100"));
  f.Ok(3, kMsgPostOffer, OfferMsg(9, 1, 1000, "h100"));
  f.Ok(5, kMsgPlaceOrder, OrderMsg(4, 10, 500));
  f.Ok(6, kMsgPlaceOrder, OrderMsg(4, 5, 500));
  f.Ok(7, kMsgPlaceOrder, OrderMsg(3, 1, 500));

  market::v1::QueryDepthRequest dq;
  dq.set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
  market::v1::QueryDepthResponse d;
  REQUIRE(ParseBytes(&d, f.m.Query("market/depth", dq)));
  REQUIRE(d.asks_size() == 2);
  CHECK(d.asks(0).price_per_unit() == 5);
  CHECK(d.asks(0).quantity() == 5);
  CHECK(d.asks(0).count() == 2);
  CHECK(d.asks(1).price_per_unit() == 9);
  REQUIRE(d.bids_size() == 2);
  CHECK(d.bids(0).price_per_unit() == 4);
  CHECK(d.bids(0).quantity() == 15);
  CHECK(d.bids(1).price_per_unit() == 3);
  dq.set_hardware_class("h100");
  REQUIRE(ParseBytes(&d, f.m.Query("market/depth", dq)));
  REQUIRE(d.asks_size() == 2);
  CHECK(d.asks(0).quantity() == 2);
  dq.set_levels(1);
  REQUIRE(ParseBytes(&d, f.m.Query("market/depth", dq)));
  CHECK(d.asks_size() == 1);

  // Trades: newest first, the ring keeps 8.
  std::vector<Bytes> orders;  // one block: no job reaches its commit deadline meanwhile
  for (int i = 0; i < 10; ++i)
    orders.push_back(f.m.Tx(8, kMsgPlaceOrder, OrderMsg(100 + i, 1, 500)));
  for (const auto& r : f.m.Block(orders).tx_results) REQUIRE(r.code() == 0);
  market::v1::QueryTradesRequest tq;
  tq.set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
  market::v1::QueryTradesResponse t;
  REQUIRE(ParseBytes(&t, f.m.Query("market/trades", tq)));
  CHECK(t.trades_size() == 6);  // capacity 6 in all
  CHECK(t.trades(0).price_per_unit() == 9);
  CHECK(t.trades(0).hardware_class() == "h100");
  CHECK(t.trades(5).price_per_unit() == 5);
  tq.set_limit(2);
  REQUIRE(ParseBytes(&t, f.m.Query("market/trades", tq)));
  CHECK(t.trades_size() == 2);

  market::v1::QueryProviderRequest pq;
  pq.set_address(HashBytes(Marketplace::Account(1)));
  market::v1::QueryProviderResponse p;
  REQUIRE(ParseBytes(&p, f.m.Query("market/provider", pq)));
  REQUIRE(p.offers_size() == 1);
  CHECK(p.offers(0).active() == 3);
}
