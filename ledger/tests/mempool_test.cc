// The mempool: order, nonce runs, limits, eviction, replacement and re-checks.
#include "probity/ledger/mempool.h"

#include <doctest/doctest.h>

#include <map>

#include "probity/primitives/sha256.h"

using namespace probity;
using namespace probity::ledger;

namespace {

XOnlyPubKey Sender(int i) {
  XOnlyPubKey k{};
  k[0] = static_cast<uint8_t>(i);
  return k;
}

// A stand-in for a checked transaction; its bytes name it, so tests can read what was reaped.
struct Fake {
  Bytes bytes;
  CheckTxResponse checked;
};

Fake Tx(int sender, uint64_t nonce, uint64_t fee, uint64_t next_nonce = 1,
        uint64_t balance = 1000000) {
  Fake f;
  std::string s =
      "tx " + std::to_string(sender) + "/" + std::to_string(nonce) + "/" + std::to_string(fee);
  f.bytes.assign(s.begin(), s.end());
  f.checked.tx.id = Sha256(ByteView(f.bytes));
  f.checked.tx.signer = Sender(sender);
  f.checked.tx.nonce = nonce;
  f.checked.tx.fee = fee;
  f.checked.tx.size = f.bytes.size();
  f.checked.account_next_nonce = next_nonce;
  f.checked.account_fee_balance = balance;
  return f;
}

std::string Name(const Bytes& b) { return std::string(b.begin(), b.end()); }

TxVerdict Add(Mempool& m, const Fake& f, std::vector<DroppedTx>* evicted = nullptr) {
  bool stale = false;
  TxVerdict v = m.Add(f.bytes, f.checked, m.generation(), evicted, &stale);
  REQUIRE_FALSE(stale);
  return v;
}

uint32_t C(TxCode c) { return static_cast<uint32_t>(c); }

}  // namespace

TEST_CASE("reap: highest fee first, arrival breaks ties, nonces in order per account") {
  Mempool m({});
  REQUIRE(Add(m, Tx(1, 1, 5)).ok());
  REQUIRE(Add(m, Tx(1, 2, 50)).ok());  // waits behind its cheaper nonce 1
  REQUIRE(Add(m, Tx(2, 1, 10)).ok());
  REQUIRE(Add(m, Tx(3, 1, 10)).ok());  // same fee as sender 2, arrived later
  REQUIRE(Add(m, Tx(4, 1, 1)).ok());
  std::vector<std::string> got;
  for (const auto& b : m.Reap(100, 1 << 20)) got.push_back(Name(*b));
  CHECK(got ==
        std::vector<std::string>{"tx 2/1/10", "tx 3/1/10", "tx 1/1/5", "tx 1/2/50", "tx 4/1/1"});
  CHECK(m.Reap(2, 1 << 20).size() == 2);
  CHECK(m.size() == 5);
}

TEST_CASE("nonces: gaps and duplicates are refused, a higher fee replaces") {
  Mempool m({});
  CHECK(Add(m, Tx(1, 2, 5)).code == C(TxCode::kNonceGap));
  REQUIRE(Add(m, Tx(1, 1, 5)).ok());
  auto dup = Add(m, Tx(1, 1, 5));
  CHECK(dup.code == C(TxCode::kDuplicate));
  CHECK(Add(m, Tx(1, 1, 4)).code == C(TxCode::kDuplicate));  // lower fee, same nonce
  CHECK(Add(m, Tx(1, 3, 5)).code == C(TxCode::kNonceGap));
  CHECK(Add(m, Tx(1, 3, 5)).log.find("next expected nonce is 2") != std::string::npos);
  std::vector<DroppedTx> replaced;
  REQUIRE(Add(m, Tx(1, 1, 9), &replaced).ok());
  REQUIRE(replaced.size() == 1);
  CHECK(replaced[0].id == Tx(1, 1, 5).checked.tx.id);
  CHECK(m.size() == 1);
  CHECK(Name(*m.Reap(10, 1 << 20)[0]) == "tx 1/1/9");
}

