#include "probity/ledger/chain_app.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <cstring>

#include "committed_state.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/node/v1/genesis.pb.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "rocks_status.h"
#include "state_layers.h"

namespace probity::ledger {
namespace {

constexpr std::string_view kMetaHeight = "app/height";
constexpr std::string_view kMetaAppHash = "app/app_hash";
constexpr std::string_view kMetaGenesisAppHash = "app/genesis_app_hash";
constexpr std::string_view kChainIdKey = "ledger/chain_id";
constexpr std::string_view kParamsKey = "ledger/params";
constexpr std::string_view kNoncePrefix = "ledger/n/";
constexpr size_t kCheckedCacheGeneration = 1 << 17;

rocksdb::Slice AsSlice(ByteView b) {
  return rocksdb::Slice(reinterpret_cast<const char*>(b.data()), b.size());
}
rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

Bytes U64LE(uint64_t v) {
  Bytes b(8);
  PutU64LE(b.data(), v);
  return b;
}

Result<uint64_t> DecodeNonce(const std::optional<Bytes>& v) {
  if (!v) return uint64_t{0};
  if (v->size() != 8) return Status::Corruption("stored nonce is not 8 bytes");
  return GetU64LE(v->data());
}

Result<std::optional<std::string>> ReadMeta(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                                            std::string_view key) {
  std::string v;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), cf, AsSlice(key), &v);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "read " + std::string(key));
  return std::optional<std::string>(std::move(v));
}

bool ValidModuleName(std::string_view n) {
  if (n.empty() || n.size() > 32 || n == "ledger") return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

types::v1::TxResult VerdictResult(const TxVerdict& v) {
  types::v1::TxResult r;
  r.set_code(v.code);
  r.set_codespace(v.codespace);
  r.set_log(v.log);
  return r;
}

}  // namespace

Bytes NonceKey(const XOnlyPubKey& account) {
  Bytes k(kNoncePrefix.size() + account.size());
  std::memcpy(k.data(), kNoncePrefix.data(), kNoncePrefix.size());
  std::memcpy(k.data() + kNoncePrefix.size(), account.data(), account.size());
  return k;
}

// ---------------------------------------------------------------------------------------------

class ChainApp::ExecContext final : public Context {
 public:
  ExecContext(const ChainApp* app, const BlockInfo& block, KvStore* layer, Status* fatal)
      : app_(app), block_(block), layer_(layer), fatal_(fatal) {
    // Stable addresses for the stores handed out: never more than one per module.
    stores_.reserve(app_->modules_.modules.size());
  }
  const BlockInfo& block() const override { return block_; }
  KvStore& Store(const Module& m) override {
    for (auto& [mod, store] : stores_) {
      if (mod == &m) return store;
    }
    stores_.emplace_back(
        &m, PrefixedStore(layer_, std::string(m.Name()) + "/", &app_->ScannableOf(m), fatal_));
    return stores_.back().second;
  }
  void Emit(types::v1::Event event) override { events_.push_back(std::move(event)); }
  std::vector<types::v1::Event>& events() { return events_; }

 private:
  const ChainApp* app_;
  const BlockInfo& block_;
  KvStore* layer_;
  Status* fatal_;
  std::vector<std::pair<const Module*, PrefixedStore>> stores_;
  std::vector<types::v1::Event> events_;
};

class ChainApp::StateQueryContext final : public QueryContext {
 public:
  StateQueryContext(const ChainApp* app, uint64_t height, const KvReader* state)
      : app_(app), height_(height), state_(state) {}
  uint64_t height() const override { return height_; }
  const KvReader& Store(const Module& m) const override {
    for (auto& [mod, r] : readers_) {
      if (mod == &m) return *r;
    }
    readers_.emplace_back(&m, std::make_unique<PrefixedReader>(state_, std::string(m.Name()) + "/",
                                                               &app_->ScannableOf(m)));
    return *readers_.back().second;
  }

