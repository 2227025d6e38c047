// TLS for Probity's gRPC services (the node's; the provider's uses the same): credentials for
// a server from a PEM certificate chain and private key, and for a client from an optional CA
// file.
//
// The files are read and checked here, before gRPC sees them, so that a wrong path or a
// wrong file is a clear error at start-up rather than a server that silently fails every
// handshake: kNotFound for a file that does not exist, kInvalidArgument for one that cannot be
// read, holds no PEM certificate, holds an encrypted or unparsable key, or a key that does not
// belong to the certificate. Errors name the file and never quote its contents.
//
// Without TLS configured, both sides use plaintext (insecure) credentials, which is what every
// caller got before TLS existed; keep such services on 127.0.0.1 or a private network.
//
// Thread-safety: the functions are thread-safe; gRPC credentials may be shared.
#pragma once

#include <memory>
#include <string>

#include "probity/primitives/status.h"

namespace grpc {
class ServerCredentials;
class ChannelCredentials;
}  // namespace grpc

namespace probity::ledger {

// A server's certificate (chain, leaf first) and private key, both PEM files.
struct TlsServerFiles {
  std::string cert_file;
  std::string key_file;
  // Either file named: TLS is meant (and the other must be named too).
  bool enabled() const { return !cert_file.empty() || !key_file.empty(); }
};

// TLS server credentials from `files`, or insecure ones when neither file is named.
// kInvalidArgument when only one of the two is named.
Result<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(const TlsServerFiles& files);

// How a client reaches a service.
struct TlsClientOptions {
  bool enabled = false;  // false (and no ca_file): plaintext
  // PEM certificates of the authorities to trust (a self-signed server certificate itself
  // will do). Naming one turns TLS on. Empty with `enabled`: the system's roots.
  std::string ca_file;
  bool tls() const { return enabled || !ca_file.empty(); }
};

// Channel credentials for `options`: TLS verifying the server's certificate against the CA
// (and its name against the address dialled), or insecure ones.
Result<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsClientOptions& options);

}  // namespace probity::ledger
