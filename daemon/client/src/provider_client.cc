// Provider request signatures and the provider service's client (provider_client.h).
#include "probity/client/provider_client.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "probity/ledger/node_client.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"

namespace probity::client {
namespace {

constexpr size_t kChunkBytes = 1u << 20;

std::string Str(ByteView b) { return std::string(b.begin(), b.end()); }

Status FromProviderGrpc(const grpc::Status& s, const std::string& endpoint) {
  if (s.ok()) return Status::OK();
  const std::string m = "provider " + endpoint + ": " + s.error_message();
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return Status::Unavailable("cannot reach the provider at " + endpoint + " (" +
                                 s.error_message() + ")");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::DeadlineExceeded("the provider at " + endpoint + " did not answer in time");
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(m);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(m);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::FailedPrecondition(m);
    case grpc::StatusCode::PERMISSION_DENIED:
      return Status::PermissionDenied(m);
    case grpc::StatusCode::UNAUTHENTICATED:
      return Status::Unauthenticated(m);
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return Status::ResourceExhausted(m);
    case grpc::StatusCode::OUT_OF_RANGE:
      return Status::OutOfRange(m);
    default:
      return Status::Internal(m);
  }
}

void SetDeadline(grpc::ClientContext* ctx, std::chrono::seconds s) {
  ctx->set_deadline(std::chrono::system_clock::now() + s);
}

}  // namespace

uint64_t NowUnixMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

Hash256 ProviderRequestDigest(std::string_view method, const XOnlyPubKey& provider,
                              const Hash256& job_id, uint64_t timestamp_unix_ms, ByteView body) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(method.size()));
  w.Raw(AsBytes(method));
  w.Raw(provider);
  w.Raw(job_id);
  w.U64(timestamp_unix_ms);
  w.Raw(body);
  return TaggedHash("probity/provider-request", w.bytes());
}

Bytes UploadBody(provider::v1::BlobRole role, const Hash256& sha256, uint64_t size) {
  ByteWriter w;
  w.U8(static_cast<uint8_t>(role));
  w.Raw(sha256);
  w.U64(size);
  return w.Take();
}

Bytes OpeningBody(uint64_t segment) {
  ByteWriter w;
  w.U64(segment);
  return w.Take();
}

provider::v1::RequestAuth SignProviderRequest(const SecretKey& key, std::string_view method,
                                              const XOnlyPubKey& provider, const Hash256& job_id,
                                              ByteView body, uint64_t now_unix_ms) {
  provider::v1::RequestAuth auth;
  XOnlyPubKey signer = key.PublicKey();
  auth.set_signer(signer.data(), signer.size());
  auth.set_timestamp_unix_ms(now_unix_ms);
  Hash256 digest = ProviderRequestDigest(method, provider, job_id, now_unix_ms, body);
  auto sig = key.Sign(digest);
  if (sig.ok()) auth.set_signature(sig->data(), sig->size());
  return auth;
}

Result<XOnlyPubKey> VerifyProviderRequest(const provider::v1::RequestAuth& auth,
                                          std::string_view method, const XOnlyPubKey& provider,
                                          const Hash256& job_id, ByteView body,
                                          uint64_t now_unix_ms, uint64_t window_ms) {
  if (auth.signer().size() != 32) {
    return Status::Unauthenticated("the request's signer is not a 32-byte key");
  }
  if (auth.signature().size() != 64) {
    return Status::Unauthenticated("the request's signature is not 64 bytes");
  }
  const uint64_t ts = auth.timestamp_unix_ms();
  const uint64_t skew = ts > now_unix_ms ? ts - now_unix_ms : now_unix_ms - ts;
  if (skew > window_ms) {
    return Status::Unauthenticated("the request's timestamp is " + std::to_string(skew) +
                                   " ms from the provider's clock (window " +
                                   std::to_string(window_ms) + " ms): sign a fresh request");
  }
  XOnlyPubKey signer;
  std::memcpy(signer.data(), auth.signer().data(), 32);
  Hash256 digest = ProviderRequestDigest(method, provider, job_id, ts, body);
  if (!VerifySchnorr(signer, digest, AsBytes(auth.signature()))) {
    return Status::Unauthenticated("the request's signature does not verify for its signer");
  }
  return signer;
}

ProviderClient::ProviderClient(std::string endpoint, XOnlyPubKey provider, ChannelSecurity security)
    : endpoint_(std::move(endpoint)), provider_(provider) {
  std::shared_ptr<grpc::ChannelCredentials> creds;
  if (security.use_tls) {
    grpc::SslCredentialsOptions opts;
    if (!security.ca_file.empty()) {
      auto pem = ledger::ReadFileToString(security.ca_file);
      if (pem.ok()) opts.pem_root_certs = *pem;
    }
    creds = grpc::SslCredentials(opts);
  } else {
    creds = grpc::InsecureChannelCredentials();
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(8 << 20);  // an opening is at most 4 MiB
  args.SetMaxSendMessageSize(4 << 20);
  stub_ = provider::v1::Provider::NewStub(grpc::CreateCustomChannel(endpoint_, creds, args));
}

Result<provider::v1::InfoResponse> ProviderClient::Info() const {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(10));
  provider::v1::InfoResponse resp;
  PROBITY_RETURN_IF_ERROR(FromProviderGrpc(stub_->Info(&ctx, {}, &resp), endpoint_));
  return resp;
}

