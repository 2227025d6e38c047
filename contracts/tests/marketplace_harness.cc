#include "marketplace_harness.h"

#include <doctest/doctest.h>
#include <rocksdb/db.h>

#include <cstring>

#include "probity/contracts/marketplace.h"
#include "probity/contracts/module_state.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"

namespace probity::contracts::testing {
namespace {

constexpr int64_t kGenesisTime = 1767225600000;

std::string BankGenesis(int accounts, uint64_t each) {
  std::string s = "{\"balances\":[";
  for (int i = 1; i <= accounts; ++i) {
    if (i > 1) s += ",";
    s += "{\"address\":\"" + EncodeAddress(Marketplace::Account(i)) + "\",\"amount\":\"" +
         std::to_string(each) + "\"}";
  }
  return s + "]}";
}

// Every (key, value) under `prefix` in committed flat state.
template <typename Fn>
void ScanFlat(ledger::Storage& storage, std::string_view prefix, Fn fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      storage.db()->NewIterator(rocksdb::ReadOptions(), storage.state_flat()));
  for (it->Seek(rocksdb::Slice(prefix.data(), prefix.size())); it->Valid(); it->Next()) {
    auto k = it->key();
    if (k.size() < prefix.size() || std::memcmp(k.data(), prefix.data(), prefix.size()) != 0) {
      break;
    }
    fn(ByteView(reinterpret_cast<const uint8_t*>(k.data()), k.size()),
       ByteView(reinterpret_cast<const uint8_t*>(it->value().data()), it->value().size()));
  }
}

template <typename M>
M Parse(ByteView v) {
  M m;
  REQUIRE(m.ParseFromArray(v.data(), static_cast<int>(v.size())));
  return m;
}

}  // namespace

std::string HashBytes(const Hash256& h) { return HashField(h); }

Hash256 FromField(const std::string& s) {
  Hash256 h{};
  REQUIRE(s.size() == 32);
  std::memcpy(h.data(), s.data(), 32);
  return h;
}

Hash256 OrderIdOf(const Bytes& tx) { return Market::OrderId(ledger::TxId(tx)); }
Hash256 OfferIdOf(const Bytes& tx) { return Market::OfferId(ledger::TxId(tx)); }

Marketplace::Marketplace(const HarnessOptions& options) : options_(options) {
  std::map<std::string, std::string> sections = {
      {"bank", BankGenesis(options.accounts, options.balance)}};
  if (!options.staking_json.empty()) sections["staking"] = options.staking_json;
  if (!options.market_json.empty()) sections["market"] = options.market_json;
  if (!options.jobs_json.empty()) sections["jobs"] = options.jobs_json;
  ledger::Genesis g = ledger::testing::TestGenesis(sections);
  g.params.max_tx_bytes = options.max_tx_bytes;
  g.params.max_block_bytes = std::max<uint64_t>(g.params.max_block_bytes, 4 * options.max_tx_bytes);
  ledger::ModuleSet set;
  auto bank = std::make_unique<Bank>();
  Bank* b = bank.get();
  set.fee_payer = b;
  set.modules.push_back(std::move(bank));
  AddMarketplaceModules(set, b, MarketplaceOptions{.catalog = options.catalog});
  auto c = ledger::testing::TestChain::Open(dir_.path(), g, std::move(set));
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  chain_ = std::move(*c);
  supply_ = options.balance * static_cast<uint64_t>(options.accounts);
  if (options_.check_invariants) {
    Status st = CheckInvariants();
    REQUIRE_MESSAGE(st.ok(), st.ToString());
  }
}

Marketplace::~Marketplace() = default;

uint64_t Marketplace::height() const { return chain_->app().Info().last_height; }

Bytes Marketplace::Tx(int signer, std::string_view type_url, const google::protobuf::Message& msg,
                      uint64_t fee) {
  if (!next_nonce_.count(signer)) {
    ledger::QueryRequest q;
    q.path = "store";
    q.data = ledger::NonceKey(Account(signer));
    auto r = app().Query(q);
    REQUIRE(r.ok());
    next_nonce_[signer] = (r->value ? GetU64LE(r->value->data()) : 0) + 1;
  }
  ledger::TxFields f;
  f.chain_id = "test-chain";
  f.nonce = next_nonce_[signer]++;
  f.fee = fee;
  f.msg_type_url = std::string(type_url);
  std::string v = ledger::SerializeCanonical(msg);
  f.msg_value.assign(v.begin(), v.end());
  auto tx = ledger::BuildSignedTx(ledger::testing::TestKey(signer), f);
  REQUIRE(tx.ok());
  return *tx;
}

void Marketplace::Resync() { next_nonce_.clear(); }