 private:
  const ChainApp* app_;
  uint64_t height_;
  const KvReader* state_;
  mutable std::vector<std::pair<const Module*, std::unique_ptr<PrefixedReader>>> readers_;
};

struct ChainApp::Pending {
  uint64_t height = 0;
  uint64_t version = 0;
  Hash256 app_hash{};
  std::unique_ptr<rocksdb::WriteBatch> batch;
  std::vector<Hash256> tx_ids;
  std::vector<StateWrite> writes;  // for the LastBlockView once committed
};

struct ChainApp::Checked {
  DecodedTx tx;
  Module* module = nullptr;
};

struct ChainApp::Prepared {
  TxVerdict verdict;
  std::shared_ptr<const Checked> checked;  // when the verdict is OK
  Hash256 id{};
};

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<ChainApp>> ChainApp::Open(Storage* storage, std::unique_ptr<StateTree> tree,
                                                 ModuleSet modules, ThreadPool* pool) {
  std::unique_ptr<ChainApp> app(new ChainApp());
  app->storage_ = storage;
  app->tree_ = std::move(tree);
  app->pool_ = pool;
  if (modules.fee_payer == nullptr) {
    return Status::InvalidArgument("the module set has no fee payer (the bank module)");
  }
  std::unordered_set<std::string> names;
  for (const auto& m : modules.modules) {
    std::string name(m->Name());
    if (!ValidModuleName(name)) {
      return Status::InvalidArgument("module name '" + name + "' is not [a-z0-9_]{1,32}");
    }
    if (!names.insert(name).second) {
      return Status::InvalidArgument("two modules are named '" + name + "'");
    }
    for (const auto& t : m->MessageTypes()) {
      if (!app->by_type_.emplace(t, m.get()).second) {
        return Status::InvalidArgument("two modules handle message type " + t);
      }
    }
    auto& rel = app->scannable_[m.get()];
    rel = m->ScanPrefixes();
    for (const auto& p : rel) app->flat_prefixes_.push_back(name + "/" + p);
  }
  app->modules_ = std::move(modules);
  app->committed_ =
      std::make_unique<CommittedState>(app->tree_.get(), storage->db(), storage->state_flat());
  PROBITY_RETURN_IF_ERROR(app->LoadCommitted());
  return app;
}

ChainApp::~ChainApp() {
  if (pending_) tree_->Abandon(pending_->version);
}

Status ChainApp::LoadCommitted() {
  rocksdb::DB* db = storage_->db();
  PROBITY_ASSIGN_OR_RETURN(auto height, ReadMeta(db, storage_->meta(), kMetaHeight));
  if (!height) {
    if (tree_->LatestVersion() != 0) {
      return Status::Corruption("the state tree has versions but no block was ever committed");
    }
    return Status::OK();
  }
  PROBITY_ASSIGN_OR_RETURN(auto app_hash, ReadMeta(db, storage_->meta(), kMetaAppHash));
  PROBITY_ASSIGN_OR_RETURN(auto genesis_hash, ReadMeta(db, storage_->meta(), kMetaGenesisAppHash));
  if (height->size() != 8 || !app_hash || app_hash->size() != 32 || !genesis_hash ||
      genesis_hash->size() != 32) {
    return Status::Corruption("app metadata is damaged");
  }
  uint64_t h = GetU64BE(reinterpret_cast<const uint8_t*>(height->data()));
  if (tree_->LatestVersion() != h + 1) {
    return Status::Corruption("state tree is at version " + std::to_string(tree_->LatestVersion()) +
                              " but the last committed height is " + std::to_string(h));
  }
  PROBITY_ASSIGN_OR_RETURN(Hash256 root, tree_->Root(h + 1));
  if (std::memcmp(root.data(), app_hash->data(), 32) != 0) {
    return Status::Corruption("state tree root differs from the committed app hash at height " +
                              std::to_string(h));
  }
  committed_->SetVersion(h + 1);
  PROBITY_ASSIGN_OR_RETURN(auto chain_id, committed_->Get(AsBytes(kChainIdKey)));
  PROBITY_ASSIGN_OR_RETURN(auto params, committed_->Get(AsBytes(kParamsKey)));
  node::v1::LedgerParams p;
  if (!chain_id || !params || !p.ParseFromArray(params->data(), static_cast<int>(params->size()))) {
    return Status::Corruption("ledger chain id or params missing from state");
  }
  chain_id_.assign(chain_id->begin(), chain_id->end());
  params_ = {p.min_fee(), p.max_tx_bytes(), p.max_block_txs(), p.max_block_bytes()};
  std::lock_guard<std::mutex> l(mu_);
  initialised_ = true;
  committed_height_ = h;
  std::memcpy(committed_app_hash_.data(), app_hash->data(), 32);
  std::memcpy(genesis_app_hash_.data(), genesis_hash->data(), 32);
  return Status::OK();
}

