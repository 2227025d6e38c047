// The gRPC server around the provider service: one listening address, TLS when a certificate
// and key are given (plaintext otherwise: loopback and tests), server reflection on.
//
// Thread-safety: Start and Shutdown by the owner's thread.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "probity/primitives/status.h"

namespace probity::provider {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";  // port 0 picks a free one
  std::string tls_cert_file;           // PEM; with tls_key_file
  std::string tls_key_file;
  int max_message_bytes = 8 << 20;
};

class GrpcServer {
 public:
  // The errors of ledger::MakeServerCredentials (tls.h) for a TLS configuration that is half
  // given, missing or wrong; kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<GrpcServer>> Start(grpc::Service* service,
                                                   const ServerOptions& options);
  ~GrpcServer();  // Shutdown()
  void Shutdown();
  // The bound "host:port".
  const std::string& address() const { return address_; }
  bool tls() const { return tls_; }

 private:
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  bool tls_ = false;
};

}  // namespace probity::provider