ledger::FinalizeBlockResponse Marketplace::Block(const std::vector<Bytes>& txs) {
  ledger::InfoResponse info = app().Info();
  ledger::FinalizeBlockRequest req;
  req.block.chain_id = info.chain_id;
  req.block.height = info.last_height + 1;
  req.block.time_unix_ms = kGenesisTime + static_cast<int64_t>(req.block.height) * 1000;
  req.block.prev_block_hash = last_block_hash_;
  req.block.proposer = ledger::testing::TestKey(0).PublicKey();
  req.txs = txs;
  auto resp = app().FinalizeBlock(req);
  REQUIRE_MESSAGE(resp.ok(), resp.status().ToString());
  REQUIRE(app().Commit({}).ok());
  // A stand-in for the header hash: distinct per block and unknown before the block exists.
  uint8_t h[8];
  PutU64LE(h, req.block.height);
  Bytes m(resp->app_hash.begin(), resp->app_hash.end());
  m.insert(m.end(), h, h + 8);
  last_block_hash_ = TaggedHash("probity/test-block", m);
  last_events_.clear();
  for (const auto& r : resp->tx_results) {
    for (const auto& e : r.events()) last_events_.push_back(e);
  }
  for (const auto& e : resp->begin_block_events) last_events_.push_back(e);
  for (const auto& e : resp->end_block_events) last_events_.push_back(e);
  NoteIds(last_events_);
  // Nonces of transactions refused before execution were not used.
  for (const auto& r : resp->tx_results) {
    if (r.codespace() == ledger::kLedgerCodespace && r.code() != 0) {
      Resync();
      break;
    }
  }
  if (options_.check_invariants) {
    Status st = CheckInvariants();
    REQUIRE_MESSAGE(st.ok(), "after block ", req.block.height, ": ", st.ToString());
  }
  return std::move(*resp);
}

types::v1::TxResult Marketplace::Run(int signer, std::string_view type_url,
                                     const google::protobuf::Message& msg) {
  auto r = Block({Tx(signer, type_url, msg)});
  REQUIRE(r.tx_results.size() == 1);
  return r.tx_results[0];
}

void Marketplace::AdvanceTo(uint64_t h) {
  while (height() < h) Block();
}

uint64_t Marketplace::Balance(const XOnlyPubKey& account) {
  ledger::QueryRequest q;
  q.path = "store";
  q.data = Bank::BalanceKey(account);
  auto r = app().Query(q);
  REQUIRE(r.ok());
  return Bank::DecodeAmount(r->value).value();
}

Bytes Marketplace::Query(const std::string& path, const google::protobuf::Message& request) {
  ledger::QueryRequest q;
  q.path = path;
  std::string d = ledger::SerializeCanonical(request);
  q.data.assign(d.begin(), d.end());
  auto r = app().Query(q);
  REQUIRE_MESSAGE(r.ok(), path, ": ", r.status().ToString());
  REQUIRE(r->value.has_value());
  return *r->value;
}

market::v1::Order Marketplace::Order(const Hash256& id) {
  market::v1::QueryByIdRequest req;
  req.set_id(HashBytes(id));
  return Parse<market::v1::Order>(Query("market/order", req));
}

market::v1::Offer Marketplace::Offer(const Hash256& id) {
  market::v1::QueryByIdRequest req;
  req.set_id(HashBytes(id));
  return Parse<market::v1::Offer>(Query("market/offer", req));
}

jobs::v1::QueryJobResponse Marketplace::Job(const Hash256& id) {
  jobs::v1::QueryJobRequest req;
  req.set_job_id(HashBytes(id));
  return Parse<jobs::v1::QueryJobResponse>(Query("jobs/job", req));
}

staking::v1::QueryStakeResponse Marketplace::Stake(int account) {
  staking::v1::QueryStakeRequest req;
  req.set_address(HashBytes(Account(account)));
  return Parse<staking::v1::QueryStakeResponse>(Query("staking/stake", req));
}

market::v1::ProviderRecord Marketplace::Record(int provider) {
  market::v1::QueryProviderRequest req;
  req.set_address(HashBytes(Account(provider)));
  return Parse<market::v1::QueryProviderResponse>(Query("market/provider", req)).record();
}

std::optional<Bytes> Marketplace::StoreGet(const Bytes& key) {
  ledger::QueryRequest q;
  q.path = "store";
  q.data = key;
  auto r = app().Query(q);
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  return r->value;
}

void Marketplace::NoteIds(const std::vector<types::v1::Event>& events) {
  for (const auto& e : events) {
    for (const auto& a : e.attributes()) {
      if (a.key() != "order_id" && a.key() != "job_id" && a.key() != "offer_id") continue;
      auto id = Hash256FromHex(a.value());
      REQUIRE(id.ok());
      (a.key() == "offer_id" ? offers_ : orders_).insert(*id);
      touched_.insert(*id);
    }
  }
}