InfoResponse ChainApp::Info() const {
  std::lock_guard<std::mutex> l(mu_);
  InfoResponse r;
  r.chain_id = chain_id_;
  r.initialised = initialised_;
  r.last_height = committed_height_;
  r.last_app_hash = committed_app_hash_;
  r.genesis_app_hash = genesis_app_hash_;
  return r;
}

const std::vector<std::string>& ChainApp::ScannableOf(const Module& m) const {
  return scannable_.at(&m);
}

bool ChainApp::InFlatPrefix(ByteView key) const {
  for (const auto& p : flat_prefixes_) {
    if (key.size() >= p.size() && std::memcmp(key.data(), p.data(), p.size()) == 0) return true;
  }
  return false;
}

Module* ChainApp::ModuleFor(const std::string& type_url) const {
  auto it = by_type_.find(type_url);
  return it == by_type_.end() ? nullptr : it->second;
}

// ---------------------------------------------------------------------------------------------
// Genesis

Result<Hash256> ChainApp::InitChain(const Genesis& genesis) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (initialised_) return Status::FailedPrecondition("the chain is already initialised");
  }
  if (pending_) return Status::FailedPrecondition("a block is pending");
  for (const auto& [name, _] : genesis.modules) {
    bool known = false;
    for (const auto& m : modules_.modules) known = known || m->Name() == name;
    if (!known) return Status::InvalidArgument("genesis has a section for unknown module " + name);
  }
  chain_id_ = genesis.chain_id;
  params_ = genesis.params;

  Layer block_layer(committed_.get());
  block_layer.Set(AsBytes(kChainIdKey), AsBytes(chain_id_));
  node::v1::LedgerParams p;
  p.set_min_fee(params_.min_fee);
  p.set_max_tx_bytes(params_.max_tx_bytes);
  p.set_max_block_txs(params_.max_block_txs);
  p.set_max_block_bytes(params_.max_block_bytes);
  block_layer.Set(AsBytes(kParamsKey), AsBytes(SerializeCanonical(p)));

  BlockInfo block;
  block.chain_id = genesis.chain_id;
  block.height = 0;
  block.time_unix_ms = genesis.time_unix_ms;
  block.proposer = genesis.proposer;
  Status fatal;
  for (const auto& m : modules_.modules) {
    auto it = genesis.modules.find(std::string(m->Name()));
    std::string section = it == genesis.modules.end() ? "{}" : it->second;
    ExecContext ctx(this, block, &block_layer, &fatal);
    Status st = m->InitGenesis(ctx, section);
    if (!fatal.ok()) return fatal;
    if (!st.ok()) return st.WithContext("genesis of module " + std::string(m->Name()));
  }
  return FinishVersion(0, &block_layer, {});
}

// ---------------------------------------------------------------------------------------------
// Checks

