#include "probity/ledger/node_server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/grpc_status.h"
#include "probity/node/v1/node.grpc.pb.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"

namespace probity::ledger {
namespace {

std::string Field(const Hash256& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), 32);
}

constexpr auto kPoll = std::chrono::milliseconds(200);

}  // namespace

class NodeServer::Service final : public node::v1::Node::Service {
 public:
  explicit Service(Node* node) : node_(node) {}
  std::atomic<bool> shutting_down{false};

  grpc::Status SubmitTx(grpc::ServerContext*, const node::v1::SubmitTxRequest* req,
                        node::v1::SubmitTxResponse* resp) override {
    uint32_t limit = node_->config().submit_wait_timeout_ms;
    uint32_t wait_ms =
        req->wait_timeout_ms() == 0 ? limit : std::min(req->wait_timeout_ms(), limit);
    SubmitOutcome o = node_->SubmitTx(AsBytes(req->tx()), req->wait_for_commit(),
                                      std::chrono::milliseconds(wait_ms));
    resp->set_code(o.verdict.code);
    resp->set_codespace(o.verdict.codespace);
    resp->set_log(o.verdict.log);
    resp->set_tx_id(Field(o.tx_id));
    resp->set_committed(o.committed);
    if (o.committed) {
      resp->set_height(o.location.height);
      resp->set_index(o.location.index);
      *resp->mutable_result() = o.result;
    }
    return grpc::Status::OK;
  }

