// A client of the node API that believes nothing it cannot check (light_client.h): every
// answer about the chain is verified against a header signed by the genesis proposer before
// it is returned. Used by the CLI and by tests.
//
// Thread-safety: one client may be used from several threads (gRPC stubs are thread-safe).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "probity/ledger/genesis.h"
#include "probity/ledger/light_client.h"
#include "probity/ledger/node_home.h"
#include "probity/ledger/tls.h"
#include "probity/node/v1/node.grpc.pb.h"

namespace probity::ledger {

class NodeClient {
 public:
  // Connects (lazily) to `address` ("host:port"). `credentials`: TLS ones from tls.h, or null
  // for plaintext.
  NodeClient(const std::string& address, TrustAnchor anchor,
             std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

  // The node's own report (unverified: it is about the node, not the chain).
  Result<node::v1::StatusResponse> GetStatus() const;

  // The value of a state key at `height` (0 = latest), proven against the signed header.
  // Returns the height the answer is for and the value (nullopt = proven absent).
  Result<std::pair<uint64_t, std::optional<Bytes>>> QueryStore(ByteView key,
                                                               uint64_t height = 0) const;
  // A module query (not provable: the module computes it).
  Result<Bytes> QueryModule(const std::string& path, ByteView request) const;

  // A committed transaction with its result, proven against its block's signed header.
  Result<node::v1::GetTxResponse> GetTx(const Hash256& tx_id) const;
  // A block (0 = latest), with its results; signature, tx root and results root checked.
  Result<node::v1::GetBlockResponse> GetBlock(uint64_t height) const;

  // Submits a transaction. With `wait`, the answer comes once it is committed (the result is
  // then re-fetched with GetTx and verified) or after `timeout`.
  Result<node::v1::SubmitTxResponse> Submit(ByteView tx, bool wait,
                                            std::chrono::milliseconds timeout) const;

  const TrustAnchor& anchor() const { return anchor_; }
  const std::string& address() const { return address_; }
  // The channel credentials in use (insecure ones for plaintext): other connections to the
  // same node (event streams) reuse them.
  const std::shared_ptr<grpc::ChannelCredentials>& credentials() const { return credentials_; }

 private:
  std::string address_;
  TrustAnchor anchor_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::unique_ptr<node::v1::Node::Stub> stub_;
};

// What a command-line client needs: the genesis (trust anchor and parameters) from
// `genesis_file` (empty: the home's genesis.json) and the node's address from `address`
// (empty: the home's data/node.addr, written by a running node; then the home's config
// listen address; then the default 127.0.0.1:7420), over TLS as `tls` says (errors for its
// files as in tls.h).
struct ClientSetup {
  Genesis genesis;
  std::unique_ptr<NodeClient> client;
};
Result<ClientSetup> ConnectFromHome(const NodeHome& home, const std::string& address,
                                    const std::string& genesis_file,
                                    const TlsClientOptions& tls = {});

// A gRPC status from a call, as ours, naming the node (kUnavailable when it is unreachable).
Status FromGrpc(const grpc::Status& s, const std::string& address);

}  // namespace probity::ledger
