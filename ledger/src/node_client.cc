#include "probity/ledger/node_client.h"

#include <grpcpp/grpcpp.h>

#include <cstring>

#include "probity/ledger/node_config.h"
#include "probity/primitives/hex.h"

namespace probity::ledger {
namespace {

constexpr auto kCallTimeout = std::chrono::seconds(15);

void SetDeadline(grpc::ClientContext* ctx, std::chrono::milliseconds extra = {}) {
  ctx->set_deadline(std::chrono::system_clock::now() + kCallTimeout + extra);
}

}  // namespace

Status FromGrpc(const grpc::Status& s, const std::string& address) {
  if (s.ok()) return Status::OK();
  std::string m = s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return Status::Unavailable("cannot reach the node at " + address + " (" + m + ")");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::DeadlineExceeded("the node at " + address + " did not answer in time");
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(m);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(m);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::FailedPrecondition(m);
    case grpc::StatusCode::UNIMPLEMENTED:
      return Status::Unsupported(m);
    default:
      return Status::Internal("node " + address + ": " + m);
  }
}

NodeClient::NodeClient(const std::string& address, TrustAnchor anchor,
                       std::shared_ptr<grpc::ChannelCredentials> credentials)
    : address_(address), anchor_(std::move(anchor)) {
  if (!credentials) credentials = grpc::InsecureChannelCredentials();
  credentials_ = credentials;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // blocks can be as large as max_block_bytes
  stub_ = node::v1::Node::NewStub(grpc::CreateCustomChannel(address, credentials, args));
}

Result<node::v1::StatusResponse> NodeClient::GetStatus() const {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  node::v1::StatusResponse resp;
  PROBITY_RETURN_IF_ERROR(FromGrpc(stub_->Status(&ctx, {}, &resp), address_));
  if (resp.chain_id() != anchor_.chain_id) {
    return Status::FailedPrecondition("the node at " + address_ + " serves chain '" +
                                      resp.chain_id() + "', not '" + anchor_.chain_id + "'");
  }
  return resp;
}

Result<std::pair<uint64_t, std::optional<Bytes>>> NodeClient::QueryStore(ByteView key,
                                                                         uint64_t height) const {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  node::v1::QueryRequest req;
  req.set_path("store");
  req.set_data(key.data(), key.size());
  req.set_height(height);
  req.set_prove(true);
  node::v1::QueryResponse resp;
  PROBITY_RETURN_IF_ERROR(FromGrpc(stub_->Query(&ctx, req, &resp), address_));
  if (height != 0 && resp.height() != height) {
    return Status::Unauthenticated("asked for height " + std::to_string(height) +
                                   ", answered for " + std::to_string(resp.height()));
  }
  PROBITY_ASSIGN_OR_RETURN(auto value, VerifyStoreQuery(anchor_, key, resp));
  return std::make_pair(resp.height(), std::move(value));
}

Result<Bytes> NodeClient::QueryModule(const std::string& path, ByteView request) const {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  node::v1::QueryRequest req;
  req.set_path(path);
  req.set_data(request.data(), request.size());
  node::v1::QueryResponse resp;
  PROBITY_RETURN_IF_ERROR(FromGrpc(stub_->Query(&ctx, req, &resp), address_));
  return ToBytes(AsBytes(resp.value()));
}

Result<node::v1::GetTxResponse> NodeClient::GetTx(const Hash256& tx_id) const {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  node::v1::GetTxRequest req;
  req.set_tx_id(tx_id.data(), tx_id.size());
  node::v1::GetTxResponse resp;
  PROBITY_RETURN_IF_ERROR(FromGrpc(stub_->GetTx(&ctx, req, &resp), address_));
  PROBITY_RETURN_IF_ERROR(VerifyTxResponse(anchor_, tx_id, resp));
  return resp;
}

Result<node::v1::GetBlockResponse> NodeClient::GetBlock(uint64_t height) const {
  grpc::ClientContext ctx;
  SetDeadline(&ctx);
  node::v1::GetBlockRequest req;
  req.set_height(height);
  req.set_include_results(true);
  node::v1::GetBlockResponse resp;
  PROBITY_RETURN_IF_ERROR(FromGrpc(stub_->GetBlock(&ctx, req, &resp), address_));
  PROBITY_ASSIGN_OR_RETURN(DecodedBlock d, VerifyBlockResponse(anchor_, resp));
  if (height != 0 && d.header.height() != height) {
    return Status::Unauthenticated("asked for block " + std::to_string(height) + ", got " +
                                   std::to_string(d.header.height()));
  }
  return resp;
}

Result<node::v1::SubmitTxResponse> NodeClient::Submit(ByteView tx, bool wait,
                                                      std::chrono::milliseconds timeout) const {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, wait ? timeout : std::chrono::milliseconds(0));
  node::v1::SubmitTxRequest req;
  req.set_tx(tx.data(), tx.size());
  req.set_wait_for_commit(wait);
  req.set_wait_timeout_ms(static_cast<uint32_t>(timeout.count()));
  node::v1::SubmitTxResponse resp;
  PROBITY_RETURN_IF_ERROR(FromGrpc(stub_->SubmitTx(&ctx, req, &resp), address_));
  if (resp.committed()) {
    // Believe the commit only through a proof.
    Hash256 id;
    if (resp.tx_id().size() != 32) return Status::Corruption("node returned a bad tx id");
    std::memcpy(id.data(), resp.tx_id().data(), 32);
    PROBITY_ASSIGN_OR_RETURN(node::v1::GetTxResponse proven, GetTx(id));
    if (proven.height() != resp.height() || proven.index() != resp.index()) {
      return Status::Unauthenticated("the node reported the transaction at another place");
    }
    *resp.mutable_result() = proven.result();
  }
  return resp;
}

Result<ClientSetup> ConnectFromHome(const NodeHome& home, const std::string& address,
                                    const std::string& genesis_file, const TlsClientOptions& tls) {
  PROBITY_ASSIGN_OR_RETURN(auto credentials, MakeChannelCredentials(tls));
  ClientSetup setup;
  std::string gpath = genesis_file.empty() ? home.genesis_file() : genesis_file;
  auto g = LoadGenesisFile(gpath);
  if (!g.ok()) {
    return Status::NotFound("cannot check the node's answers without the chain's genesis.json (" +
                            g.status().message() +
                            "); pass --genesis FILE or --home of an initialised node");
  }
  setup.genesis = *g;
  std::string addr = address;
  if (addr.empty()) {
    if (auto f = ReadFileToString(home.address_file()); f.ok()) {
      addr = *f;
      while (!addr.empty() && (addr.back() == '\n' || addr.back() == ' ')) addr.pop_back();
    }
  }
  if (addr.empty()) {
    if (auto c = LoadNodeConfigFile(home.config_file()); c.ok()) addr = c->listen;
  }
  if (addr.empty()) addr = std::string(kDefaultListen);
  setup.client = std::make_unique<NodeClient>(
      addr, TrustAnchor{setup.genesis.chain_id, setup.genesis.proposer}, std::move(credentials));
  return setup;
}

}  // namespace probity::ledger
