#include "service.h"

#include "authorization.h"
#include "input_check.h"
#include "probity/client/provider_client.h"
#include "probity/ledger/grpc_status.h"
#include "probity/observe/observe.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "proto_bytes.h"

namespace probity::provider {
namespace {

namespace pv = provider::v1;
constexpr std::string_view kLog = "provider";

std::string RoleName(pv::BlobRole role) {
  switch (role) {
    case pv::BLOB_ROLE_SPEC:
      return "spec";
    case pv::BLOB_ROLE_MODEL:
      return "model";
    case pv::BLOB_ROLE_IMAGES:
      return "images";
    default:
      return "unknown";
  }
}

std::string_view Phase(JournalState s) {
  switch (s) {
    case pv::JOURNAL_STATE_ASSIGNED:
      return "waiting-inputs";
    case pv::JOURNAL_STATE_INPUTS_COMPLETE:
    case pv::JOURNAL_STATE_RUNNING:
      return "running";
    case pv::JOURNAL_STATE_COMPUTED:
    case pv::JOURNAL_STATE_COMMIT_SENT:
      return "committing";
    case pv::JOURNAL_STATE_COMMITTED:
      return "committed";
    case pv::JOURNAL_STATE_SETTLED:
      return "settled";
    default:
      return "failed";
  }
}

std::string ShortHex(ByteView b) { return ToHex(b).substr(0, 16); }

}  // namespace

grpc::Status ToGrpc(const Status& s) {
  // Corrupt bytes reaching a provider are the caller's (an upload that does not hash to what it
  // claims), not the provider's own data.
  if (s.code() == Code::kCorruption) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, s.message());
  }
  return ledger::ToGrpcStatus(s);
}

Result<jobs::v1::Job> ProviderService::Admit(std::string_view method, const std::string& job_id,
                                             const pv::RequestAuth& auth, ByteView body,
                                             XOnlyPubKey* signer) {
  PROBITY_ASSIGN_OR_RETURN(Hash256 id, Hash256Field(job_id, "job_id"));
  PROBITY_ASSIGN_OR_RETURN(
      *signer, client::VerifyProviderRequest(auth, method, deps_.self, id, body,
                                             client::NowUnixMs(), deps_.auth_window_ms));
  PROBITY_ASSIGN_OR_RETURN(auto job, deps_.chain->Job(id));
  Method m = Method::kUploadBlob;
  for (Method candidate :
       {Method::kUploadBlob, Method::kDownloadResult, Method::kGetOpening, Method::kJobStatus}) {
    if (MethodName(candidate) == method) m = candidate;
  }
  PROBITY_RETURN_IF_ERROR(Authorize(
      m, *signer, deps_.self, job, [this](const XOnlyPubKey& a) { return deps_.chain->Stake(a); }));
  return *job;
}

grpc::Status ProviderService::Info(grpc::ServerContext*, const pv::InfoRequest*,
                                   pv::InfoResponse* resp) {
  resp->set_provider(deps_.self.data(), deps_.self.size());
  resp->set_max_blob_bytes(deps_.blobs->max_upload_bytes());
  resp->set_running(deps_.jobs->running());
  if (deps_.describe) deps_.describe(resp);
  return grpc::Status::OK;
}

Status ProviderService::CheckInput(const jobs::v1::Job& job, pv::BlobRole role, ByteView bytes) {
  if (role == pv::BLOB_ROLE_SPEC) return CheckSpecInput(bytes, job, *deps_.catalog).status();
  PROBITY_ASSIGN_OR_RETURN(Hash256 id, Hash256Field(job.id(), "job id"));
  PROBITY_ASSIGN_OR_RETURN(workloads::JobSpec spec, deps_.jobs->AcceptedSpec(id));
  if (role == pv::BLOB_ROLE_MODEL) return CheckModelInput(bytes, spec, job).status();
  return CheckImagesInput(bytes, spec).status();
}

