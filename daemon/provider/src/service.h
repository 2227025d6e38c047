// The provider's gRPC service (proto/probity/provider/v1/provider.proto): input uploads,
// result downloads, openings and job status for the parties of each job, and Info for anyone.
//
// Every request that names a job is checked in this order, and refused at the first failure
// with nothing changed: the RequestAuth signature over the method, this provider's key, the
// job id, the timestamp and the body (client::VerifyProviderRequest; the timestamp within
// `auth_window_ms` of this clock) → the chain's Job record (never the request) says the
// signer may call (authorization.h) → the method's own checks (upload: the size limit while
// streaming, the SHA-256, input_check.h; then the blob is kept and the job told).
//
// Thread-safety: gRPC calls the handlers on many threads; they share only thread-safe parts.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "blob_store.h"
#include "chain_port.h"
#include "job_manager.h"
#include "metrics.h"
#include "probity/provider/v1/provider.grpc.pb.h"
#include "probity/workloads/dataset.h"

namespace probity::provider {

inline constexpr uint64_t kDefaultAuthWindowMs = 120'000;
inline constexpr size_t kMaxChunkBytes = 1u << 20;

struct ServiceDeps {
  XOnlyPubKey self{};
  JobManager* jobs = nullptr;
  BlobStore* blobs = nullptr;
  ChainPort* chain = nullptr;
  workloads::DataCatalog* catalog = nullptr;
  ProviderMetrics* metrics = nullptr;
  uint64_t auth_window_ms = kDefaultAuthWindowMs;
  // Fills Info's answer (backend, hardware, offers: what the daemon knows).
  std::function<void(provider::v1::InfoResponse*)> describe;
};

class ProviderService final : public provider::v1::Provider::Service {
 public:
  explicit ProviderService(ServiceDeps deps) : deps_(std::move(deps)) {}

  grpc::Status Info(grpc::ServerContext* ctx, const provider::v1::InfoRequest* req,
                    provider::v1::InfoResponse* resp) override;
  grpc::Status UploadBlob(grpc::ServerContext* ctx,
                          grpc::ServerReader<provider::v1::UploadBlobRequest>* reader,
                          provider::v1::UploadBlobResponse* resp) override;
  grpc::Status DownloadResult(grpc::ServerContext* ctx,
                              const provider::v1::DownloadResultRequest* req,
                              grpc::ServerWriter<provider::v1::BlobChunk>* writer) override;
  grpc::Status GetOpening(grpc::ServerContext* ctx, const provider::v1::GetOpeningRequest* req,
                          provider::v1::GetOpeningResponse* resp) override;
  grpc::Status JobStatus(grpc::ServerContext* ctx, const provider::v1::JobStatusRequest* req,
                         provider::v1::JobStatusResponse* resp) override;

 private:
  // Signature and authorisation; the chain's Job record on success.
  Result<jobs::v1::Job> Admit(std::string_view method, const std::string& job_id,
                              const provider::v1::RequestAuth& auth, ByteView body,
                              XOnlyPubKey* signer);
  Result<provider::v1::UploadBlobResponse> Upload(
      grpc::ServerContext* ctx, grpc::ServerReader<provider::v1::UploadBlobRequest>* reader,
      const provider::v1::UploadHeader& header);
  // The role's checks of input_check.h on the complete blob.
  Status CheckInput(const jobs::v1::Job& job, provider::v1::BlobRole role, ByteView bytes);

  ServiceDeps deps_;
};

// A Status as a gRPC status (the only place the two meet).
grpc::Status ToGrpc(const Status& s);

}  // namespace probity::provider