TEST_CASE("fees: an account's pending fees must fit its balance") {
  Mempool m({});
  REQUIRE(Add(m, Tx(1, 1, 60, 1, 100)).ok());
  auto v = Add(m, Tx(1, 2, 50, 1, 100));
  CHECK(v.code == C(TxCode::kInsufficientFee));
  CHECK(v.log.find("110") != std::string::npos);
  CHECK(Add(m, Tx(1, 2, 40, 1, 100)).ok());
}

TEST_CASE("limits: per sender, and a full pool evicts the cheapest tail only for more") {
  MempoolLimits lim;
  lim.max_txs = 3;
  lim.max_per_sender = 2;
  Mempool m(lim);
  REQUIRE(Add(m, Tx(1, 1, 10)).ok());
  REQUIRE(Add(m, Tx(1, 2, 3)).ok());
  CHECK(Add(m, Tx(1, 3, 10)).code == C(TxCode::kSenderLimit));
  REQUIRE(Add(m, Tx(2, 1, 5)).ok());
  // Full. A fee of 3 cannot displace anything; the cheapest tail is sender 1's nonce 2 (fee 3).
  auto full = Add(m, Tx(3, 1, 3));
  CHECK(full.code == C(TxCode::kMempoolFull));
  CHECK(full.log.find("above 3") != std::string::npos);
  std::vector<DroppedTx> evicted;
  REQUIRE(Add(m, Tx(3, 1, 4), &evicted).ok());
  REQUIRE(evicted.size() == 1);
  CHECK(evicted[0].id == Tx(1, 2, 3).checked.tx.id);
  CHECK(evicted[0].reason.code == C(TxCode::kMempoolFull));
  CHECK(m.size() == 3);
  // Sender 1 keeps nonce 1 (no gap was made).
  std::vector<std::string> got;
  for (const auto& b : m.Reap(10, 1 << 20)) got.push_back(Name(*b));
  CHECK(got == std::vector<std::string>{"tx 1/1/10", "tx 2/1/5", "tx 3/1/4"});
}

TEST_CASE("update: included transactions leave, stale and unaffordable ones are dropped") {
  Mempool m({});
  Fake a1 = Tx(1, 1, 10), a2 = Tx(1, 2, 10), a3 = Tx(1, 3, 10);
  Fake b1 = Tx(2, 1, 10), b2 = Tx(2, 2, 10);
  for (const Fake* f : {&a1, &a2, &a3, &b1, &b2}) REQUIRE(Add(m, *f).ok());
  // After the block: sender 1's nonce 1 was included; sender 2's balance dropped to 10.
  std::map<XOnlyPubKey, std::pair<uint64_t, uint64_t>> state = {{Sender(1), {2, 1000}},
                                                                {Sender(2), {2, 10}}};
  auto recheck = [&](ByteView tx) {
    CheckTxResponse r;
    for (const Fake* f : {&a1, &a2, &a3, &b1, &b2}) {
      if (Name(ToBytes(tx)) == Name(f->bytes)) r.tx = f->checked.tx;
    }
    auto [next, balance] = state.at(r.tx.signer);
    r.account_next_nonce = next;
    r.account_fee_balance = balance;
    if (r.tx.nonce < next) r.verdict = TxVerdict::Ledger(TxCode::kNonceUsed, "used");
    return r;
  };
  auto dropped = m.Update({a1.checked.tx.id, b1.checked.tx.id}, recheck);
  // b1 included; b2 needs 10 of a balance of 10: kept. Now shrink further and re-run.
  CHECK(dropped.empty());
  CHECK(m.size() == 3);
  CHECK_FALSE(m.Contains(a1.checked.tx.id));
  state[Sender(2)] = {2, 5};
  dropped = m.Update({}, recheck);
  REQUIRE(dropped.size() == 1);
  CHECK(dropped[0].id == b2.checked.tx.id);
  CHECK(dropped[0].reason.code == C(TxCode::kInsufficientFee));
  // Sender 1's nonce 2 got committed by another node's block: 2 is stale, 3 still fits.
  state[Sender(1)] = {3, 1000};
  dropped = m.Update({}, recheck);
  REQUIRE(dropped.size() == 1);
  CHECK(dropped[0].id == a2.checked.tx.id);
  CHECK(m.size() == 1);
  CHECK(m.Contains(a3.checked.tx.id));
}

