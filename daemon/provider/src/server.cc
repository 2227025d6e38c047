#include "server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>

#include "probity/ledger/node_home.h"

namespace probity::provider {

Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(grpc::Service* service,
                                                      const ServerOptions& options) {
  std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
  const bool tls = !options.tls_cert_file.empty() || !options.tls_key_file.empty();
  if (tls) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return Status::InvalidArgument(
          "TLS needs both a certificate and a key (--tls-cert, --tls-key)");
    }
    auto cert = ledger::ReadFileToString(options.tls_cert_file);
    if (!cert.ok()) return cert.status().WithContext("TLS certificate");
    auto key = ledger::ReadFileToString(options.tls_key_file);
    if (!key.ok()) return key.status().WithContext("TLS key");
    if (cert->find("-----BEGIN") == std::string::npos ||
        key->find("-----BEGIN") == std::string::npos) {
      return Status::InvalidArgument("the TLS certificate and key must be PEM files");
    }
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({*key, *cert});
    creds = grpc::SslServerCredentials(ssl);
  }
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, creds, &port);
  builder.RegisterService(service);
  builder.SetMaxReceiveMessageSize(options.max_message_bytes);
  builder.SetMaxSendMessageSize(options.max_message_bytes);
  auto s = std::unique_ptr<GrpcServer>(new GrpcServer());
  s->server_ = builder.BuildAndStart();
  if (!s->server_ || port == 0) {
    return Status::Unavailable("cannot listen on " + options.listen +
                               " (address in use, not local, or a bad TLS key?)");
  }
  const size_t colon = options.listen.rfind(':');
  s->address_ = options.listen.substr(0, colon) + ":" + std::to_string(port);
  s->tls_ = tls;
  return s;
}

GrpcServer::~GrpcServer() { Shutdown(); }

void GrpcServer::Shutdown() {
  if (!server_) return;
  server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  server_->Wait();
  server_.reset();
}

}  // namespace probity::provider
