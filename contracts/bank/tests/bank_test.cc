// The bank module inside a chain: transfers, fees, nonces, failures, and the supply invariant
// under random sequences of valid and invalid transactions.
#include "probity/contracts/bank.h"

#include <doctest/doctest.h>

#include <map>
#include <random>

#include "probity/bank/v1/bank.pb.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "test_chain.h"

using namespace probity;
using namespace probity::ledger;
using probity::contracts::Bank;

namespace {

constexpr int kAccounts = 8;

std::string BankGenesis(uint64_t each) {
  std::string s = "{\"balances\":[";
  for (int i = 1; i <= kAccounts; ++i) {
    if (i > 1) s += ",";
    s += "{\"address\":\"" + EncodeAddress(testing::TestKey(i).PublicKey()) + "\",\"amount\":\"" +
         std::to_string(each) + "\"}";
  }
  return s + "]}";
}

ModuleSet BankOnly() {
  ModuleSet set;
  auto bank = std::make_unique<Bank>();
  set.fee_payer = bank.get();
  set.modules.push_back(std::move(bank));
  return set;
}

Bytes Send(int from, const XOnlyPubKey& to, uint64_t amount, uint64_t nonce, uint64_t fee = 10,
           const std::string& chain = "test-chain") {
  bank::v1::MsgSend m;
  m.set_to(to.data(), 32);
  m.set_amount(amount);
  TxFields f;
  f.chain_id = chain;
  f.nonce = nonce;
  f.fee = fee;
  f.msg_type_url = std::string(Bank::kMsgSend);
  std::string v = SerializeCanonical(m);
  f.msg_value.assign(v.begin(), v.end());
  return BuildSignedTx(testing::TestKey(from), f).value();
}

XOnlyPubKey Pub(int i) { return testing::TestKey(i).PublicKey(); }

uint64_t Balance(ChainApp& app, const XOnlyPubKey& a) {
  QueryRequest q;
  q.path = "store";
  q.data = Bank::BalanceKey(a);
  return Bank::DecodeAmount(app.Query(q).value().value).value();
}

// Sum of every balance in the flat state, and the stored supply.
std::pair<uint64_t, uint64_t> SumAndSupply(ChainApp& app) {
  QueryRequest q;
  q.path = "bank/supply";
  bank::v1::QuerySupplyResponse sr;
  auto reply = app.Query(q);
  REQUIRE(reply.ok());
  REQUIRE(reply->value.has_value());
  const Bytes& v = *reply->value;
  REQUIRE(sr.ParseFromArray(v.data(), static_cast<int>(v.size())));
  uint64_t sum = 0;
  std::vector<XOnlyPubKey> all;
  for (int i = 1; i <= kAccounts + 2; ++i) all.push_back(Pub(i));
  all.push_back(Bank::ModuleAccount(Bank::kFeeCollector));
  for (const auto& a : all) sum += Balance(app, a);
  return {sum, sr.amount()};
}

struct Fixture {
  testing::TempDir dir;
  std::unique_ptr<testing::TestChain> chain;
  explicit Fixture(uint64_t each = 1000) {
    auto c = testing::TestChain::Open(
        dir.path(), testing::TestGenesis({{"bank", BankGenesis(each)}}), BankOnly());
    REQUIRE(c.ok());
    chain = std::move(*c);
  }
  ChainApp& app() { return chain->app(); }
};

}  // namespace

TEST_CASE("a transfer moves funds, takes the fee, bumps the nonce and emits an event") {
  Fixture f;
  auto r = f.chain->ExecuteBlock({Send(1, Pub(2), 300, 1)});
  REQUIRE(r.ok());
  REQUIRE(r->tx_results.size() == 1);
  const auto& res = r->tx_results[0];
  CHECK(res.code() == 0);
  CHECK(res.fee() == 10);
  REQUIRE(res.events_size() == 1);
  CHECK(res.events(0).type() == "bank.transfer");
  CHECK(res.events(0).attributes(0).value() == EncodeAddress(Pub(1)));
  CHECK(res.events(0).attributes(0).index());
  CHECK(Balance(f.app(), Pub(1)) == 1000 - 300 - 10);
  CHECK(Balance(f.app(), Pub(2)) == 1300);
  CHECK(Balance(f.app(), Bank::ModuleAccount(Bank::kFeeCollector)) == 10);
  CHECK(f.app().Info().last_height == 1);
  CHECK(f.app().Info().last_app_hash == r->app_hash);
}

