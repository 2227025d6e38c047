#include "authorization.h"

#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "proto_bytes.h"

namespace probity::provider {
namespace {

std::string StateName(jobs::v1::JobState s) {
  std::string n = jobs::v1::JobState_Name(s);
  const std::string prefix = "JOB_STATE_";
  return n.rfind(prefix, 0) == 0 ? n.substr(prefix.size()) : n;
}

}  // namespace

std::string_view MethodName(Method m) {
  switch (m) {
    case Method::kUploadBlob:
      return "UploadBlob";
    case Method::kDownloadResult:
      return "DownloadResult";
    case Method::kGetOpening:
      return "GetOpening";
    case Method::kJobStatus:
      return "JobStatus";
  }
  return "";
}

bool HasCommitment(const jobs::v1::Job& job) {
  return job.output_hash().size() == 32 && job.state() != jobs::v1::JOB_STATE_ASSIGNED &&
         job.state() != jobs::v1::JOB_STATE_EXPIRED;
}

Status Authorize(Method method, const XOnlyPubKey& signer, const XOnlyPubKey& self,
                 const std::optional<jobs::v1::Job>& job, const StakeLookup& stake) {
  const std::string name(MethodName(method));
  if (!job) return Status::NotFound(name + ": the chain has no job with this id");
  if (!FieldIs(job->provider(), self)) {
    return Status::PermissionDenied(name + ": the job is assigned to another provider");
  }
  const bool buyer = FieldIs(job->buyer(), signer);
  const bool verifier = FieldIs(job->verifier(), signer);
  switch (method) {
    case Method::kUploadBlob:
      if (!buyer) return Status::PermissionDenied(name + ": only the job's buyer may upload");
      if (job->state() != jobs::v1::JOB_STATE_ASSIGNED) {
        return Status::FailedPrecondition(name + ": the job is " + StateName(job->state()) +
                                          "; inputs are taken while it is ASSIGNED");
      }
      return Status::OK();
    case Method::kDownloadResult:
      if (!buyer) {
        return Status::PermissionDenied(name + ": only the job's buyer may download its result");
      }
      if (!HasCommitment(*job)) {
        return Status::FailedPrecondition(name + ": the job is " + StateName(job->state()) +
                                          "; its result is served once committed");
      }
      return Status::OK();
    case Method::kGetOpening: {
      if (!HasCommitment(*job)) {
        return Status::FailedPrecondition(name + ": the job is " + StateName(job->state()) +
                                          "; openings are served once committed");
      }
      if (buyer || verifier) return Status::OK();
      if (job->state() == jobs::v1::JOB_STATE_DISPUTED &&
          job->dispute().outcome() == jobs::v1::DISPUTE_OUTCOME_PENDING &&
          FieldIs(job->dispute().challenger(), signer)) {
        return Status::OK();
      }
      auto s = stake(signer);
      if (!s.ok()) return s.status().WithContext(name + ": cannot read the caller's stake");
      if (s->verifier() && s->bonded() > 0 && !s->jailed()) return Status::OK();
      return Status::PermissionDenied(
          name + ": " + EncodeAddress(signer) +
          " is neither the buyer, the verifier, the challenger nor a bonded verifier");
    }
    case Method::kJobStatus:
      if (buyer || verifier) return Status::OK();
      return Status::PermissionDenied(name + ": only the buyer or the assigned verifier");
  }
  return Status::Internal("unknown method");
}

}  // namespace probity::provider
