// The module interface as a next module would use it: a toy queue module (test fixture) next
// to the bank, with ordered scans of its own keys, end-block processing of expiries, events,
// queries, and the rules that keep scans inside declared prefixes.
#include <doctest/doctest.h>

#include "node_harness.h"
#include "probity/contracts/bank.h"
#include "probity/contracts/standard_modules.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"

using namespace probity;
using namespace probity::ledger;
using testing::TestKey;

namespace {

constexpr std::string_view kEnqueue = "probity.test.Enqueue";

// Items expire two blocks after they are queued; EndBlock removes them in key order.
// Keys: "q/" + expiry height (u64 BE) + tx id. The prefix "x/" is not declared scannable.
class QueueModule final : public Module {
 public:
  std::string_view Name() const override { return "queue"; }
  std::vector<std::string> MessageTypes() const override { return {std::string(kEnqueue)}; }
  std::vector<std::string> ScanPrefixes() const override { return {"q/"}; }
  Status InitGenesis(Context&, std::string_view) override { return Status::OK(); }
  Status ValidateMsg(const types::v1::Msg& m) const override {
    if (m.value().empty() || m.value().size() > 64) {
      return Status::InvalidArgument("an item is 1..64 bytes");
    }
    return Status::OK();
  }
  Status HandleMsg(Context& ctx, const TxInfo& tx, const types::v1::Msg& m) override {
    if (m.value() == "scan-x") {  // a module bug: scanning an undeclared prefix
      return ctx.Store(*this).Scan(AsBytes(std::string("x/")), AsBytes(std::string("x0")),
                                   [](ByteView, ByteView) { return true; });
    }
    std::string key = "q/";
    uint8_t h[8];
    PutU64BE(h, ctx.block().height + 2);
    key.append(reinterpret_cast<char*>(h), 8);
    key.append(reinterpret_cast<const char*>(tx.id.data()), 32);
    ctx.Store(*this).Set(AsBytes(key), AsBytes(m.value()));
    // Scans see this transaction's own writes and the block's earlier ones.
    size_t seen = 0;
    PROBITY_RETURN_IF_ERROR(ScanPrefix(ctx.Store(*this), AsBytes(std::string("q/")),
                                       [&](ByteView, ByteView) { return ++seen, true; }));
    types::v1::Event e;
    e.set_type("queue.enqueued");
    auto* a = e.add_attributes();
    a->set_key("queued_now");
    a->set_value(std::to_string(seen));
    ctx.Emit(e);
    return Status::OK();
  }
  Status EndBlock(Context& ctx) override {
    std::vector<Bytes> expired;
    uint8_t upto[8];
    PutU64BE(upto, ctx.block().height + 1);
    std::string end = "q/" + std::string(reinterpret_cast<char*>(upto), 8);
    PROBITY_RETURN_IF_ERROR(
        ctx.Store(*this).Scan(AsBytes(std::string("q/")), AsBytes(end), [&](ByteView k, ByteView) {
          expired.push_back(ToBytes(k));
          return true;
        }));
    for (const auto& k : expired) {
      ctx.Store(*this).Delete(k);
      types::v1::Event e;
      e.set_type("queue.expired");
      ctx.Emit(e);
    }
    return Status::OK();
  }
  Result<Bytes> Query(const QueryContext& ctx, std::string_view path, ByteView) const override {
    if (path != "count") return Status::NotFound("no such query");
    uint64_t n = 0;
    PROBITY_RETURN_IF_ERROR(ScanPrefix(ctx.Store(*this), AsBytes(std::string("q/")),
                                       [&](ByteView, ByteView) { return ++n, true; }));
    std::string s = std::to_string(n);
    return Bytes(s.begin(), s.end());
  }
};

Bytes Enqueue(int from, uint64_t nonce, const std::string& item) {
  TxFields f;
  f.chain_id = "test-chain";
  f.nonce = nonce;
  f.fee = 1;
  f.msg_type_url = std::string(kEnqueue);
  f.msg_value.assign(item.begin(), item.end());
  return BuildSignedTx(TestKey(static_cast<uint64_t>(from)), f).value();
}

std::string Count(ChainApp& app, uint64_t height = 0) {
  QueryRequest q;
  q.path = "queue/count";
  q.height = height;
  auto r = app.Query(q);
  if (!r.ok()) return "error: " + r.status().message();
  return std::string(r->value->begin(), r->value->end());
}

}  // namespace