TxVerdict ChainApp::CheckStateless(ByteView bytes, DecodedTx* tx, Module** module) const {
  TxVerdict v = DecodeTx(bytes, params_.max_tx_bytes, tx);
  if (!v.ok()) return v;
  if (tx->chain_id != chain_id_) {
    return TxVerdict::Ledger(TxCode::kWrongChain, "transaction is for chain '" + tx->chain_id +
                                                      "' but this chain is '" + chain_id_ + "'");
  }
  if (tx->fee < params_.min_fee) {
    return TxVerdict::Ledger(TxCode::kFeeTooLow, "fee " + std::to_string(tx->fee) +
                                                     " is below the minimum of " +
                                                     std::to_string(params_.min_fee));
  }
  Module* m = ModuleFor(tx->msg_type_url);
  if (m == nullptr) {
    return TxVerdict::Ledger(TxCode::kUnknownMessage,
                             "no module handles message type '" + tx->msg_type_url + "'");
  }
  types::v1::Msg msg;
  msg.set_type_url(tx->msg_type_url);
  msg.set_value(tx->msg_value.data(), tx->msg_value.size());
  Status st = m->ValidateMsg(msg);
  if (!st.ok()) {
    return TxVerdict::Ledger(TxCode::kInvalidMessage, tx->msg_type_url + ": " + st.message());
  }
  *module = m;
  return TxVerdict::Ok();
}

TxVerdict ChainApp::CheckSignature(const DecodedTx& tx) const {
  if (!VerifyTxSignature(tx)) {
    return TxVerdict::Ledger(TxCode::kBadSignature, "the signature does not verify for signer " +
                                                        EncodeAddress(tx.signer));
  }
  return TxVerdict::Ok();
}

void ChainApp::CheckFully(ByteView bytes, Prepared* out) {
  out->id = TxId(bytes);
  if (auto c = CacheFind(out->id)) {
    out->checked = std::move(c);
    return;
  }
  auto fresh = std::make_shared<Checked>();
  out->verdict = CheckStateless(bytes, &fresh->tx, &fresh->module);
  if (out->verdict.ok()) out->verdict = CheckSignature(fresh->tx);
  if (!out->verdict.ok()) return;
  out->checked = fresh;
  CacheAdd(std::move(fresh));
}

CheckTxResponse ChainApp::CheckTx(ByteView bytes, CheckTxKind kind) {
  CheckTxResponse r;
  uint64_t height;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!initialised_) {
      r.verdict = TxVerdict::Ledger(TxCode::kNotAccepting, "the chain is not initialised");
      return r;
    }
    height = committed_height_;
  }
  Module* module = nullptr;
  std::shared_ptr<const Checked> known;
  if (kind == CheckTxKind::kRecheck) known = CacheFind(TxId(bytes));
  if (known) {
    r.tx = known->tx;
    module = known->module;
  } else {
    r.verdict = CheckStateless(bytes, &r.tx, &module);
    if (!r.verdict.ok()) return r;
  }

  const std::shared_ptr<const KvReader> view = ReadView();
  auto nonce = view->Get(NonceKey(r.tx.signer));
  Result<uint64_t> last = nonce.ok() ? DecodeNonce(*nonce) : Result<uint64_t>(nonce.status());
  StateQueryContext qctx(this, height, view.get());
  auto balance = modules_.fee_payer->FeeBalance(qctx, r.tx.signer);
  if (!last.ok() || !balance.ok()) {
    r.verdict = TxVerdict::Ledger(TxCode::kNotAccepting, "the node cannot read its state: " +
                                                             (last.ok() ? balance.status().message()
                                                                        : last.status().message()));
    return r;
  }
  r.account_next_nonce = *last + 1;
  r.account_fee_balance = *balance;
  if (r.tx.nonce <= *last) {
    r.verdict = TxVerdict::Ledger(TxCode::kNonceUsed, "nonce " + std::to_string(r.tx.nonce) +
                                                          " was already used (next is " +
                                                          std::to_string(*last + 1) + ")");
    return r;
  }
  if (kind == CheckTxKind::kNew && !CacheFind(r.tx.id)) {
    r.verdict = CheckSignature(r.tx);
    if (!r.verdict.ok()) return r;
    auto c = std::make_shared<Checked>();
    c->tx = r.tx;
    c->module = module;
    CacheAdd(std::move(c));
  }
  return r;
}