std::vector<XOnlyPubKey> Marketplace::KnownAccounts() const {
  std::vector<XOnlyPubKey> all;
  for (int i = 1; i <= options_.accounts; ++i) all.push_back(Account(i));
  for (const auto& m : {Market::ModuleAccount(), Jobs::ModuleAccount(), Staking::ModuleAccount(),
                        Staking::CommunityPool(), Bank::ModuleAccount(Bank::kFeeCollector)}) {
    all.push_back(m);
  }
  return all;
}

Hash256 Marketplace::ModuleStateDigest() {
  Sha256Hasher h;
  auto add = [&](ByteView k, ByteView v) {
    uint8_t n[8];
    PutU64LE(n, k.size());
    h.Update(ByteView(n, 8)).Update(k);
    PutU64LE(n, v.size());
    h.Update(ByteView(n, 8)).Update(v);
  };
  // Everything under the modules' scan prefixes (mirrored in the flat column family)...
  for (std::string_view prefix : {"jobs/t/", "market/ask/", "market/bid/", "market/ex/",
                                  "market/po/", "staking/ua/", "staking/uq/", "staking/v/"}) {
    ScanFlat(chain_->storage(), prefix, add);
  }
  // ...and every other key the tests can name: the records of every order, offer and job seen
  // in an event, every test account's stake and record, and the modules' counters.
  std::vector<Bytes> keys;
  for (const auto& id : orders_) {
    keys.push_back(KeyBuilder("market/o/").Bytes32(id).Take());
    keys.push_back(KeyBuilder("jobs/j/").Bytes32(id).Take());
  }
  for (const auto& id : offers_) keys.push_back(KeyBuilder("market/f/").Bytes32(id).Take());
  for (const auto& a : KnownAccounts()) {
    keys.push_back(KeyBuilder("staking/l/").Bytes32(a).Take());
    keys.push_back(KeyBuilder("staking/s/").Bytes32(a).Take());
    keys.push_back(KeyBuilder("market/pr/").Bytes32(a).Take());
  }
  for (std::string_view k : {"market/seq", "staking/vw", "staking/total"}) {
    keys.push_back(ToBytes(AsBytes(k)));
  }
  for (uint8_t kind = 1; kind <= 2; ++kind) {
    keys.push_back(KeyBuilder("market/tc/").U8(kind).Take());
    for (uint8_t side : {'a', 'b'})
      keys.push_back(KeyBuilder("market/top/").U8(side).U8(kind).Take());
  }
  for (const auto& k : keys) {
    auto v = StoreGet(k);
    add(k, v ? ByteView(*v) : AsBytes("<absent>"));
  }
  return h.Final();
}