Result<pv::UploadBlobResponse> ProviderService::Upload(
    grpc::ServerContext* ctx, grpc::ServerReader<pv::UploadBlobRequest>* reader,
    const pv::UploadHeader& h) {
  if (h.role() != pv::BLOB_ROLE_SPEC && h.role() != pv::BLOB_ROLE_MODEL &&
      h.role() != pv::BLOB_ROLE_IMAGES) {
    return Status::InvalidArgument("unknown blob role " + std::to_string(h.role()));
  }
  PROBITY_ASSIGN_OR_RETURN(Hash256 sha, Hash256Field(h.sha256(), "sha256"));
  XOnlyPubKey signer{};
  auto admitted = Admit("UploadBlob", h.job_id(), h.auth(),
                        client::UploadBody(h.role(), sha, h.size()), &signer);
  if (admitted.status().code() == Code::kFailedPrecondition) {
    // The job took its inputs already: a repeat of an accepted upload still succeeds.
    std::optional<JournalJob> tracked = deps_.jobs->Find(*Hash256Field(h.job_id(), "job_id"));
    const std::string* have = !tracked                          ? nullptr
                              : h.role() == pv::BLOB_ROLE_SPEC  ? &tracked->spec_sha256()
                              : h.role() == pv::BLOB_ROLE_MODEL ? &tracked->model_sha256()
                                                                : &tracked->images_sha256();
    if (have != nullptr && FieldIs(*have, sha)) {
      pv::UploadBlobResponse resp;
      resp.set_sha256(h.sha256());
      resp.set_size(h.size());
      resp.set_already_present(true);
      resp.set_job_ready(true);
      return resp;
    }
  }
  PROBITY_ASSIGN_OR_RETURN(jobs::v1::Job job, std::move(admitted));
  const Hash256 id = *Hash256Field(job.id(), "job id");
  if (h.size() > deps_.blobs->max_upload_bytes()) {
    return Status::ResourceExhausted("a blob of " + std::to_string(h.size()) +
                                     " bytes exceeds this provider's limit of " +
                                     std::to_string(deps_.blobs->max_upload_bytes()));
  }
  if (job.kind() != market::v1::JOB_KIND_INFER_CLASSIFIER && h.role() != pv::BLOB_ROLE_SPEC) {
    return Status::InvalidArgument("a train-classifier job takes only its spec");
  }
  PROBITY_ASSIGN_OR_RETURN(JournalJob tracked, deps_.jobs->Track(job));
  const std::string* have = h.role() == pv::BLOB_ROLE_SPEC    ? &tracked.spec_sha256()
                            : h.role() == pv::BLOB_ROLE_MODEL ? &tracked.model_sha256()
                                                              : &tracked.images_sha256();
  if (!have->empty() && *have != FieldOf(sha)) {
    return Status::AlreadyExists("the job already has its " + RoleName(h.role()) + " (" +
                                 ToHex(AsBytes(*have)) + ")");
  }
  if (h.role() != pv::BLOB_ROLE_SPEC) {
    PROBITY_RETURN_IF_ERROR(deps_.jobs->AcceptedSpec(id).status());
  }
  pv::UploadBlobResponse resp;
  resp.set_sha256(h.sha256());
  resp.set_size(h.size());
  bool stored = false;
  if (deps_.blobs->Has(sha)) {
    auto bytes = deps_.blobs->Read(sha);  // re-checked; a damaged copy is removed here
    if (bytes.ok() && bytes->size() == h.size()) {
      PROBITY_RETURN_IF_ERROR(CheckInput(job, h.role(), *bytes));
      stored = true;
      resp.set_already_present(true);
    }
  }
  if (!stored) {
    PROBITY_ASSIGN_OR_RETURN(auto writer, deps_.blobs->Begin(sha, h.size()));
    pv::UploadBlobRequest msg;
    while (reader->Read(&msg)) {
      if (msg.part_case() != pv::UploadBlobRequest::kChunk) {
        return Status::InvalidArgument("only data chunks may follow the header");
      }
      if (msg.chunk().size() > kMaxChunkBytes) {
        return Status::ResourceExhausted("a chunk of " + std::to_string(msg.chunk().size()) +
                                         " bytes exceeds the 1 MiB limit");
      }
      PROBITY_RETURN_IF_ERROR(writer->Append(AsBytes(msg.chunk())));
    }
    if (ctx->IsCancelled()) return Status::Unavailable("the upload was cancelled");
    PROBITY_RETURN_IF_ERROR(writer->Finish());
    PROBITY_RETURN_IF_ERROR(CheckInput(job, h.role(), writer->data()));
    PROBITY_RETURN_IF_ERROR(writer->Commit());
    deps_.metrics->upload_bytes.Inc(h.size());
  }
  PROBITY_ASSIGN_OR_RETURN(auto outcome, deps_.jobs->Attach(id, h.role(), sha));
  if (outcome.already_present) resp.set_already_present(true);
  resp.set_job_ready(outcome.job_ready);
  observe::LogInfo(kLog, "input accepted",
                   {{"job", ShortHex(id)},
                    {"role", RoleName(h.role())},
                    {"bytes", std::to_string(h.size())},
                    {"already_present", resp.already_present() ? "true" : "false"},
                    {"job_ready", outcome.job_ready ? "true" : "false"}});
  return resp;
}

grpc::Status ProviderService::UploadBlob(grpc::ServerContext* ctx,
                                         grpc::ServerReader<pv::UploadBlobRequest>* reader,
                                         pv::UploadBlobResponse* resp) {
  pv::UploadBlobRequest first;
  Result<pv::UploadBlobResponse> r =
      Status::InvalidArgument("the first message of an upload must be its header");
  std::string role = "unknown";
  if (reader->Read(&first) && first.part_case() == pv::UploadBlobRequest::kHeader) {
    role = RoleName(first.header().role());
    r = Upload(ctx, reader, first.header());
  }
  if (!r.ok()) {
    deps_.metrics->Uploads(role, "refused").Inc();
    observe::LogWarn(kLog, "upload refused",
                     {{"job", ShortHex(AsBytes(first.header().job_id()))},
                      {"role", role},
                      {"error", r.status().message()}});
    return ToGrpc(r.status());
  }
  deps_.metrics->Uploads(role, "ok").Inc();
  *resp = std::move(r).value();
  return grpc::Status::OK;
}