PrepareProposalResponse ChainApp::PrepareProposal(const PrepareProposalRequest& req) {
  PrepareProposalResponse r;
  uint64_t bytes = 0;
  for (size_t i = 0; i < req.candidates.size(); ++i) {
    if (r.chosen.size() >= params_.max_block_txs) break;
    size_t n = req.candidates[i].size();
    if (n > params_.max_tx_bytes || bytes + n > params_.max_block_bytes) continue;
    bytes += n;
    r.chosen.push_back(i);
  }
  return r;
}

ProcessProposalResponse ChainApp::ProcessProposal(const ProcessProposalRequest& req) {
  ProcessProposalResponse r;
  if (req.block.chain_id != chain_id_) {
    r.reason = "block is for chain '" + req.block.chain_id + "'";
    return r;
  }
  if (req.txs.size() > params_.max_block_txs) {
    r.reason = "block has " + std::to_string(req.txs.size()) + " transactions; the limit is " +
               std::to_string(params_.max_block_txs);
    return r;
  }
  uint64_t bytes = 0;
  for (const auto& t : req.txs) bytes += t.size();
  if (bytes > params_.max_block_bytes) {
    r.reason = "block carries " + std::to_string(bytes) + " bytes of transactions; the limit is " +
               std::to_string(params_.max_block_bytes);
    return r;
  }
  std::vector<Prepared> prepared(req.txs.size());
  pool_->ParallelFor(req.txs.size(), [&](size_t i) { CheckFully(req.txs[i], &prepared[i]); });
  for (size_t i = 0; i < prepared.size(); ++i) {
    if (!prepared[i].verdict.ok()) {
      r.reason = "transaction " + std::to_string(i) + " is invalid: " + prepared[i].verdict.log;
      return r;
    }
  }
  r.accept = true;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Execution

types::v1::TxResult ChainApp::DeliverTx(const BlockInfo& block, const Prepared& p, uint32_t index,
                                        Layer* block_layer, Status* fatal) {
  if (!p.verdict.ok()) return VerdictResult(p.verdict);
  const DecodedTx& tx = p.checked->tx;
  Module* module = p.checked->module;
  types::v1::TxResult r;

  Bytes nonce_key = NonceKey(tx.signer);
  auto stored = block_layer->Get(nonce_key);
  if (!stored.ok()) {
    *fatal = stored.status();
    return r;
  }
  auto last = DecodeNonce(*stored);
  if (!last.ok()) {
    *fatal = last.status();
    return r;
  }
  if (tx.nonce <= *last) {
    return VerdictResult(TxVerdict::Ledger(
        TxCode::kNonceUsed, "nonce " + std::to_string(tx.nonce) + " was already used (next is " +
                                std::to_string(*last + 1) + ")"));
  }
  if (tx.nonce != *last + 1) {
    return VerdictResult(TxVerdict::Ledger(TxCode::kNonceGap, "nonce " + std::to_string(tx.nonce) +
                                                                  " is out of order (expected " +
                                                                  std::to_string(*last + 1) + ")"));
  }
  // The ante writes (nonce, fee) and then the message's, each undone on failure.
  const size_t ante_mark = block_layer->Mark();
  block_layer->Set(nonce_key, U64LE(tx.nonce));
  ExecContext ante_ctx(this, block, block_layer, fatal);
  Status st = modules_.fee_payer->ChargeFee(ante_ctx, tx.signer, tx.fee);
  if (!fatal->ok()) return r;
  if (!st.ok()) {
    block_layer->Rollback(ante_mark);
    block_layer->ForgetJournal();
    return VerdictResult(TxVerdict::Ledger(TxCode::kInsufficientFee, st.message()));
  }
  r.set_fee(tx.fee);
  for (auto& e : ante_ctx.events()) *r.add_events() = std::move(e);

  const size_t msg_mark = block_layer->Mark();
  ExecContext ctx(this, block, block_layer, fatal);
  types::v1::Msg msg;
  msg.set_type_url(tx.msg_type_url);
  msg.set_value(tx.msg_value.data(), tx.msg_value.size());
  TxInfo info{tx.id, tx.signer, tx.nonce, tx.fee, index};
  st = module->HandleMsg(ctx, info, msg);
  if (!fatal->ok()) return r;
  if (!st.ok()) {
    block_layer->Rollback(msg_mark);
    block_layer->ForgetJournal();
    r.set_code(static_cast<uint32_t>(st.code()));
    r.set_codespace(std::string(module->Name()));
    r.set_log(st.message());
    return r;
  }
  block_layer->ForgetJournal();
  for (auto& e : ctx.events()) *r.add_events() = std::move(e);
  return r;
}

Result<FinalizeBlockResponse> ChainApp::FinalizeBlock(const FinalizeBlockRequest& req) {
  if (pending_) return Status::FailedPrecondition("a block is already pending");
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!initialised_) return Status::FailedPrecondition("the chain is not initialised");
    if (req.block.height != committed_height_ + 1) {
      return Status::FailedPrecondition("block height " + std::to_string(req.block.height) +
                                        " does not follow the committed height " +
                                        std::to_string(committed_height_));
    }
  }
  if (req.block.chain_id != chain_id_) {
    return Status::InvalidArgument("block is for chain '" + req.block.chain_id + "'");
  }

  const size_t n = req.txs.size();
  std::vector<Prepared> prepared(n);
  pool_->ParallelFor(n, [&](size_t i) { CheckFully(req.txs[i], &prepared[i]); });

  const std::shared_ptr<const KvReader> view = ReadView();
  Layer block_layer(view.get());
  Status fatal;
  FinalizeBlockResponse resp;
  auto run_hook = [&](bool begin) -> Status {
    for (const auto& m : modules_.modules) {
      ExecContext ctx(this, req.block, &block_layer, &fatal);
      Status st = begin ? m->BeginBlock(ctx) : m->EndBlock(ctx);
      if (!fatal.ok()) return fatal;
      if (!st.ok()) {
        return st.WithContext(std::string(begin ? "begin" : "end") + "-block of module " +
                              std::string(m->Name()));
      }
      auto& out = begin ? resp.begin_block_events : resp.end_block_events;
      for (auto& e : ctx.events()) out.push_back(std::move(e));
    }
    return Status::OK();
  };
  PROBITY_RETURN_IF_ERROR(run_hook(true));
  resp.tx_results.reserve(n);
  std::vector<Hash256> ids;
  ids.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    resp.tx_results.push_back(
        DeliverTx(req.block, prepared[i], static_cast<uint32_t>(i), &block_layer, &fatal));
    if (!fatal.ok()) return fatal.WithContext("executing transaction " + std::to_string(i));
    ids.push_back(prepared[i].id);
  }
  PROBITY_RETURN_IF_ERROR(run_hook(false));
  resp.tx_ids = ids;
  PROBITY_ASSIGN_OR_RETURN(resp.app_hash,
                           FinishVersion(req.block.height, &block_layer, std::move(ids)));
  return resp;
}

