#include "probity/marketsim/sim_chain.h"

#include <rocksdb/db.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

#include "probity/contracts/bank.h"
#include "probity/contracts/jobs.h"
#include "probity/contracts/market.h"
#include "probity/contracts/marketplace.h"
#include "probity/contracts/module_state.h"
#include "probity/contracts/staking.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/state_tree.h"
#include "probity/ledger/tx.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"

namespace probity::marketsim {

using contracts::Bank;
using contracts::HashField;
using contracts::Jobs;
using contracts::KeyBuilder;
using contracts::Market;
using contracts::Staking;

namespace {

constexpr int64_t kGenesisTime = 1767225600000;

std::string BankGenesis(int accounts, uint64_t each) {
  std::string s = "{\"balances\":[";
  for (int i = 1; i <= accounts; ++i) {
    if (i > 1) s += ",";
    s += "{\"address\":\"" + EncodeAddress(SimChain::Account(i)) + "\",\"amount\":\"" +
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
Result<M> Parse(ByteView v, std::string_view what) {
  M m;
  if (!m.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
    return Status::Corruption("cannot parse " + std::string(what));
  }
  return m;
}

}  // namespace

std::string HashBytes(const Hash256& h) { return HashField(h); }

Result<Hash256> FromField(const std::string& s) {
  if (s.size() != 32) return Status::InvalidArgument("a hash field is 32 bytes");
  Hash256 h{};
  std::memcpy(h.data(), s.data(), 32);
  return h;
}

Hash256 OrderIdOf(const Bytes& tx) { return Market::OrderId(ledger::TxId(tx)); }
Hash256 OfferIdOf(const Bytes& tx) { return Market::OfferId(ledger::TxId(tx)); }

SecretKey SimChain::Key(int i) {
  return SecretKey::FromBytes(Sha256("probity test key " + std::to_string(i))).value();
}

Result<std::unique_ptr<SimChain>> SimChain::Open(const ChainOptions& options) {
  auto c = std::unique_ptr<SimChain>(new SimChain());
  c->options_ = options;
  std::error_code ec;
  std::string tmpl = (std::filesystem::temp_directory_path(ec) / "probity-sim-XXXXXX").string();
  if (ec || ::mkdtemp(tmpl.data()) == nullptr) {
    return Status::IOError("cannot create a temporary directory");
  }
  c->dir_ = tmpl;
  PROBITY_ASSIGN_OR_RETURN(c->storage_, ledger::Storage::Open(c->dir_, {.block_cache_mb = 16}));
  PROBITY_ASSIGN_OR_RETURN(auto tree,
                           ledger::StateTree::Open(c->storage_->db(), c->storage_->state_tree(),
                                                   {.node_cache_bytes = size_t{16} << 20}));
  c->pool_ = std::make_unique<ledger::ThreadPool>(2);
  ledger::ModuleSet set;
  auto bank = std::make_unique<Bank>();
  Bank* b = bank.get();
  set.fee_payer = b;
  set.modules.push_back(std::move(bank));
  contracts::AddMarketplaceModules(set, b,
                                   contracts::MarketplaceOptions{.catalog = options.catalog});
  PROBITY_ASSIGN_OR_RETURN(c->app_, ledger::ChainApp::Open(c->storage_.get(), std::move(tree),
                                                           std::move(set), c->pool_.get()));
  ledger::Genesis g;
  g.chain_id = options.chain_id;
  g.time_unix_ms = kGenesisTime;
  g.proposer = Key(0).PublicKey();
  g.modules["bank"] = BankGenesis(options.accounts, options.balance);
  if (!options.staking_json.empty()) g.modules["staking"] = options.staking_json;
  if (!options.market_json.empty()) g.modules["market"] = options.market_json;
  if (!options.jobs_json.empty()) g.modules["jobs"] = options.jobs_json;
  g.params.max_tx_bytes = options.max_tx_bytes;
  g.params.max_block_bytes = std::max<uint64_t>(g.params.max_block_bytes, 4 * options.max_tx_bytes);
  PROBITY_RETURN_IF_ERROR(c->app_->InitChain(g).status());
  PROBITY_RETURN_IF_ERROR(c->app_->Commit({}));
  for (int i = 1; i <= options.accounts; ++i) c->index_[Account(i)] = i;
  unsigned __int128 supply = static_cast<unsigned __int128>(options.balance) * options.accounts;
  if (supply >> 64) return Status::InvalidArgument("the genesis supply overflows 64 bits");
  c->supply_ = static_cast<uint64_t>(supply);
  if (options.check_invariants) PROBITY_RETURN_IF_ERROR(c->CheckInvariants());
  return c;
}

SimChain::~SimChain() {
  app_.reset();
  storage_.reset();
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

int SimChain::AccountIndex(const XOnlyPubKey& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? 0 : it->second;
}

uint64_t SimChain::height() const { return app_->Info().last_height; }

Result<Bytes> SimChain::Tx(int signer, std::string_view type_url,
                           const google::protobuf::Message& msg, uint64_t fee) {
  if (!next_nonce_.count(signer)) {
    ledger::QueryRequest q;
    q.path = "store";
    q.data = ledger::NonceKey(Account(signer));
    PROBITY_ASSIGN_OR_RETURN(auto r, app_->Query(q));
    next_nonce_[signer] = (r.value ? GetU64LE(r.value->data()) : 0) + 1;
  }
  ledger::TxFields f;
  f.chain_id = options_.chain_id;
  f.nonce = next_nonce_[signer]++;
  f.fee = fee;
  f.msg_type_url = std::string(type_url);
  std::string v = ledger::SerializeCanonical(msg);
  f.msg_value.assign(v.begin(), v.end());
  f.aux_rand.emplace();  // zeros: the same transactions, ids and samples in every run
  return ledger::BuildSignedTx(Key(signer), f);
}

Result<ledger::FinalizeBlockResponse> SimChain::Block(const std::vector<Bytes>& txs) {
  ledger::InfoResponse info = app_->Info();
  ledger::FinalizeBlockRequest req;
  req.block.chain_id = info.chain_id;
  req.block.height = info.last_height + 1;
  req.block.time_unix_ms = kGenesisTime + static_cast<int64_t>(req.block.height) * 1000;
  req.block.prev_block_hash = last_block_hash_;
  req.block.proposer = Key(0).PublicKey();
  req.txs = txs;
  PROBITY_ASSIGN_OR_RETURN(auto resp, app_->FinalizeBlock(req));
  PROBITY_RETURN_IF_ERROR(app_->Commit({}));
  // A stand-in for the header hash: distinct per block and unknown before the block exists.
  uint8_t h[8];
  PutU64LE(h, req.block.height);
  Bytes m(resp.app_hash.begin(), resp.app_hash.end());
  m.insert(m.end(), h, h + 8);
  last_block_hash_ = TaggedHash("probity/test-block", m);
  last_events_.clear();
  for (const auto& r : resp.tx_results) {
    for (const auto& e : r.events()) last_events_.push_back(e);
  }
  for (const auto& e : resp.begin_block_events) last_events_.push_back(e);
  for (const auto& e : resp.end_block_events) last_events_.push_back(e);
  PROBITY_RETURN_IF_ERROR(NoteIds(last_events_));
  // Nonces of transactions refused before execution were not used.
  for (const auto& r : resp.tx_results) {
    if (r.codespace() == ledger::kLedgerCodespace && r.code() != 0) {
      next_nonce_.clear();
      break;
    }
  }
  if (options_.check_invariants) {
    Status st = CheckInvariants();
    if (!st.ok()) {
      return Status::Internal("after block " + std::to_string(req.block.height) + ": " +
                              st.message());
    }
  }
  return resp;
}

Result<uint64_t> SimChain::Balance(const XOnlyPubKey& account) {
  ledger::QueryRequest q;
  q.path = "store";
  q.data = Bank::BalanceKey(account);
  PROBITY_ASSIGN_OR_RETURN(auto r, app_->Query(q));
  return Bank::DecodeAmount(r.value);
}

Result<Bytes> SimChain::Query(const std::string& path, const google::protobuf::Message& request) {
  ledger::QueryRequest q;
  q.path = path;
  std::string d = ledger::SerializeCanonical(request);
  q.data.assign(d.begin(), d.end());
  PROBITY_ASSIGN_OR_RETURN(auto r, app_->Query(q));
  if (!r.value) return Status::NotFound(path + ": no value");
  return std::move(*r.value);
}

Result<market::v1::Order> SimChain::Order(const Hash256& id) {
  market::v1::QueryByIdRequest req;
  req.set_id(HashBytes(id));
  PROBITY_ASSIGN_OR_RETURN(Bytes v, Query("market/order", req));
  return Parse<market::v1::Order>(v, "an order");
}

Result<market::v1::Offer> SimChain::Offer(const Hash256& id) {
  market::v1::QueryByIdRequest req;
  req.set_id(HashBytes(id));
  PROBITY_ASSIGN_OR_RETURN(Bytes v, Query("market/offer", req));
  return Parse<market::v1::Offer>(v, "an offer");
}

Result<jobs::v1::QueryJobResponse> SimChain::Job(const Hash256& id) {
  jobs::v1::QueryJobRequest req;
  req.set_job_id(HashBytes(id));
  PROBITY_ASSIGN_OR_RETURN(Bytes v, Query("jobs/job", req));
  return Parse<jobs::v1::QueryJobResponse>(v, "a job");
}

Result<staking::v1::QueryStakeResponse> SimChain::Stake(int account) {
  staking::v1::QueryStakeRequest req;
  req.set_address(HashBytes(Account(account)));
  PROBITY_ASSIGN_OR_RETURN(Bytes v, Query("staking/stake", req));
  return Parse<staking::v1::QueryStakeResponse>(v, "a stake");
}

Result<market::v1::ProviderRecord> SimChain::Record(int provider) {
  market::v1::QueryProviderRequest req;
  req.set_address(HashBytes(Account(provider)));
  PROBITY_ASSIGN_OR_RETURN(Bytes v, Query("market/provider", req));
  PROBITY_ASSIGN_OR_RETURN(auto r, Parse<market::v1::QueryProviderResponse>(v, "a record"));
  return r.record();
}

std::optional<Bytes> SimChain::StoreGet(const Bytes& key, Status* error) {
  ledger::QueryRequest q;
  q.path = "store";
  q.data = key;
  auto r = app_->Query(q);
  if (!r.ok()) {
    if (error->ok()) *error = r.status();
    return std::nullopt;
  }
  return r->value;
}

Status SimChain::NoteIds(const std::vector<types::v1::Event>& events) {
  for (const auto& e : events) {
    for (const auto& a : e.attributes()) {
      if (a.key() != "order_id" && a.key() != "job_id" && a.key() != "offer_id") continue;
      PROBITY_ASSIGN_OR_RETURN(Hash256 id, Hash256FromHex(a.value()));
      (a.key() == "offer_id" ? offers_ : orders_).insert(id);
      touched_.insert(id);
    }
  }
  return Status::OK();
}

std::vector<XOnlyPubKey> SimChain::KnownAccounts() const {
  std::vector<XOnlyPubKey> all;
  for (int i = 1; i <= options_.accounts; ++i) all.push_back(Account(i));
  for (const auto& m : {Market::ModuleAccount(), Jobs::ModuleAccount(), Staking::ModuleAccount(),
                        Staking::CommunityPool(), Bank::ModuleAccount(Bank::kFeeCollector)}) {
    all.push_back(m);
  }
  return all;
}

Result<Hash256> SimChain::ModuleStateDigest() {
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
    ScanFlat(*storage_, prefix, add);
  }
  // ...and every other key that can be named: the records of every order, offer and job seen
  // in an event, every account's stake and record, and the modules' counters.
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
  Status error;
  for (const auto& k : keys) {
    auto v = StoreGet(k, &error);
    add(k, v ? ByteView(*v) : AsBytes("<absent>"));
  }
  PROBITY_RETURN_IF_ERROR(error);
  return h.Final();
}

Status SimChain::CheckInvariants() {
  ledger::Storage& st = *storage_;
  Status error;
  auto fail = [](std::string m) { return Status::Internal("invariant broken: " + m); };
  auto counter = [&](std::string_view key) -> uint64_t {
    auto v = StoreGet(ToBytes(AsBytes(key)), &error);
    return v && v->size() >= 8 ? GetU64LE(v->data()) : 0;
  };

  // Supply: constant, and the sum of every balance (none can be negative: u64, and each is at
  // most the supply, so the sum cannot have wrapped). Funds only ever reach the numbered
  // accounts and the module accounts, so those are all the balances there are.
  unsigned __int128 sum = 0;
  std::map<XOnlyPubKey, uint64_t> balances;
  for (const auto& a : KnownAccounts()) {
    PROBITY_ASSIGN_OR_RETURN(uint64_t b, Balance(a));
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
    auto ov = StoreGet(KeyBuilder("market/o/").Bytes32(id).Take(), &error);
    if (ov) {
      PROBITY_ASSIGN_OR_RETURN(auto o, Parse<market::v1::Order>(*ov, "an order"));
      if (o.status() == market::v1::ORDER_STATUS_CLOSED && o.escrow() != 0) {
        return fail("a closed order holds escrow");
      }
      if (o.status() == market::v1::ORDER_STATUS_OPEN &&
          o.escrow() != o.units() * o.max_price_per_unit() + o.verification_fee()) {
        return fail("an open order's escrow is not its full cost");
      }
      escrow_[id] = o.escrow();
    }
    auto jv = StoreGet(KeyBuilder("jobs/j/").Bytes32(id).Take(), &error);
    if (jv) {
      PROBITY_ASSIGN_OR_RETURN(jobs_[id], Parse<jobs::v1::Job>(*jv, "a job"));
    }
  }
  touched_.clear();
  PROBITY_RETURN_IF_ERROR(error);
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
    auto v = StoreGet(KeyBuilder("staking/s/").Bytes32(Account(i)).Take(), &error);
    if (!v) continue;
    PROBITY_ASSIGN_OR_RETURN(auto s, Parse<staking::v1::Stake>(*v, "a stake"));
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
    auto v = StoreGet(KeyBuilder("market/o/").Raw(k.subspan(k.size() - 32)).Take(), &error);
    market::v1::Order o;
    if (!v || !o.ParseFromArray(v->data(), static_cast<int>(v->size())) ||
        o.status() != market::v1::ORDER_STATUS_OPEN) {
      book_problem = fail("the bid book names an order that is not open");
    }
  });
  ScanFlat(st, "market/ask/", [&](ByteView k, ByteView) {
    auto v = StoreGet(KeyBuilder("market/f/").Raw(k.subspan(k.size() - 32)).Take(), &error);
    market::v1::Offer o;
    if (!v || !o.ParseFromArray(v->data(), static_cast<int>(v->size()))) {
      book_problem = fail("the ask book names a missing offer");
      return;
    }
    if (o.closed() || o.active() >= o.capacity()) {
      book_problem = fail("the ask book lists a closed or full offer");
    }
  });
  PROBITY_RETURN_IF_ERROR(error);
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
      std::optional<Bytes> top = StoreGet(
          KeyBuilder("market/top/").U8(static_cast<uint8_t>(side)).U8(kind).Take(), &error);
      PROBITY_RETURN_IF_ERROR(error);
      if (first != top) return fail("the top of a book side is stale");
    }
  }
  return Status::OK();
}

}  // namespace probity::marketsim
