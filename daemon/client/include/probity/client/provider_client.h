// The client side of the provider service (proto/probity/provider/v1/provider.proto), and the
// request signatures both sides share.
//
// Thread-safety: ProviderClient is thread-safe; the free functions are pure.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "probity/primitives/bytes.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"
#include "probity/provider/v1/provider.grpc.pb.h"

namespace probity::client {

// The digest a RequestAuth signs (see provider.proto).
Hash256 ProviderRequestDigest(std::string_view method, const XOnlyPubKey& provider,
                              const Hash256& job_id, uint64_t timestamp_unix_ms, ByteView body);
// The `body` of each method.
Bytes UploadBody(provider::v1::BlobRole role, const Hash256& sha256, uint64_t size);
Bytes OpeningBody(uint64_t segment);

provider::v1::RequestAuth SignProviderRequest(const SecretKey& key, std::string_view method,
                                              const XOnlyPubKey& provider, const Hash256& job_id,
                                              ByteView body, uint64_t now_unix_ms);
// Checks the signature and that the timestamp is within `window_ms` of `now_unix_ms`. Returns
// the signer. kUnauthenticated with the reason otherwise (who may call is the server's
// decision, from the chain).
Result<XOnlyPubKey> VerifyProviderRequest(const provider::v1::RequestAuth& auth,
                                          std::string_view method, const XOnlyPubKey& provider,
                                          const Hash256& job_id, ByteView body,
                                          uint64_t now_unix_ms, uint64_t window_ms);

uint64_t NowUnixMs();

// Channel credentials: TLS with `ca_file` as the root (empty = the system roots) when
// `use_tls`, else insecure (loopback and tests).
struct ChannelSecurity {
  bool use_tls = false;
  std::string ca_file;
};

class ProviderClient {
 public:
  // `provider` is the key the chain's Offer names: every request is bound to it.
  ProviderClient(std::string endpoint, XOnlyPubKey provider, ChannelSecurity security = {});

  Result<provider::v1::InfoResponse> Info() const;
  // Uploads one input blob of `job_id`, signed by `buyer`.
  Result<provider::v1::UploadBlobResponse> Upload(const SecretKey& buyer, const Hash256& job_id,
                                                  provider::v1::BlobRole role, ByteView blob) const;
  // The job's result; its SHA-256 and size are checked against what the stream announced, and
  // it is refused above `max_bytes`. (Whether it matches the chain's commitment is the
  // caller's check: workloads' VerifyJobResult.)
  Result<Bytes> DownloadResult(const SecretKey& party, const Hash256& job_id,
                               uint64_t max_bytes) const;
  Result<Bytes> GetOpening(const SecretKey& party, const Hash256& job_id, uint64_t segment) const;
  Result<provider::v1::JobStatusResponse> JobStatus(const SecretKey& party,
                                                    const Hash256& job_id) const;

  const std::string& endpoint() const { return endpoint_; }

 private:
  std::string endpoint_;
  XOnlyPubKey provider_;
  std::unique_ptr<provider::v1::Provider::Stub> stub_;
};

}  // namespace probity::client
