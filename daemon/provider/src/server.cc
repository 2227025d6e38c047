#include "server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>

#include "probity/ledger/tls.h"

namespace probity::provider {

Result<std::unique_ptr<GrpcServer>> GrpcServer::Start(grpc::Service* service,
                                                      const ServerOptions& options) {
  // The node's TLS helper: it reads and checks both files (and that they belong together)
  // before gRPC sees them.
  const ledger::TlsServerFiles files{options.tls_cert_file, options.tls_key_file};
  PROBITY_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> creds,
                           ledger::MakeServerCredentials(files));
  const bool tls = files.enabled();
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