  grpc::Status GetTx(grpc::ServerContext*, const node::v1::GetTxRequest* req,
                     node::v1::GetTxResponse* resp) override {
    if (req->tx_id().size() != 32) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "tx_id must be 32 bytes");
    }
    Hash256 id;
    std::memcpy(id.data(), req->tx_id().data(), 32);
    auto loc = node_->blocks().FindTx(id);
    if (!loc.ok()) return ToGrpcStatus(loc.status());
    if (!*loc) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "transaction " + ToHex(id) + " is not in a committed block");
    }
    const TxLocation where = **loc;
    auto block = LoadBlock(where.height);
    if (!block.ok()) return ToGrpcStatus(block.status());
    auto results = node_->blocks().GetResults(where.height);
    if (!results.ok()) return ToGrpcStatus(results.status());
    if (!*results || where.index >= block->txs.size() ||
        static_cast<int>(where.index) >= (*results)->tx_results_size()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "the tx index points outside its block");
    }
    std::vector<Hash256> tx_leaves, result_leaves;
    for (const auto& t : block->txs) tx_leaves.push_back(MerkleLeafHash(Sha256(ByteView(t))));
    for (const auto& r : (*results)->tx_results())
      result_leaves.push_back(MerkleLeafHash(ResultLeaf(r)));
    auto tx_proof = MerkleInclusionProof(tx_leaves, where.index);
    auto result_proof = MerkleInclusionProof(result_leaves, where.index);
    if (!tx_proof.ok() || !result_proof.ok()) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "cannot build inclusion proofs");
    }
    resp->set_height(where.height);
    resp->set_index(where.index);
    const Bytes& tx = block->txs[where.index];
    resp->set_tx(tx.data(), tx.size());
    *resp->mutable_result() = (*results)->tx_results(static_cast<int>(where.index));
    for (const auto& h : *tx_proof) resp->add_tx_proof(Field(h));
    for (const auto& h : *result_proof) resp->add_result_proof(Field(h));
    resp->mutable_header()->set_header(block->header_bytes.data(), block->header_bytes.size());
    resp->mutable_header()->set_signature(block->signature.data(), 64);
    return grpc::Status::OK;
  }

  grpc::Status GetBlock(grpc::ServerContext*, const node::v1::GetBlockRequest* req,
                        node::v1::GetBlockResponse* resp) override {
    uint64_t h = req->height() == 0 ? node_->height() : req->height();
    if (h == 0) return grpc::Status(grpc::StatusCode::NOT_FOUND, "the chain has no block yet");
    return ToGrpcStatus(FillBlock(h, req->include_results(), resp));
  }

  grpc::Status Query(grpc::ServerContext*, const node::v1::QueryRequest* req,
                     node::v1::QueryResponse* resp) override {
    QueryRequest q;
    q.path = req->path();
    q.data = ToBytes(AsBytes(req->data()));
    q.height = req->height();
    q.prove = req->prove();
    auto r = node_->app().Query(q);
    if (!r.ok()) return ToGrpcStatus(r.status());
    resp->set_height(r->height);
    resp->set_key(r->key.data(), r->key.size());
    resp->set_exists(r->value.has_value());
    if (r->value) resp->set_value(r->value->data(), r->value->size());
    resp->set_proof(r->proof.data(), r->proof.size());
    if (r->height > 0) {
      auto block = LoadBlock(r->height);
      if (!block.ok()) return ToGrpcStatus(block.status());
      resp->mutable_header()->set_header(block->header_bytes.data(), block->header_bytes.size());
      resp->mutable_header()->set_signature(block->signature.data(), 64);
    }
    return grpc::Status::OK;
  }

  grpc::Status StreamBlocks(grpc::ServerContext* ctx, const node::v1::StreamBlocksRequest* req,
                            grpc::ServerWriter<node::v1::GetBlockResponse>* writer) override {
    StreamSlot slot(this, ctx);
    if (!slot.held()) return slot.Refusal();
    uint64_t h = std::max<uint64_t>(1, req->from_height());
    while (!Done(ctx)) {
      if (h > node_->height()) {
        node_->WaitForHeight(h, kPoll);
        continue;
      }
      node::v1::GetBlockResponse resp;
      ::probity::Status st = FillBlock(h, req->include_results(), &resp);
      if (!st.ok()) return ToGrpcStatus(st);
      if (!writer->Write(resp)) break;
      ++h;
    }
    return grpc::Status::OK;
  }

  grpc::Status StreamEvents(grpc::ServerContext* ctx, const node::v1::StreamEventsRequest* req,
                            grpc::ServerWriter<node::v1::EventRecord>* writer) override {
    StreamSlot slot(this, ctx);
    if (!slot.held()) return slot.Refusal();
    std::set<std::string> types(req->types().begin(), req->types().end());
    const std::string& account = req->account();
    if (!account.empty() && !DecodeAddress(account).ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "account must be a prb1... address");
    }
    // Everything at or after `cursor` is still to be sent.
    EventPosition cursor;
    if (req->has_resume_after()) {
      const auto& r = req->resume_after();
      cursor = {r.height(), r.slot(), r.event_index() + 1};
      if (r.event_index() == UINT32_MAX) cursor = {r.height(), r.slot() + 1, 0};
    } else {
      cursor = {req->from_height() == 0 ? node_->height() + 1 : req->from_height(), 0, 0};
    }
    if (cursor.height == 0) cursor = {1, 0, 0};
    while (!Done(ctx)) {
      uint64_t last = node_->height();
      if (cursor.height > last) {
        node_->WaitForHeight(cursor.height, kPoll);
        continue;
      }
      // With a filter, let the event index skip heights that hold nothing for it.
      if (!types.empty() || !account.empty()) {
        auto next = NextIndexed(types, account, cursor);
        if (!next.ok()) return ToGrpcStatus(next.status());
        if (!*next || (*next)->height > last) {
          cursor = {last + 1, 0, 0};
          continue;
        }
        if ((*next)->height > cursor.height) cursor = {(*next)->height, 0, 0};
      }
      auto sent = SendHeight(cursor, types, account, writer);
      if (!sent.ok()) return ToGrpcStatus(sent.status());
      if (!*sent) break;  // the client went away
      cursor = {cursor.height + 1, 0, 0};
    }
    return grpc::Status::OK;
  }

  grpc::Status Status(grpc::ServerContext*, const node::v1::StatusRequest*,
                      node::v1::StatusResponse* resp) override {
    NodeStatus s = node_->Describe();
    resp->set_chain_id(node_->genesis().chain_id);
    resp->set_height(s.height);
    resp->set_app_hash(Field(s.app_hash));
    resp->set_block_hash(Field(s.block_hash));
    resp->set_time_unix_ms(s.time_unix_ms);
    resp->set_proposer(Field(node_->genesis().proposer));
    resp->set_mode(s.mode);
    resp->set_following(s.following);
    resp->set_mempool_txs(s.mempool_txs);
    resp->set_halted(s.halted);
    resp->set_genesis_app_hash(Field(s.genesis_app_hash));
    return grpc::Status::OK;
  }

 private:
  // A place among the config's max_streams, and among the max_streams_per_client of the
  // caller's address (its IP, without the port: one host cannot take every place by opening
  // connections), held for the life of a stream.
  class StreamSlot {
   public:
    StreamSlot(Service* s, grpc::ServerContext* ctx) : s_(s), client_(ClientAddress(ctx->peer())) {
      const NodeConfig& c = s_->node_->config();
      std::lock_guard<std::mutex> l(s_->streams_mu_);
      uint32_t& mine = s_->streams_by_client_[client_];
      if (s_->open_streams_ >= c.max_streams) {
        why_ = "too many open streams (max_streams = " + std::to_string(c.max_streams) + ")";
      } else if (mine >= c.max_streams_per_client) {
        why_ = "too many open streams from " + client_ +
               " (max_streams_per_client = " + std::to_string(c.max_streams_per_client) + ")";
      } else {
        ++mine;
        ++s_->open_streams_;
        held_ = true;
      }
      if (mine == 0) s_->streams_by_client_.erase(client_);
    }
    ~StreamSlot() {
      if (!held_) return;
      std::lock_guard<std::mutex> l(s_->streams_mu_);
      --s_->open_streams_;
      if (--s_->streams_by_client_[client_] == 0) s_->streams_by_client_.erase(client_);
    }
    bool held() const { return held_; }
    grpc::Status Refusal() const {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, why_);
    }

   private:
    // "ipv4:127.0.0.1:5555" -> "ipv4:127.0.0.1"; "ipv6:[::1]:5555" -> "ipv6:[::1]".
    static std::string ClientAddress(const std::string& peer) {
      const size_t colon = peer.rfind(':');
      const size_t first = peer.find(':');
      return colon != std::string::npos && colon != first ? peer.substr(0, colon) : peer;
    }
    Service* s_;
    std::string client_;
    std::string why_;
    bool held_ = false;
  };
  std::mutex streams_mu_;
  uint32_t open_streams_ = 0;                          // guarded by streams_mu_
  std::map<std::string, uint32_t> streams_by_client_;  // guarded by streams_mu_

  bool Done(grpc::ServerContext* ctx) const {
    return ctx->IsCancelled() || node_->stopping() || shutting_down.load();
  }

  Result<DecodedBlock> LoadBlock(uint64_t h) const {
    PROBITY_ASSIGN_OR_RETURN(auto bytes, node_->blocks().GetBlock(h));
    if (!bytes) return ::probity::Status::NotFound("no block at height " + std::to_string(h));
    const Genesis& g = node_->genesis();
    // Stored blocks were checked when they were made or received; this re-check is cheap
    // next to the I/O and keeps a damaged database from serving a bad block.
    return DecodeAndVerifyBlock(*bytes, g.proposer, g.chain_id);
  }

  ::probity::Status FillBlock(uint64_t h, bool include_results, node::v1::GetBlockResponse* resp) {
    PROBITY_ASSIGN_OR_RETURN(auto bytes, node_->blocks().GetBlock(h));
    if (!bytes) return ::probity::Status::NotFound("no block at height " + std::to_string(h));
    if (!resp->mutable_block()->ParseFromArray(bytes->data(), static_cast<int>(bytes->size()))) {
      return ::probity::Status::Corruption("stored block " + std::to_string(h) + " does not parse");
    }
    Hash256 hash = BlockHash(AsBytes(resp->block().header()));
    resp->set_block_hash(Field(hash));
    if (include_results) {
      PROBITY_ASSIGN_OR_RETURN(auto results, node_->blocks().GetResults(h));
      if (results) *resp->mutable_results() = std::move(*results);
    }
    return ::probity::Status::OK();
  }

  // The first indexed position >= cursor matching the filter (by account if given, else by
  // any of the types).
  Result<std::optional<EventPosition>> NextIndexed(const std::set<std::string>& types,
                                                   const std::string& account,
                                                   EventPosition cursor) const {
    std::optional<EventPosition> best;
    auto first = [&](const EventPosition& p) {
      if (!best || p < *best) best = p;
      return false;
    };
    if (!account.empty()) {
      PROBITY_RETURN_IF_ERROR(node_->blocks().ScanEventsByValue(account, cursor, first));
    } else {
      for (const auto& t : types) {
        PROBITY_RETURN_IF_ERROR(node_->blocks().ScanEventsByType(t, cursor, first));
      }
    }
    return best;
  }

  static bool Matches(const types::v1::Event& e, const std::set<std::string>& types,
                      const std::string& account) {
    if (!types.empty() && !types.count(e.type())) return false;
    if (account.empty()) return true;
    for (const auto& a : e.attributes()) {
      if (a.index() && a.value() == account) return true;
    }
    return false;
  }

  // The event records of one height, built once and shared by every stream that sends it:
  // with many live streams, reading, verifying and parsing the block and its results once per
  // stream per height was the node's largest cost under a stream flood.
  struct HeightEvents {
    std::vector<node::v1::EventRecord> records;  // in (slot, event index) order
    size_t bytes = 0;
  };

  Result<std::shared_ptr<const HeightEvents>> EventsAt(uint64_t height) {
    {
      std::lock_guard<std::mutex> l(events_mu_);
      auto it = events_cache_.find(height);
      if (it != events_cache_.end()) return it->second;
    }
    PROBITY_ASSIGN_OR_RETURN(DecodedBlock block, LoadBlock(height));
    PROBITY_ASSIGN_OR_RETURN(auto results, node_->blocks().GetResults(height));
    if (!results) return ::probity::Status::Corruption("results of a stored block are missing");
    auto h = std::make_shared<HeightEvents>();
    const uint32_t n = static_cast<uint32_t>(results->tx_results_size());
    if (n != block.txs.size()) {
      return ::probity::Status::Corruption("stored results do not match the block's transactions");
    }
    for (uint32_t slot = 0; slot <= n + 1; ++slot) {
      auto* events = slot == 0 ? results->mutable_begin_block_events()
                     : slot <= n
                         ? results->mutable_tx_results(static_cast<int>(slot - 1))->mutable_events()
                         : results->mutable_end_block_events();
      std::string tx_id;
      if (slot >= 1 && slot <= n && !events->empty()) {
        tx_id = Field(Sha256(ByteView(block.txs[slot - 1])));
      }
      for (int i = 0; i < events->size(); ++i) {
        node::v1::EventRecord& rec = h->records.emplace_back();
        rec.mutable_cursor()->set_height(height);
        rec.mutable_cursor()->set_slot(slot);
        rec.mutable_cursor()->set_event_index(static_cast<uint32_t>(i));
        if (!tx_id.empty()) rec.set_tx_id(tx_id);
        *rec.mutable_event() = std::move(*events->Mutable(i));
        rec.set_time_unix_ms(block.header.time_unix_ms());
        h->bytes += rec.ByteSizeLong();
      }
    }
    std::lock_guard<std::mutex> l(events_mu_);
    auto [it, fresh] = events_cache_.emplace(height, std::move(h));
    if (fresh) {
      events_cache_bytes_ += it->second->bytes;
      // Keep the newest heights within the budget (always the one just built): streams
      // following the tip all ask for the same few.
      while (events_cache_bytes_ > kEventsCacheBytes && events_cache_.size() > 1) {
        auto victim =
            events_cache_.begin() == it ? std::next(events_cache_.begin()) : events_cache_.begin();
        events_cache_bytes_ -= victim->second->bytes;
        events_cache_.erase(victim);
      }
    }
    return it->second;
  }

  // Sends the events of cursor.height at or after cursor. false when the client is gone.
  // Every record but the last goes with a buffer hint, so that gRPC coalesces a height's
  // events into few frames and writes instead of flushing each one.
  Result<bool> SendHeight(EventPosition cursor, const std::set<std::string>& types,
                          const std::string& account,
                          grpc::ServerWriter<node::v1::EventRecord>* writer) {
    PROBITY_ASSIGN_OR_RETURN(std::shared_ptr<const HeightEvents> h, EventsAt(cursor.height));
    const node::v1::EventRecord* pending = nullptr;
    for (const auto& rec : h->records) {
      const auto& c = rec.cursor();
      if (c.slot() < cursor.slot ||
          (c.slot() == cursor.slot && c.event_index() < cursor.event_index)) {
        continue;
      }
      if (!Matches(rec.event(), types, account)) continue;
      if (pending != nullptr && !writer->Write(*pending, grpc::WriteOptions().set_buffer_hint())) {
        return false;
      }
      pending = &rec;
    }
    if (pending != nullptr && !writer->Write(*pending)) return false;
    return true;
  }

  static constexpr size_t kEventsCacheBytes = 64u << 20;
  std::mutex events_mu_;
  std::map<uint64_t, std::shared_ptr<const HeightEvents>> events_cache_;  // by events_mu_
  size_t events_cache_bytes_ = 0;                                         // by events_mu_

  Node* node_;
};

Result<std::unique_ptr<NodeServer>> NodeServer::Start(
    Node* node, const std::string& listen, std::shared_ptr<grpc::ServerCredentials> credentials) {
  if (!credentials) credentials = grpc::InsecureServerCredentials();
  std::unique_ptr<NodeServer> s(new NodeServer());
  s->service_ = std::make_unique<Service>(node);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, credentials, &port);
  builder.RegisterService(s->service_.get());
  // Requests are small except SubmitTx, which carries up to the chain's max_tx_bytes.
  const uint64_t max_tx = node->app().params().max_tx_bytes;
  builder.SetMaxReceiveMessageSize(
      static_cast<int>(std::max<uint64_t>(8u << 20, max_tx + (1u << 20))));
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || port == 0) {
    return ::probity::Status::Unavailable("cannot listen on " + listen +
                                          " (address in use or not local?)");
  }
  size_t colon = listen.rfind(':');
  s->address_ = listen.substr(0, colon) + ":" + std::to_string(port);
  return s;
}

NodeServer::~NodeServer() { Shutdown(); }

void NodeServer::Shutdown() {
  if (!server_) return;
  service_->shutting_down = true;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  server_.reset();
}

}  // namespace probity::ledger