Result<provider::v1::UploadBlobResponse> ProviderClient::Upload(const SecretKey& buyer,
                                                                const Hash256& job_id,
                                                                provider::v1::BlobRole role,
                                                                ByteView blob) const {
  const Hash256 sha = Sha256(blob);
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(300));
  provider::v1::UploadBlobResponse resp;
  auto writer = stub_->UploadBlob(&ctx, &resp);
  provider::v1::UploadBlobRequest req;
  auto* h = req.mutable_header();
  h->set_job_id(job_id.data(), job_id.size());
  h->set_role(role);
  h->set_sha256(sha.data(), sha.size());
  h->set_size(blob.size());
  *h->mutable_auth() = SignProviderRequest(buyer, "UploadBlob", provider_, job_id,
                                           UploadBody(role, sha, blob.size()), NowUnixMs());
  bool open = writer->Write(req);
  for (size_t off = 0; open && off < blob.size(); off += kChunkBytes) {
    provider::v1::UploadBlobRequest chunk;
    size_t n = std::min(kChunkBytes, blob.size() - off);
    chunk.set_chunk(blob.data() + off, n);
    open = writer->Write(chunk);
  }
  writer->WritesDone();
  PROBITY_RETURN_IF_ERROR(FromProviderGrpc(writer->Finish(), endpoint_));
  if (resp.sha256() != Str(sha)) {
    return Status::Corruption("the provider acknowledged another blob than the one uploaded");
  }
  return resp;
}

Result<Bytes> ProviderClient::DownloadResult(const SecretKey& party, const Hash256& job_id,
                                             uint64_t max_bytes) const {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(300));
  provider::v1::DownloadResultRequest req;
  req.set_job_id(job_id.data(), job_id.size());
  *req.mutable_auth() =
      SignProviderRequest(party, "DownloadResult", provider_, job_id, {}, NowUnixMs());
  auto reader = stub_->DownloadResult(&ctx, req);
  provider::v1::BlobChunk chunk;
  Bytes out;
  uint64_t total = 0;
  std::string announced;
  bool first = true;
  while (reader->Read(&chunk)) {
    if (first) {
      total = chunk.total_size();
      announced = chunk.sha256();
      if (total > max_bytes) {
        ctx.TryCancel();
        (void)reader->Finish();
        return Status::ResourceExhausted("the result is " + std::to_string(total) +
                                         " bytes, above the limit of " + std::to_string(max_bytes));
      }
      out.reserve(total);
      first = false;
    }
    if (out.size() + chunk.data().size() > total) {
      ctx.TryCancel();
      (void)reader->Finish();
      return Status::Corruption("the provider sent more bytes than it announced");
    }
    out.insert(out.end(), chunk.data().begin(), chunk.data().end());
  }
  PROBITY_RETURN_IF_ERROR(FromProviderGrpc(reader->Finish(), endpoint_));
  if (first) return Status::Corruption("the provider sent an empty result stream");
  if (out.size() != total) {
    return Status::Corruption("the result stream ended after " + std::to_string(out.size()) +
                              " of " + std::to_string(total) + " bytes");
  }
  if (Str(Sha256(out)) != announced) {
    return Status::Corruption("the result does not hash to what the provider announced");
  }
  return out;
}

Result<Bytes> ProviderClient::GetOpening(const SecretKey& party, const Hash256& job_id,
                                         uint64_t segment) const {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(60));
  provider::v1::GetOpeningRequest req;
  req.set_job_id(job_id.data(), job_id.size());
  req.set_segment(segment);
  *req.mutable_auth() = SignProviderRequest(party, "GetOpening", provider_, job_id,
                                            OpeningBody(segment), NowUnixMs());
  provider::v1::GetOpeningResponse resp;
  PROBITY_RETURN_IF_ERROR(FromProviderGrpc(stub_->GetOpening(&ctx, req, &resp), endpoint_));
  return Bytes(resp.opening().begin(), resp.opening().end());
}

Result<provider::v1::JobStatusResponse> ProviderClient::JobStatus(const SecretKey& party,
                                                                  const Hash256& job_id) const {
  grpc::ClientContext ctx;
  SetDeadline(&ctx, std::chrono::seconds(10));
  provider::v1::JobStatusRequest req;
  req.set_job_id(job_id.data(), job_id.size());
  *req.mutable_auth() = SignProviderRequest(party, "JobStatus", provider_, job_id, {}, NowUnixMs());
  provider::v1::JobStatusResponse resp;
  PROBITY_RETURN_IF_ERROR(FromProviderGrpc(stub_->JobStatus(&ctx, req, &resp), endpoint_));
  return resp;
}

}  // namespace probity::client
