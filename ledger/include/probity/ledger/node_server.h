// The node's gRPC server: the probity.node.v1.Node service (proto/probity/node/v1/node.proto)
// over a Node, plus server reflection (so grpcurl can list and call it).
//
// Errors cross this edge as gRPC statuses converted from probity::Status (kNotFound ->
// NOT_FOUND, kInvalidArgument -> INVALID_ARGUMENT, ...); a refused transaction is not an
// error but an answer: SubmitTxResponse.code/codespace/log.
//
// Thread-safety: the server runs its own threads; Shutdown is idempotent.
#pragma once

#include <memory>
#include <string>

#include "probity/ledger/node.h"

namespace grpc {
class Server;
class ServerCredentials;
}  // namespace grpc

namespace probity::ledger {

class NodeServer {
 public:
  // Serves `node` (not owned; must outlive the server) on `listen`, "host:port"; port 0 picks
  // a free port. `credentials`: TLS ones from tls.h, or null for plaintext. kUnavailable if
  // the address cannot be bound.
  static Result<std::unique_ptr<NodeServer>> Start(
      Node* node, const std::string& listen,
      std::shared_ptr<grpc::ServerCredentials> credentials = nullptr);
  ~NodeServer();

  // "host:port" actually bound.
  const std::string& address() const { return address_; }
  // Stops accepting calls and ends open streams within about a second.
  void Shutdown();

 private:
  class Service;
  NodeServer() = default;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace probity::ledger