grpc::Status ProviderService::DownloadResult(grpc::ServerContext* ctx,
                                             const pv::DownloadResultRequest* req,
                                             grpc::ServerWriter<pv::BlobChunk>* writer) {
  auto fail = [&](const Status& s) {
    deps_.metrics->Downloads("refused").Inc();
    observe::LogWarn(kLog, "download refused",
                     {{"job", ShortHex(AsBytes(req->job_id()))}, {"error", s.message()}});
    return ToGrpc(s);
  };
  XOnlyPubKey signer{};
  auto job = Admit("DownloadResult", req->job_id(), req->auth(), {}, &signer);
  if (!job.ok()) return fail(job.status());
  const Hash256 id = *Hash256Field(job->id(), "job id");
  auto tracked = deps_.jobs->Find(id);
  if (!tracked || tracked->output_hash() != job->output_hash()) {
    return fail(Status::NotFound("this provider holds no result for the job's commitment"));
  }
  auto file = deps_.jobs->ResultFile(id);
  if (!file.ok()) return fail(file.status());
  const Hash256 sha = Sha256(*file);
  size_t offset = 0;
  do {
    if (ctx->IsCancelled()) return fail(Status::Unavailable("the download was cancelled"));
    const size_t n = std::min(kMaxChunkBytes, file->size() - offset);
    pv::BlobChunk chunk;
    chunk.set_data(file->data() + offset, n);
    if (offset == 0) {
      chunk.set_total_size(file->size());
      chunk.set_sha256(sha.data(), sha.size());
    }
    if (!writer->Write(chunk)) return fail(Status::Unavailable("the client went away"));
    offset += n;
  } while (offset < file->size());
  deps_.metrics->Downloads("ok").Inc();
  deps_.metrics->download_bytes.Inc(file->size());
  observe::LogInfo(kLog, "result downloaded",
                   {{"job", ShortHex(id)},
                    {"bytes", std::to_string(file->size())},
                    {"by", EncodeAddress(signer)}});
  return grpc::Status::OK;
}

grpc::Status ProviderService::GetOpening(grpc::ServerContext*, const pv::GetOpeningRequest* req,
                                         pv::GetOpeningResponse* resp) {
  XOnlyPubKey signer{};
  auto job =
      Admit("GetOpening", req->job_id(), req->auth(), client::OpeningBody(req->segment()), &signer);
  Result<Bytes> opening = Status::Internal("unreached");
  if (!job.ok()) {
    opening = job.status();
  } else if (req->segment() >= job->segment_count()) {
    opening = Status::OutOfRange("segment " + std::to_string(req->segment()) + " of a job with " +
                                 std::to_string(job->segment_count()) + " segments");
  } else {
    opening = deps_.jobs->Opening(*Hash256Field(job->id(), "job id"), req->segment());
  }
  if (!opening.ok()) {
    observe::LogWarn(kLog, "opening refused",
                     {{"job", ShortHex(AsBytes(req->job_id()))},
                      {"segment", std::to_string(req->segment())},
                      {"error", opening.status().message()}});
    return ToGrpc(opening.status());
  }
  deps_.metrics->openings_served.Inc();
  observe::LogInfo(kLog, "opening served",
                   {{"job", ShortHex(AsBytes(req->job_id()))},
                    {"segment", std::to_string(req->segment())},
                    {"bytes", std::to_string(opening->size())},
                    {"to", EncodeAddress(signer)}});
  resp->set_opening(opening->data(), opening->size());
  return grpc::Status::OK;
}

grpc::Status ProviderService::JobStatus(grpc::ServerContext*, const pv::JobStatusRequest* req,
                                        pv::JobStatusResponse* resp) {
  XOnlyPubKey signer{};
  auto job = Admit("JobStatus", req->job_id(), req->auth(), {}, &signer);
  if (!job.ok()) return ToGrpc(job.status());
  const Hash256 id = *Hash256Field(job->id(), "job id");
  std::optional<JournalJob> tracked = deps_.jobs->Find(id);
  if (!tracked) {
    if (job->state() != jobs::v1::JOB_STATE_ASSIGNED) {
      return ToGrpc(Status::NotFound("this provider has no record of the job"));
    }
    auto t = deps_.jobs->Track(*job);
    if (!t.ok()) return ToGrpc(t.status());
    tracked = *t;
  }
  resp->set_phase(std::string(Phase(tracked->state())));
  const JobProgress p = deps_.jobs->Progress(id);
  if (!tracked->output_hash().empty()) {
    resp->set_segments_done(tracked->segment_count());
    resp->set_segment_count(tracked->segment_count());
  } else {
    resp->set_segments_done(p.segments_done);
    resp->set_segment_count(p.segment_count);
  }
  for (pv::BlobRole role : deps_.jobs->Missing(*tracked)) resp->add_missing(role);
  if (resp->phase() == "failed") {
    resp->set_error(tracked->error().empty() ? std::string(JournalStateName(tracked->state()))
                                             : tracked->error());
  }
  return grpc::Status::OK;
}

}  // namespace probity::provider