TEST_CASE("a module scans its declared keys in order, across layers, and expires at end-block") {
  testing::TempDir dir;
  ModuleSet set = contracts::StandardModules();
  set.modules.push_back(std::make_unique<QueueModule>());
  std::string bank = "{\"balances\":[{\"address\":\"" + EncodeAddress(TestKey(1).PublicKey()) +
                     "\",\"amount\":\"1000\"}]}";
  auto chain =
      testing::TestChain::Open(dir.path(), testing::TestGenesis({{"bank", bank}}), std::move(set));
  REQUIRE(chain.ok());
  ChainApp& app = (*chain)->app();

  // Block 1: two items; the second sees both (the first from the block layer).
  auto b1 = (*chain)->ExecuteBlock({Enqueue(1, 1, "a"), Enqueue(1, 2, "b")});
  REQUIRE(b1.ok());
  CHECK(b1->tx_results[0].code() == 0);
  CHECK(b1->tx_results[1].events(0).attributes(0).value() == "2");
  CHECK(Count(app) == "2");
  // Block 2: one more; it sees the two committed ones (from the ordered copy) and itself.
  auto b2 = (*chain)->ExecuteBlock({Enqueue(1, 3, "c")});
  REQUIRE(b2.ok());
  CHECK(b2->tx_results[0].events(0).attributes(0).value() == "3");
  // Block 3: the block-1 items expire at its end.
  auto b3 = (*chain)->ExecuteBlock({});
  REQUIRE(b3.ok());
  CHECK(b3->end_block_events.size() == 2);
  CHECK(b3->end_block_events[0].type() == "queue.expired");
  CHECK(Count(app) == "1");
  // History: values are provable at any height, but scans only exist for the latest.
  CHECK(Count(app, 2).find("latest") != std::string::npos);
  auto b4 = (*chain)->ExecuteBlock({});
  REQUIRE(b4.ok());
  CHECK(b4->end_block_events.size() == 1);
  CHECK(Count(app) == "0");

  // Scanning an undeclared prefix fails the message (and only it), with a reason.
  auto bad = (*chain)->ExecuteBlock({Enqueue(1, 4, "scan-x"), Enqueue(1, 5, "d")});
  REQUIRE(bad.ok());
  CHECK(bad->tx_results[0].codespace() == "queue");
  CHECK(bad->tx_results[0].code() == static_cast<uint32_t>(Code::kFailedPrecondition));
  CHECK(bad->tx_results[0].log().find("ScanPrefixes") != std::string::npos);
  CHECK(bad->tx_results[1].code() == 0);
  CHECK(Count(app) == "1");
}

TEST_CASE("a restarted chain scans what it committed before") {
  testing::TempDir dir;
  std::string bank = "{\"balances\":[{\"address\":\"" + EncodeAddress(TestKey(1).PublicKey()) +
                     "\",\"amount\":\"1000\"}]}";
  Genesis g = testing::TestGenesis({{"bank", bank}});
  {
    ModuleSet set = contracts::StandardModules();
    set.modules.push_back(std::make_unique<QueueModule>());
    auto chain = testing::TestChain::Open(dir.path(), g, std::move(set));
    REQUIRE(chain.ok());
    REQUIRE((*chain)->ExecuteBlock({Enqueue(1, 1, "a"), Enqueue(1, 2, "b")}).ok());
  }
  ModuleSet set = contracts::StandardModules();
  set.modules.push_back(std::make_unique<QueueModule>());
  auto chain = testing::TestChain::Open(dir.path(), g, std::move(set));
  REQUIRE(chain.ok());
  CHECK(Count((*chain)->app()) == "2");
  CHECK((*chain)->app().Info().last_height == 1);
}
