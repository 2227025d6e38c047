#include "probity/ledger/node.h"

#include <grpcpp/grpcpp.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstring>
#include <iostream>

#include "probity/ledger/canonical_proto.h"
#include "probity/node/v1/node.grpc.pb.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"
#include "rocks_status.h"

namespace probity::ledger {
namespace {

constexpr std::string_view kGenesisHashKey = "node/genesis_hash";

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Short(const Hash256& h) { return ToHex(h).substr(0, 16); }

std::string HashField(const Hash256& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

}  // namespace

Result<std::unique_ptr<Node>> Node::Open(const std::string& data_dir, NodeOptions options,
                                         ModuleSet modules) {
  std::unique_ptr<Node> n(new Node());
  n->options_ = std::move(options);
  const NodeOptions& o = n->options_;
  if (o.follow.empty()) {
    if (!o.producer_key) {
      return Status::InvalidArgument("a producer needs the proposer's key (or use --follow)");
    }
    if (o.producer_key->PublicKey() != o.genesis.proposer) {
      return Status::PermissionDenied(
          "this node's key " + EncodeAddress(o.producer_key->PublicKey()) +
          " is not the chain's proposer " + EncodeAddress(o.genesis.proposer) +
          "; run it as a follower (--follow ADDR)");
    }
  } else {
    PROBITY_ASSIGN_OR_RETURN(n->follow_credentials_, MakeChannelCredentials(o.follow_tls));
  }
  PROBITY_ASSIGN_OR_RETURN(
      n->storage_, Storage::Open(data_dir, {.block_cache_mb = o.config.block_cache_mb,
                                            .test_fail_write_at = o.test_fail_block_write_at}));
  n->pool_ = std::make_unique<ThreadPool>(o.config.verify_threads);
  StateTreeOptions tree_options;
  tree_options.node_cache_bytes = size_t{o.config.state_cache_mb} << 20;
  tree_options.keep_recent_versions = o.config.keep_recent_heights;
  PROBITY_ASSIGN_OR_RETURN(
      auto tree, StateTree::Open(n->storage_->db(), n->storage_->state_tree(), tree_options));
  PROBITY_ASSIGN_OR_RETURN(n->app_, ChainApp::Open(n->storage_.get(), std::move(tree),
                                                   std::move(modules), n->pool_.get()));
  n->blocks_ = std::make_unique<BlockStore>(n->storage_.get());
  n->mempool_ = std::make_unique<Mempool>(o.config.mempool);
  PROBITY_RETURN_IF_ERROR(n->Recover());
  return n;
}

Node::~Node() { Stop(); }

::probity::Status Node::Recover() {
  const Genesis& g = options_.genesis;
  Hash256 genesis_hash = GenesisHash(g);
  rocksdb::DB* db = storage_->db();
  if (!app_->Info().initialised) {
    PROBITY_RETURN_IF_ERROR(app_->InitChain(g).status());
    PROBITY_RETURN_IF_ERROR(app_->Commit({[&](rocksdb::WriteBatch* b) {
      b->Put(storage_->meta(), rocksdb::Slice(kGenesisHashKey.data(), kGenesisHashKey.size()),
             HashField(genesis_hash));
      return ::probity::Status::OK();
    }}));
  } else {
    std::string stored;
    rocksdb::Status s =
        db->Get(rocksdb::ReadOptions(), storage_->meta(),
                rocksdb::Slice(kGenesisHashKey.data(), kGenesisHashKey.size()), &stored);
    if (!s.ok()) return FromRocks(s, "read the pinned genesis hash");
    if (stored != HashField(genesis_hash)) {
      return ::probity::Status::FailedPrecondition(
          "genesis.json differs from the genesis this node's database was created with");
    }
  }
  InfoResponse info = app_->Info();
  PROBITY_ASSIGN_OR_RETURN(uint64_t last, blocks_->LastHeight());
  if (last != info.last_height) {
    return ::probity::Status::Corruption("the block store ends at height " + std::to_string(last) +
                                         " but the state at height " +
                                         std::to_string(info.last_height));
  }
  height_ = last;
  tip_app_hash_ = info.last_app_hash;
  tip_time_ms_ = g.time_unix_ms;
  if (last > 0) {
    PROBITY_ASSIGN_OR_RETURN(auto bytes, blocks_->GetBlock(last));
    if (!bytes)
      return ::probity::Status::Corruption("block " + std::to_string(last) + " is missing");
    PROBITY_ASSIGN_OR_RETURN(DecodedBlock d, DecodeAndVerifyBlock(*bytes, g.proposer, g.chain_id));
    tip_hash_ = d.hash;
    tip_time_ms_ = d.header.time_unix_ms();
  }
  last_block_at_ = std::chrono::steady_clock::now();
  return ::probity::Status::OK();
}

::probity::Status Node::Start() {
  if (started_) return ::probity::Status::FailedPrecondition("the node is already started");
  started_ = true;
  if (is_follower()) {
    driver_ = std::thread([this] { FollowerLoop(); });
  } else {
    driver_ = std::thread([this] { ProducerLoop(); });
  }
  return ::probity::Status::OK();
}

void Node::Stop() {
  if (stop_.exchange(true)) {
    if (driver_.joinable()) driver_.join();
    return;
  }
  {
    std::lock_guard<std::mutex> l(follow_mu_);
    if (follow_ctx_ != nullptr) static_cast<grpc::ClientContext*>(follow_ctx_)->TryCancel();
  }
  tip_cv_.notify_all();
  wait_cv_.notify_all();
  if (driver_.joinable()) driver_.join();
}

uint64_t Node::height() const {
  std::lock_guard<std::mutex> l(tip_mu_);
  return height_;
}

bool Node::WaitForHeight(uint64_t h, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> l(tip_mu_);
  return tip_cv_.wait_for(l, timeout, [&] { return height_ >= h || stop_.load(); }) && height_ >= h;
}

NodeStatus Node::Describe() const {
  NodeStatus s;
  s.mode = is_follower() ? "follower" : "producer";
  s.following = options_.follow;
  s.mempool_txs = mempool_->size();
  s.mempool_bytes = mempool_->bytes();
  s.genesis_app_hash = app_->Info().genesis_app_hash;
  s.follower_connected = follower_connected_.load();
  std::lock_guard<std::mutex> l(tip_mu_);
  s.height = height_;
  s.app_hash = tip_app_hash_;
  s.block_hash = tip_hash_;
  s.time_unix_ms = tip_time_ms_;
  s.halted = halted_;
  s.blocks_committed = blocks_committed_;
  s.txs_committed = txs_committed_;
  s.seconds_since_commit =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - last_block_at_).count();
  return s;
}

void Node::SetCommitObserver(std::function<void(uint64_t, const std::vector<Hash256>&)> fn) {
  std::lock_guard<std::mutex> l(observer_mu_);
  observer_ = std::move(fn);
}

void Node::Halt(const std::string& why, bool alarm) {
  {
    std::lock_guard<std::mutex> l(tip_mu_);
    if (!halted_.empty()) return;
    halted_ = why;
  }
  Say(true, alarm ? "ALARM: " + why : why);
  tip_cv_.notify_all();
}

void Node::Say(bool error, const std::string& message) const {
  if (options_.log) {
    options_.log(error, message);
  } else {
    std::cerr << (error && message.rfind("ALARM", 0) != 0 ? "error: " : "") << message << std::endl;
  }
}

// ---------------------------------------------------------------------------------------------
// Transactions in

SubmitOutcome Node::SubmitTx(ByteView tx, bool wait, std::chrono::milliseconds timeout) {
  SubmitOutcome out;
  if (is_follower()) {
    out.tx_id = TxId(tx);
    out.verdict = TxVerdict::Ledger(TxCode::kNotAccepting, "this node follows " + options_.follow +
                                                               "; submit transactions there");
    return out;
  }
  {
    std::lock_guard<std::mutex> l(tip_mu_);
    if (!halted_.empty()) {
      out.tx_id = TxId(tx);
      out.verdict = TxVerdict::Ledger(TxCode::kNotAccepting, "the node has halted: " + halted_);
      return out;
    }
  }
  // Backpressure: while the producer has plenty to do, checking more arrivals would only take
  // CPU from it (and lengthen everyone's wait). Bounded, so a stuck producer cannot hang us.
  if (const uint64_t hwm = options_.config.mempool.backpressure_txs;
      hwm > 0 && mempool_->size() >= hwm) {
    std::unique_lock<std::mutex> l(tip_mu_);
    tip_cv_.wait_for(l, std::chrono::seconds(1),
                     [&] { return mempool_->size() < hwm || stop_.load(); });
  }
  uint64_t generation = mempool_->generation();
  CheckTxResponse c = app_->CheckTx(tx, CheckTxKind::kNew);
  out.tx_id = c.tx.size > 0 ? c.tx.id : TxId(tx);
  if (!c.verdict.ok()) {
    out.verdict = c.verdict;
    return out;
  }
  std::shared_ptr<Waiter> w;
  if (wait) {
    std::lock_guard<std::mutex> l(wait_mu_);
    auto& slot = waiters_[out.tx_id];
    if (!slot) slot = std::make_shared<Waiter>();
    ++slot->refs;
    w = slot;
  }
  auto release = [&] {
    if (!w) return;
    std::lock_guard<std::mutex> l(wait_mu_);
    if (--w->refs == 0) waiters_.erase(out.tx_id);
  };
  std::vector<DroppedTx> evicted;
  for (;;) {
    bool stale = false;
    out.verdict = mempool_->Add(tx, c, generation, &evicted, &stale);
    if (!stale) break;
    // A block was committed while we read the account: read it again (the signature is
    // already checked, so this is cheap).
    generation = mempool_->generation();
    c = app_->CheckTx(tx, CheckTxKind::kRecheck);
    if (!c.verdict.ok()) {
      out.verdict = c.verdict;
      break;
    }
  }
  NotifyDropped(evicted);
  if (!out.verdict.ok() || !wait) {
    release();
    return out;
  }
  {
    std::unique_lock<std::mutex> l(wait_mu_);
    wait_cv_.wait_for(l, timeout, [&] { return w->done || stop_.load(); });
    if (w->done) {
      Hash256 id = out.tx_id;
      out = w->outcome;
      out.tx_id = id;
    }
  }
  release();
  return out;
}

void Node::NotifyCommitted(uint64_t height, const std::vector<Hash256>& ids,
                           const types::v1::BlockResults& results) {
  {
    std::lock_guard<std::mutex> l(wait_mu_);
    if (waiters_.empty()) return;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto it = waiters_.find(ids[i]);
      if (it == waiters_.end()) continue;
      Waiter& w = *it->second;
      w.done = true;
      w.outcome.committed = true;
      w.outcome.location = {height, static_cast<uint32_t>(i)};
      w.outcome.result = results.tx_results(static_cast<int>(i));
    }
  }
  wait_cv_.notify_all();
}