Result<Hash256> ChainApp::FinishVersion(uint64_t height, Layer* block_layer,
                                        std::vector<Hash256> tx_ids) {
  constexpr size_t kMaxReserve = 64u << 20;
  auto batch = std::make_unique<rocksdb::WriteBatch>(
      std::min(last_batch_bytes_ + last_batch_bytes_ / 8, kMaxReserve));
  std::vector<StateWrite> writes;
  writes.reserve(block_layer->writes().size());
  WriteSet& set = block_layer->mutable_writes();
  while (!set.empty()) {
    // Extracted, so that the key moves into the write instead of being copied.
    auto node = set.extract(set.begin());
    Bytes& k = node.key();
    std::optional<Bytes>& v = node.mapped();
    if (InFlatPrefix(k)) {
      if (v) {
        batch->Put(storage_->state_flat(), AsSlice(k), AsSlice(*v));
      } else {
        batch->Delete(storage_->state_flat(), AsSlice(k));
      }
    }
    writes.push_back(StateWrite{std::move(k), std::move(v)});
  }
  const uint64_t version = height + 1;
  std::unique_ptr<Pending> pending = std::make_unique<Pending>();
  PROBITY_ASSIGN_OR_RETURN(Hash256 root, tree_->ApplyVersion(version, writes, batch.get()));
  uint8_t h[8];
  PutU64BE(h, height);
  batch->Put(storage_->meta(), AsSlice(kMetaHeight), rocksdb::Slice(reinterpret_cast<char*>(h), 8));
  batch->Put(storage_->meta(), AsSlice(kMetaAppHash), AsSlice(ByteView(root)));
  if (height == 0) {
    batch->Put(storage_->meta(), AsSlice(kMetaGenesisAppHash), AsSlice(ByteView(root)));
  }
  pending->height = height;
  pending->version = version;
  pending->app_hash = root;
  pending->batch = std::move(batch);
  pending->tx_ids = std::move(tx_ids);
  pending->writes = std::move(writes);
  pending_ = std::move(pending);
  return root;
}