TEST_CASE("replayed, reordered and cross-chain transactions fail and change nothing") {
  Fixture f;
  Bytes first = Send(1, Pub(2), 1, 1);
  REQUIRE(f.chain->ExecuteBlock({first}).ok());
  Hash256 before = f.app().Info().last_app_hash;
  auto r = f.chain->ExecuteBlock({first,                               // replay
                                  Send(1, Pub(2), 1, 3),               // gap (nonce 2 next)
                                  Send(1, Pub(2), 1, 2, 10, "other"),  // another chain
                                  Send(3, Pub(2), 1, 1, 0)});          // fee below minimum
  REQUIRE(r.ok());
  CHECK(r->tx_results[0].code() == static_cast<uint32_t>(TxCode::kNonceUsed));
  CHECK(r->tx_results[1].code() == static_cast<uint32_t>(TxCode::kNonceGap));
  CHECK(r->tx_results[2].code() == static_cast<uint32_t>(TxCode::kWrongChain));
  CHECK(r->tx_results[3].code() == static_cast<uint32_t>(TxCode::kFeeTooLow));
  for (const auto& res : r->tx_results) {
    CHECK(res.codespace() == "ledger");
    CHECK_FALSE(res.log().empty());
    CHECK(res.fee() == 0);
  }
  CHECK(r->app_hash == before);
  CHECK(Balance(f.app(), Pub(1)) == 1000 - 1 - 10);
}

TEST_CASE("a failed message keeps the fee and the nonce, and nothing else") {
  Fixture f;
  auto r = f.chain->ExecuteBlock({Send(1, Pub(2), 5000, 1), Send(1, Pub(2), 5, 2)});
  REQUIRE(r.ok());
  const auto& failed = r->tx_results[0];
  CHECK(failed.code() == static_cast<uint32_t>(Code::kFailedPrecondition));
  CHECK(failed.codespace() == "bank");
  CHECK(failed.log().find("insufficient funds") != std::string::npos);
  CHECK(failed.fee() == 10);
  CHECK(failed.events_size() == 0);
  CHECK(r->tx_results[1].code() == 0);  // nonce 1 was consumed
  CHECK(Balance(f.app(), Pub(1)) == 1000 - 10 - 10 - 5);
}

TEST_CASE("a signer who cannot pay the fee changes nothing") {
  Fixture f(15);
  auto r = f.chain->ExecuteBlock({Send(1, Pub(2), 5, 1, 10), Send(1, Pub(2), 1, 2, 10)});
  REQUIRE(r.ok());
  CHECK(r->tx_results[0].code() == 0);
  CHECK(r->tx_results[1].code() == static_cast<uint32_t>(TxCode::kInsufficientFee));
  CHECK(r->tx_results[1].log().find("fee") != std::string::npos);
  CHECK(Balance(f.app(), Pub(1)) == 0);
  CHECK(Balance(f.app(), Pub(2)) == 20);
  // The failed transaction did not use its nonce: nonce 2 is still next.
  CheckTxResponse c = f.app().CheckTx(Send(1, Pub(2), 1, 2, 10), CheckTxKind::kNew);
  CHECK(c.verdict.ok());
  CHECK(c.account_next_nonce == 2);
  CHECK(c.account_fee_balance == 0);
}