TEST_CASE("a check that raced a block is sent back to be redone") {
  Mempool m({});
  uint64_t g = m.generation();
  m.Update({}, [](ByteView) { return CheckTxResponse(); });
  Fake f = Tx(1, 1, 1);
  bool stale = false;
  m.Add(f.bytes, f.checked, g, nullptr, &stale);
  CHECK(stale);
  CHECK(m.size() == 0);
}

TEST_CASE("update re-checks without the pool's lock: a submission meanwhile is kept") {
  Mempool m({});
  Fake a1 = Tx(1, 1, 10), a2 = Tx(1, 2, 10), b1 = Tx(2, 1, 10);
  for (const Fake* f : {&a1, &a2}) REQUIRE(Add(m, *f).ok());
  // After a1's block: sender 1's next nonce is 2. While Update reads the state (here: inside
  // the re-check), a submitter adds sender 2's transaction and sender 1's next one, both
  // checked against the new state. The pool's lock must be free, or this would deadlock.
  Fake a3 = Tx(1, 3, 10, 2);
  int calls = 0;
  auto recheck = [&](ByteView tx) {
    if (calls++ == 0) {
      REQUIRE(Add(m, b1).ok());
      REQUIRE(Add(m, a3).ok());
    }
    CheckTxResponse r;
    r.tx = Name(ToBytes(tx)) == Name(a2.bytes) ? a2.checked.tx : b1.checked.tx;
    r.account_next_nonce = r.tx.signer == Sender(1) ? 2 : 1;
    r.account_fee_balance = 1000;
    return r;
  };
  auto dropped = m.Update({a1.checked.tx.id}, recheck);
  CHECK(dropped.empty());
  CHECK(calls >= 1);
  CHECK(m.size() == 3);
  for (const Fake* f : {&a2, &a3, &b1}) CHECK(m.Contains(f->checked.tx.id));
  auto reaped = m.Reap(10, 1 << 20);
  REQUIRE(reaped.size() == 3);
}

TEST_CASE("update: accounts the block did not touch are re-checked a bounded number at a time") {
  MempoolLimits limits;
  limits.max_txs = 100000;
  limits.max_per_sender = 4;
  limits.recheck_min_per_block = 3;
  limits.recheck_per_block = 5;
  Mempool m(limits);
  std::vector<Fake> txs;
  for (int s = 1; s <= 10; ++s) txs.push_back(Tx(s, 1, 10));
  for (const auto& f : txs) REQUIRE(Add(m, f).ok());
  int calls = 0;
  auto recheck = [&](ByteView tx) {
    ++calls;
    CheckTxResponse r;
    for (const auto& f : txs) {
      if (Name(ToBytes(tx)) == Name(f.bytes)) r.tx = f.checked.tx;
    }
    r.account_next_nonce = 1;
    r.account_fee_balance = 1000;
    return r;
  };
  // An empty block: the floor (3).
  m.Update({}, recheck);
  CHECK(calls == 3);
  // A block of 8 transactions (none of these accounts): 8 / 4 = 2, raised to the floor.
  std::vector<Hash256> other(8);
  for (size_t i = 0; i < other.size(); ++i) other[i] = Sha256("not pending " + std::to_string(i));
  calls = 0;
  m.Update(other, recheck);
  CHECK(calls == 3);
  // A block of 40: 40 / 4 = 10, capped at recheck_per_block (5).
  other.resize(40);
  for (size_t i = 0; i < other.size(); ++i) other[i] = Sha256("not pending " + std::to_string(i));
  calls = 0;
  m.Update(other, recheck);
  CHECK(calls == 5);
  // Round-robin: over enough blocks every account gets its turn, none is dropped.
  CHECK(m.size() == 10);
}