Status ChainApp::Commit(const CommitRequest& req) {
  if (!pending_) return Status::FailedPrecondition("nothing to commit");
  if (req.also_write) {
    Status st = req.also_write(pending_->batch.get());
    if (!st.ok()) {
      Abandon();
      return st;
    }
  }
  Status st = storage_->WriteSynced(pending_->batch.get());
  if (!st.ok()) {
    Abandon();
    return st;
  }
  last_batch_bytes_ = pending_->batch->GetDataSize();
  tree_->MarkCommitted(pending_->version);
  committed_->SetVersion(pending_->version);
  auto view = std::make_shared<const LastBlockView>(committed_.get(), pending_->version,
                                                    std::move(pending_->writes));
  {
    std::lock_guard<std::mutex> l(last_block_mu_);
    view.swap(last_block_);
  }
  view.reset();  // the block before's writes, freed outside the lock
  {
    std::lock_guard<std::mutex> l(mu_);
    committed_height_ = pending_->height;
    committed_app_hash_ = pending_->app_hash;
    if (pending_->height == 0) genesis_app_hash_ = pending_->app_hash;
    initialised_ = true;
  }
  CacheErase(pending_->tx_ids);
  pending_.reset();
  return Status::OK();
}

std::shared_ptr<const KvReader> ChainApp::ReadView() const {
  {
    std::lock_guard<std::mutex> l(last_block_mu_);
    if (last_block_) return last_block_;
  }
  // Not owned: committed_ lives as long as the app.
  return std::shared_ptr<const KvReader>(std::shared_ptr<const KvReader>(), committed_.get());
}

void ChainApp::Abandon() {
  if (!pending_) return;
  tree_->Abandon(pending_->version);
  pending_.reset();
  std::lock_guard<std::mutex> l(mu_);
  if (!initialised_) {
    // InitChain set these before the genesis state was committed.
    chain_id_.clear();
    params_ = LedgerParams();
  }
}

// ---------------------------------------------------------------------------------------------
// Queries