Status Marketplace::CheckInvariants() {
  ledger::Storage& st = chain_->storage();
  auto fail = [](std::string m) { return Status::Internal("invariant broken: " + m); };
  auto counter = [&](std::string_view key) {
    auto v = StoreGet(ToBytes(AsBytes(key)));
    return v ? GetU64LE(v->data()) : 0;
  };

  // Supply: constant, and the sum of every balance (none can be negative: u64, and each is at
  // most the supply, so the sum cannot have wrapped). Funds only ever reach the test accounts
  // and the module accounts, so those are all the balances there are.
  unsigned __int128 sum = 0;
  std::map<XOnlyPubKey, uint64_t> balances;
  for (const auto& a : KnownAccounts()) {
    uint64_t b = Balance(a);
    if (b > supply_) return fail("a balance above the supply");
    balances[a] = b;
    sum += b;
  }
  if (sum != supply_) {
    return fail("balances sum to " + std::to_string(static_cast<uint64_t>(sum)) + ", supply is " +
                std::to_string(supply_));
  }
  if (counter("bank/supply") != supply_) return fail("bank/supply changed");

  // Re-read the orders and jobs that this block's events named (all of them now and then).
  const bool full = ++blocks_checked_ % 64 == 0 || orders_.size() < 256;
  for (const auto& id : full ? orders_ : touched_) {
    if (!orders_.count(id)) continue;
    auto ov = StoreGet(KeyBuilder("market/o/").Bytes32(id).Take());
    if (ov) {
      auto o = Parse<market::v1::Order>(*ov);
      if (o.status() == market::v1::ORDER_STATUS_CLOSED && o.escrow() != 0) {
        return fail("a closed order holds escrow");
      }
      if (o.status() == market::v1::ORDER_STATUS_OPEN &&
          o.escrow() != o.units() * o.max_price_per_unit() + o.verification_fee()) {
        return fail("an open order's escrow is not its full cost");
      }
      escrow_[id] = o.escrow();
    }
    auto jv = StoreGet(KeyBuilder("jobs/j/").Bytes32(id).Take());
    if (jv) jobs_[id] = Parse<jobs::v1::Job>(*jv);
  }
  touched_.clear();
  // Market escrow: the module account holds exactly the orders' escrow.
  uint64_t escrow = 0, bonds = 0;
  for (const auto& [id, e] : escrow_) escrow += e;
  // What the jobs module must hold: the bonds of open disputes, and a lock on every provider
  // of an unsettled job, every staked verifier of an unsettled attestation, every verifier
  // whose unbonded claim is being disputed.
  std::map<std::string, uint64_t> locks;
  for (const auto& [id, j] : jobs_) {
    const bool open = j.state() != jobs::v1::JOB_STATE_SETTLED &&
                      j.state() != jobs::v1::JOB_STATE_SLASHED &&
                      j.state() != jobs::v1::JOB_STATE_EXPIRED;
    if (!open) continue;
    ++locks[j.provider()];
    if (j.attested() && j.verifier() != j.buyer()) ++locks[j.verifier()];
    if (j.state() == jobs::v1::JOB_STATE_DISPUTED) {
      bonds += j.dispute().bond();
      if (j.dispute().bond() == 0) ++locks[j.dispute().challenger()];
    }
  }
  for (int i = 1; i <= options_.accounts; ++i) {
    const uint64_t held = counter(AsChars(KeyBuilder("staking/l/").Bytes32(Account(i)).key()));
    if (held != locks[HashField(Account(i))]) {
      return fail("account " + std::to_string(i) + " has " + std::to_string(held) +
                  " stake locks, its jobs need " + std::to_string(locks[HashField(Account(i))]));
    }
  }
  if (balances[Market::ModuleAccount()] != escrow) {
    return fail("market holds " + std::to_string(balances[Market::ModuleAccount()]) +
                " but orders' escrow is " + std::to_string(escrow));
  }
  // Challenge bonds: the jobs account holds exactly the bonds of open disputes.
  if (balances[Jobs::ModuleAccount()] != bonds) {
    return fail("jobs holds " + std::to_string(balances[Jobs::ModuleAccount()]) +
                " but open bonds are " + std::to_string(bonds));
  }

  // Stake: the staking account holds every bonded and unbonding amount.
  uint64_t staked = 0, weights = 0;
  for (int i = 1; i <= options_.accounts; ++i) {
    auto v = StoreGet(KeyBuilder("staking/s/").Bytes32(Account(i)).Take());
    if (!v) continue;
    auto s = Parse<staking::v1::Stake>(*v);
    staked += s.bonded() + s.unbonding();
  }
  ScanFlat(st, "staking/v/", [&](ByteView, ByteView v) { weights += GetU64LE(v.data()); });
  if (balances[Staking::ModuleAccount()] != staked || counter("staking/total") != staked) {
    return fail("staking holds " + std::to_string(balances[Staking::ModuleAccount()]) +
                ", records say " + std::to_string(staked) + ", total says " +
                std::to_string(counter("staking/total")));
  }
  if (weights != counter("staking/vw")) return fail("verifier weights do not add up");

  // The book names only open orders and listed offers with free capacity.
  Status book_problem;
  ScanFlat(st, "market/bid/", [&](ByteView k, ByteView) {
    auto v = StoreGet(KeyBuilder("market/o/").Raw(k.subspan(k.size() - 32)).Take());
    if (!v || Parse<market::v1::Order>(*v).status() != market::v1::ORDER_STATUS_OPEN) {
      book_problem = fail("the bid book names an order that is not open");
    }
  });
  ScanFlat(st, "market/ask/", [&](ByteView k, ByteView) {
    auto v = StoreGet(KeyBuilder("market/f/").Raw(k.subspan(k.size() - 32)).Take());
    if (!v) {
      book_problem = fail("the ask book names a missing offer");
      return;
    }
    auto o = Parse<market::v1::Offer>(*v);
    if (o.closed() || o.active() >= o.capacity()) {
      book_problem = fail("the ask book lists a closed or full offer");
    }
  });
  if (!book_problem.ok()) return book_problem;
  // The top of each side of each kind's book is its first entry.
  for (char side : {'a', 'b'}) {
    for (uint8_t kind = 1; kind <= 2; ++kind) {
      std::string prefix = side == 'a' ? "market/ask/" : "market/bid/";
      prefix.push_back(static_cast<char>(kind));
      std::optional<Bytes> first;
      ScanFlat(st, prefix, [&](ByteView k, ByteView v) {
        if (first) return;
        first = ToBytes(k.subspan(7));  // without "market/"
        first->insert(first->end(), v.begin(), v.end());
      });
      std::optional<Bytes> top =
          StoreGet(KeyBuilder("market/top/").U8(static_cast<uint8_t>(side)).U8(kind).Take());
      if (first != top) return fail("the top of a book side is stale");
    }
  }
  return Status::OK();
}

}  // namespace probity::contracts::testing