TEST_CASE("bad messages are refused before execution") {
  Fixture f;
  TxFields tf;
  tf.chain_id = "test-chain";
  tf.nonce = 1;
  tf.fee = 10;
  tf.msg_type_url = "probity.nothing.v1.MsgMagic";
  Bytes unknown = BuildSignedTx(testing::TestKey(1), tf).value();
  tf.msg_type_url = std::string(Bank::kMsgSend);
  tf.msg_value = {0xff, 0x01};
  Bytes garbage_msg = BuildSignedTx(testing::TestKey(1), tf).value();
  Bytes zero = Send(1, Pub(2), 0, 1);
  for (const Bytes& tx : {unknown, garbage_msg, zero}) {
    CheckTxResponse c = f.app().CheckTx(tx, CheckTxKind::kNew);
    CHECK_FALSE(c.verdict.ok());
    CHECK_FALSE(c.verdict.log.empty());
  }
  CHECK(f.app().CheckTx(unknown, CheckTxKind::kNew).verdict.code ==
        static_cast<uint32_t>(TxCode::kUnknownMessage));
  CHECK(f.app().CheckTx(zero, CheckTxKind::kNew).verdict.log.find("positive") != std::string::npos);
}

TEST_CASE("CheckTx reports the account and refuses replays and bad signatures") {
  Fixture f;
  Bytes tx = Send(1, Pub(2), 1, 1);
  CheckTxResponse c = f.app().CheckTx(tx, CheckTxKind::kNew);
  REQUIRE(c.verdict.ok());
  CHECK(c.account_next_nonce == 1);
  CHECK(c.account_fee_balance == 1000);
  REQUIRE(f.chain->ExecuteBlock({tx}).ok());
  c = f.app().CheckTx(tx, CheckTxKind::kNew);
  CHECK(c.verdict.code == static_cast<uint32_t>(TxCode::kNonceUsed));
  Bytes forged = Send(1, Pub(2), 1, 2);
  forged[forged.size() - 1] ^= 1;  // last byte of the signature
  c = f.app().CheckTx(forged, CheckTxKind::kNew);
  CHECK(c.verdict.code == static_cast<uint32_t>(TxCode::kBadSignature));
  // In a block, the forged transaction fails the same way.
  auto r = f.chain->ExecuteBlock({forged});
  REQUIRE(r.ok());
  CHECK(r->tx_results[0].code() == static_cast<uint32_t>(TxCode::kBadSignature));
}

TEST_CASE("property: random transfers (valid and not) conserve supply and never go negative") {
  Fixture f(500);
  std::mt19937_64 rng(2024);
  std::map<int, uint64_t> next_nonce;
  const uint64_t supply = 500ull * kAccounts;
  for (int block = 0; block < 40; ++block) {
    std::vector<Bytes> txs;
    int n = static_cast<int>(rng() % 12);
    for (int i = 0; i < n; ++i) {
      int from = 1 + static_cast<int>(rng() % kAccounts);
      int to = 1 + static_cast<int>(rng() % (kAccounts + 2));  // includes empty accounts
      uint64_t& nonce = next_nonce[from];
      uint64_t use = nonce + 1;
      switch (rng() % 8) {
        case 0:
          use = nonce;
          break;  // replay or zero
        case 1:
          use = nonce + 2;
          break;  // gap
        default:
          break;
      }
      uint64_t amount = rng() % 3 == 0 ? rng() % 2000 : rng() % 100;  // some overdraw
      uint64_t fee = rng() % 5 == 0 ? 0 : 1 + rng() % 30;
      Bytes tx = Send(from, Pub(to), amount, use == 0 ? 1 : use, fee);
      if (rng() % 15 == 0) tx[rng() % tx.size()] ^= 0x40;  // corrupted on the wire
      txs.push_back(tx);
      if (use == nonce + 1 && fee >= 1) ++nonce;  // optimistic; resynced below
    }
    auto r = f.chain->ExecuteBlock(txs);
    REQUIRE(r.ok());
    for (int a = 1; a <= kAccounts; ++a) {
      // Resync the model's nonces from the chain (some optimistic ones failed).
      QueryRequest q;
      q.path = "store";
      q.data = NonceKey(Pub(a));
      auto v = f.app().Query(q).value().value;
      next_nonce[a] = v ? GetU64LE(v->data()) : 0;
    }
    auto [sum, stored] = SumAndSupply(f.app());
    CHECK(stored == supply);
    CHECK(sum == supply);
  }
}