Result<QueryResponse> ChainApp::Query(const QueryRequest& req) const {
  uint64_t latest;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!initialised_) return Status::FailedPrecondition("the chain is not initialised");
    latest = committed_height_;
  }
  uint64_t height = req.height == 0 ? latest : req.height;
  if (height > latest) {
    return Status::NotFound("height " + std::to_string(height) + " is not committed yet (latest " +
                            std::to_string(latest) + ")");
  }
  QueryResponse r;
  r.height = height;
  if (req.path == "store") {
    r.key = req.data;
    if (req.prove) {
      PROBITY_ASSIGN_OR_RETURN(auto vp, tree_->GetWithProof(height + 1, req.data));
      r.value = std::move(vp.first);
      r.proof = std::move(vp.second.encoded);
    } else {
      PROBITY_ASSIGN_OR_RETURN(r.value, tree_->Get(height + 1, req.data));
    }
    return r;
  }
  size_t slash = req.path.find('/');
  if (slash == std::string::npos) {
    return Status::NotFound("query path '" + req.path +
                            "' is neither 'store' nor '<module>/<name>'");
  }
  std::string name = req.path.substr(0, slash);
  const Module* module = nullptr;
  for (const auto& m : modules_.modules) {
    if (m->Name() == name) module = m.get();
  }
  if (module == nullptr) return Status::NotFound("no module named '" + name + "'");
  if (req.prove) {
    return Status::InvalidArgument("module queries carry no proofs; query 'store' keys instead");
  }
  std::string_view sub = std::string_view(req.path).substr(slash + 1);

  rocksdb::DB* db = storage_->db();
  const rocksdb::Snapshot* snap = db->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{db, snap};
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  std::string hb;
  rocksdb::Status s = db->Get(ro, storage_->meta(), AsSlice(kMetaHeight), &hb);
  if (!s.ok() || hb.size() != 8) return FromRocks(s, "read committed height");
  uint64_t snap_height = GetU64BE(reinterpret_cast<const uint8_t*>(hb.data()));
  Result<Bytes> reply = Status::Internal("unset");
  if (req.height == 0 || height == snap_height) {
    SnapshotReader state(tree_.get(), snap_height + 1, db, storage_->state_flat(), snap);
    StateQueryContext ctx(this, snap_height, &state);
    r.height = snap_height;
    reply = module->Query(ctx, sub, req.data);
  } else {
    TreeReader tree(tree_.get(), height + 1);
    StateQueryContext ctx(this, height, &tree);
    reply = module->Query(ctx, sub, req.data);
  }
  if (!reply.ok()) return reply.status();
  r.value = std::move(*reply);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Checked-transaction cache

std::shared_ptr<const ChainApp::Checked> ChainApp::CacheFind(const Hash256& id) const {
  CacheShard& sh = ShardOf(id);
  std::lock_guard<std::mutex> l(sh.mu);
  if (auto it = sh.current.find(id); it != sh.current.end()) return it->second;
  if (auto it = sh.previous.find(id); it != sh.previous.end()) return it->second;
  return nullptr;
}

void ChainApp::CacheAdd(std::shared_ptr<const Checked> c) {
  const Hash256 id = c->tx.id;
  CacheShard& sh = ShardOf(id);
  CheckedMap retired;  // freed after the lock is released
  std::lock_guard<std::mutex> l(sh.mu);
  if (sh.current.size() >= kCheckedCacheGeneration / kCacheShards) {
    retired.swap(sh.previous);
    sh.previous.swap(sh.current);
  }
  sh.current.emplace(id, std::move(c));
}

void ChainApp::CacheErase(const std::vector<Hash256>& ids) {
  std::array<std::vector<const Hash256*>, kCacheShards> by_shard;
  for (const auto& id : ids) by_shard[ShardIndex(id)].push_back(&id);
  std::vector<CheckedMap::node_type> retired;  // freed outside the shards' locks
  retired.reserve(ids.size());
  for (size_t s = 0; s < kCacheShards; ++s) {
    if (by_shard[s].empty()) continue;
    CacheShard& sh = cache_[s];
    std::lock_guard<std::mutex> l(sh.mu);
    for (const Hash256* id : by_shard[s]) {
      if (auto n = sh.current.extract(*id)) retired.push_back(std::move(n));
      if (auto n = sh.previous.extract(*id)) retired.push_back(std::move(n));
    }
  }
}

}  // namespace probity::ledger