void Node::NotifyDropped(const std::vector<DroppedTx>& dropped) {
  if (dropped.empty()) return;
  {
    std::lock_guard<std::mutex> l(wait_mu_);
    for (const auto& d : dropped) {
      auto it = waiters_.find(d.id);
      if (it == waiters_.end()) continue;
      it->second->done = true;
      it->second->outcome.verdict = d.reason;
    }
  }
  wait_cv_.notify_all();
}

// ---------------------------------------------------------------------------------------------
// Committing

::probity::Status Node::CommitBlock(const types::v1::BlockHeader& header, const Hash256& block_hash,
                                    ByteView block_bytes, FinalizeBlockResponse resp,
                                    const std::vector<Hash256>& ids) {
  types::v1::BlockResults results;
  results.mutable_tx_results()->Reserve(static_cast<int>(resp.tx_results.size()));
  for (auto& r : resp.tx_results) *results.add_tx_results() = std::move(r);
  for (auto& e : resp.begin_block_events) *results.add_begin_block_events() = std::move(e);
  for (auto& e : resp.end_block_events) *results.add_end_block_events() = std::move(e);
  const uint64_t h = header.height();
  PROBITY_RETURN_IF_ERROR(app_->Commit({[&](rocksdb::WriteBatch* batch) {
    blocks_->AddBlock(batch, h, block_bytes, block_hash, ids, results);
    return ::probity::Status::OK();
  }}));
  {
    std::lock_guard<std::mutex> l(tip_mu_);
    height_ = h;
    tip_hash_ = block_hash;
    tip_time_ms_ = header.time_unix_ms();
    tip_app_hash_ = resp.app_hash;
    last_block_at_ = std::chrono::steady_clock::now();
    ++blocks_committed_;
    txs_committed_ += ids.size();
  }
  tip_cv_.notify_all();
  NotifyCommitted(h, ids, results);
  {
    std::lock_guard<std::mutex> l(observer_mu_);
    if (observer_) observer_(h, ids);
  }
  if (!is_follower()) {
    auto dropped = mempool_->Update(
        ids, [&](ByteView tx) { return app_->CheckTx(tx, CheckTxKind::kRecheck); });
    NotifyDropped(dropped);
    tip_cv_.notify_all();  // the pool shrank: wake submitters held back by backpressure
  }
  return ::probity::Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Producer

::probity::Status Node::ProduceBlock() {
  const LedgerParams& p = app_->params();
  std::vector<std::shared_ptr<const Bytes>> candidates =
      mempool_->Reap(p.max_block_txs, p.max_block_bytes);
  BlockInfo info;
  {
    std::lock_guard<std::mutex> l(tip_mu_);
    info.height = height_ + 1;
    info.prev_block_hash = tip_hash_;
    info.time_unix_ms = std::max(NowUnixMs(), tip_time_ms_);
  }
  info.chain_id = options_.genesis.chain_id;
  info.proposer = options_.genesis.proposer;
  std::vector<ByteView> views;
  views.reserve(candidates.size());
  for (const auto& c : candidates) views.emplace_back(*c);
  PrepareProposalResponse pp = app_->PrepareProposal({info, views});
  std::vector<Bytes> txs;
  txs.reserve(pp.chosen.size());
  for (size_t i : pp.chosen) txs.push_back(*candidates[i]);

  PROBITY_ASSIGN_OR_RETURN(FinalizeBlockResponse resp, app_->FinalizeBlock({info, txs}));
  std::vector<Hash256> ids = resp.tx_ids;

  types::v1::BlockHeader header;
  header.set_chain_id(info.chain_id);
  header.set_height(info.height);
  header.set_time_unix_ms(info.time_unix_ms);
  header.set_prev_block_hash(HashField(info.prev_block_hash));
  header.set_tx_root(HashField(TxRoot(ids)));
  Hash256 app_hash = resp.app_hash;
  if (options_.test_corrupt_app_hash_at == info.height) app_hash[0] ^= 1;  // TEST ONLY
  header.set_app_hash(HashField(app_hash));
  header.set_proposer(HashField(info.proposer));
  header.set_tx_count(static_cast<uint32_t>(txs.size()));
  header.set_results_root(HashField(ResultsRoot(resp.tx_results)));
  header.set_block_events_hash(
      HashField(BlockEventsHash(resp.begin_block_events, resp.end_block_events)));
  auto block = SignBlock(header, txs, *options_.producer_key);
  if (!block.ok()) {
    app_->Abandon();
    return block.status();
  }
  Hash256 block_hash = BlockHash(AsBytes(SerializeCanonical(header)));
  return CommitBlock(header, block_hash, *block, std::move(resp), ids);
}

void Node::ProducerLoop() {
  const auto interval = std::chrono::milliseconds(options_.config.block_interval_ms);
  const auto empty_interval = std::chrono::milliseconds(options_.config.empty_block_interval_ms);
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    bool produce = height() == 0;  // block 1 at once: it signs the genesis state
    if (!produce) {
      {
        std::unique_lock<std::mutex> l(tip_mu_);
        tip_cv_.wait_until(l, next, [&] { return stop_.load(); });
      }
      if (stop_) break;
      auto now = std::chrono::steady_clock::now();
      next = now + interval;
      std::chrono::steady_clock::time_point last;
      {
        std::lock_guard<std::mutex> l(tip_mu_);
        last = last_block_at_;
      }
      bool heartbeat = empty_interval.count() > 0 && now - last >= empty_interval;
      produce = mempool_->size() > 0 || heartbeat;
    }
    if (!produce) continue;
    ::probity::Status st = ProduceBlock();
    if (!st.ok()) {
      Halt("the producer stopped at height " + std::to_string(height() + 1) + ": " + st.ToString(),
           false);
      return;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Follower

::probity::Status Node::ApplyFollowedBlock(ByteView block_bytes, bool* alarm) {
  const Genesis& g = options_.genesis;
  auto fail = [&](const std::string& why) {
    *alarm = true;
    return ::probity::Status::Corruption(why);
  };
  auto decoded = DecodeAndVerifyBlock(block_bytes, g.proposer, g.chain_id);
  if (!decoded.ok())
    return fail("a block from " + options_.follow + " is invalid: " + decoded.status().message());
  DecodedBlock& d = *decoded;
  uint64_t h;
  Hash256 prev;
  int64_t prev_time;
  {
    std::lock_guard<std::mutex> l(tip_mu_);
    h = height_ + 1;
    prev = tip_hash_;
    prev_time = tip_time_ms_;
  }
  const std::string where =
      "block " + std::to_string(d.header.height()) + " from " + options_.follow;
  if (d.header.height() != h) {
    return fail(where + " was sent when block " + std::to_string(h) + " was expected");
  }
  if (std::memcmp(d.header.prev_block_hash().data(), prev.data(), 32) != 0) {
    return fail(where + " does not extend this node's block " + std::to_string(h - 1) +
                " (a fork or a rewritten history)");
  }
  if (d.header.time_unix_ms() < prev_time) return fail(where + " is dated before its parent");
  BlockInfo info;
  info.chain_id = g.chain_id;
  info.height = h;
  info.time_unix_ms = d.header.time_unix_ms();
  info.prev_block_hash = prev;
  info.proposer = g.proposer;
  ProcessProposalResponse pp = app_->ProcessProposal({info, d.txs});
  if (!pp.accept) return fail(where + " was refused: " + pp.reason);
  PROBITY_ASSIGN_OR_RETURN(FinalizeBlockResponse resp, app_->FinalizeBlock({info, d.txs}));
  auto mismatch = [&](const char* what, const std::string& header_field, const Hash256& mine) {
    app_->Abandon();
    return fail(where + " does not match its re-execution: " + what + " in the header is " +
                ToHex(AsBytes(header_field)).substr(0, 16) + "..., re-executed " + Short(mine) +
                "...");
  };
  if (std::memcmp(d.header.app_hash().data(), resp.app_hash.data(), 32) != 0) {
    return mismatch("app hash", d.header.app_hash(), resp.app_hash);
  }
  Hash256 results_root = ResultsRoot(resp.tx_results);
  if (std::memcmp(d.header.results_root().data(), results_root.data(), 32) != 0) {
    return mismatch("results root", d.header.results_root(), results_root);
  }
  Hash256 events_hash = BlockEventsHash(resp.begin_block_events, resp.end_block_events);
  if (std::memcmp(d.header.block_events_hash().data(), events_hash.data(), 32) != 0) {
    return mismatch("block-events hash", d.header.block_events_hash(), events_hash);
  }
  std::vector<Hash256> ids = resp.tx_ids;
  return CommitBlock(d.header, d.hash, block_bytes, std::move(resp), ids);
}

void Node::FollowerLoop() {
  // A block may carry max_block_bytes of transactions (up to 256 MiB): lift gRPC's 4 MiB
  // default on what we receive.
  grpc::ChannelArguments channel_args;
  channel_args.SetMaxReceiveMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(options_.follow, follow_credentials_, channel_args);
  auto stub = node::v1::Node::NewStub(channel);
  bool connected_once = false, warned = false;
  while (!stop_) {
    grpc::ClientContext ctx;
    {
      std::lock_guard<std::mutex> l(follow_mu_);
      if (stop_) break;
      follow_ctx_ = &ctx;
    }
    node::v1::StreamBlocksRequest req;
    req.set_from_height(height() + 1);
    auto reader = stub->StreamBlocks(&ctx, req);
    node::v1::GetBlockResponse resp;
    bool halted = false;
    while (reader->Read(&resp)) {
      follower_connected_ = true;
      if (!connected_once || warned) {
        Say(false, "following " + options_.follow + " from height " + std::to_string(height()));
        connected_once = true;
        warned = false;
      }
      std::string bytes = SerializeCanonical(resp.block());
      bool alarm = false;
      ::probity::Status st = ApplyFollowedBlock(AsBytes(bytes), &alarm);
      if (!st.ok()) {
        Halt(st.message(), alarm);
        halted = true;
        ctx.TryCancel();
        break;
      }
    }
    grpc::Status gs = reader->Finish();
    follower_connected_ = false;
    {
      std::lock_guard<std::mutex> l(follow_mu_);
      follow_ctx_ = nullptr;
    }
    if (halted) return;
    if (stop_) break;
    if (!warned) {
      Say(false, "lost " + options_.follow + " (" + gs.error_message() + "); retrying");
      warned = true;
    }
    std::unique_lock<std::mutex> l(tip_mu_);
    tip_cv_.wait_for(l, std::chrono::milliseconds(300), [&] { return stop_.load(); });
  }
}

}  // namespace probity::ledger
