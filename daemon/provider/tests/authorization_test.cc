// Who may call what, from the chain's Job record: every refusal case, and every allowed one.
#include "authorization.h"

#include <doctest/doctest.h>

#include "proto_bytes.h"

namespace probity::provider {
namespace {

// Bytes above 0x7f on purpose: a comparison through signed char must not pass.
XOnlyPubKey Key(uint8_t n) {
  XOnlyPubKey k{};
  k[0] = 0xf0;
  k[31] = static_cast<uint8_t>(0x80 | n);
  return k;
}

const XOnlyPubKey kSelf = Key(1), kBuyer = Key(2), kVerifier = Key(3), kChallenger = Key(4),
                  kAuditor = Key(5), kStranger = Key(6), kOtherProvider = Key(7);

jobs::v1::Job MakeJob(jobs::v1::JobState state) {
  jobs::v1::Job j;
  j.set_id(std::string(32, 'j'));
  j.set_provider(FieldOf(kSelf));
  j.set_buyer(FieldOf(kBuyer));
  j.set_state(state);
  if (state != jobs::v1::JOB_STATE_ASSIGNED && state != jobs::v1::JOB_STATE_EXPIRED) {
    j.set_output_hash(std::string(32, 'o'));
    j.set_trace_root(std::string(32, 't'));
    j.set_segment_count(10);
  }
  if (state == jobs::v1::JOB_STATE_SAMPLED || state == jobs::v1::JOB_STATE_DISPUTED ||
      state == jobs::v1::JOB_STATE_VERIFIED) {
    j.set_verifier(FieldOf(kVerifier));
  }
  if (state == jobs::v1::JOB_STATE_DISPUTED) {
    j.mutable_dispute()->set_challenger(FieldOf(kChallenger));
    j.mutable_dispute()->set_outcome(jobs::v1::DISPUTE_OUTCOME_PENDING);
  }
  return j;
}

// Only kAuditor is a bonded verifier; kStranger holds stake but not as a verifier.
Result<staking::v1::Stake> Stakes(const XOnlyPubKey& who) {
  staking::v1::Stake s;
  if (who == kAuditor) {
    s.set_verifier(true);
    s.set_bonded(500000);
  } else if (who == kStranger) {
    s.set_bonded(1000000);
  }
  return s;
}

Code Check(Method m, const XOnlyPubKey& who, const std::optional<jobs::v1::Job>& job) {
  return Authorize(m, who, kSelf, job, Stakes).code();
}

TEST_CASE("uploads: only the buyer, only while the job is assigned") {
  const auto assigned = MakeJob(jobs::v1::JOB_STATE_ASSIGNED);
  CHECK(Check(Method::kUploadBlob, kBuyer, assigned) == Code::kOk);
  CHECK(Check(Method::kUploadBlob, kStranger, assigned) == Code::kPermissionDenied);
  CHECK(Check(Method::kUploadBlob, kSelf, assigned) == Code::kPermissionDenied);
  CHECK(Check(Method::kUploadBlob, kBuyer, MakeJob(jobs::v1::JOB_STATE_COMMITTED)) ==
        Code::kFailedPrecondition);
  CHECK(Check(Method::kUploadBlob, kBuyer, MakeJob(jobs::v1::JOB_STATE_EXPIRED)) ==
        Code::kFailedPrecondition);
}

TEST_CASE("unknown jobs and other providers' jobs are refused for every method") {
  auto other = MakeJob(jobs::v1::JOB_STATE_COMMITTED);
  other.set_provider(FieldOf(kOtherProvider));
  for (Method m :
       {Method::kUploadBlob, Method::kDownloadResult, Method::kGetOpening, Method::kJobStatus}) {
    CAPTURE(MethodName(m));
    CHECK(Check(m, kBuyer, std::nullopt) == Code::kNotFound);
    CHECK(Check(m, kBuyer, other) == Code::kPermissionDenied);
  }
}

TEST_CASE("results: only the buyer, only once committed") {
  CHECK(Check(Method::kDownloadResult, kBuyer, MakeJob(jobs::v1::JOB_STATE_COMMITTED)) ==
        Code::kOk);
  CHECK(Check(Method::kDownloadResult, kBuyer, MakeJob(jobs::v1::JOB_STATE_SETTLED)) == Code::kOk);
  CHECK(Check(Method::kDownloadResult, kBuyer, MakeJob(jobs::v1::JOB_STATE_ASSIGNED)) ==
        Code::kFailedPrecondition);
  for (const XOnlyPubKey& who : {kVerifier, kChallenger, kAuditor, kStranger, kSelf}) {
    CHECK(Check(Method::kDownloadResult, who, MakeJob(jobs::v1::JOB_STATE_DISPUTED)) ==
          Code::kPermissionDenied);
  }
}

TEST_CASE("openings: buyer, verifier, the open dispute's challenger, bonded verifiers") {
  const auto disputed = MakeJob(jobs::v1::JOB_STATE_DISPUTED);
  for (const XOnlyPubKey& who : {kBuyer, kVerifier, kChallenger, kAuditor}) {
    CHECK(Check(Method::kGetOpening, who, disputed) == Code::kOk);
  }
  CHECK(Check(Method::kGetOpening, kStranger, disputed) == Code::kPermissionDenied);
  // The challenger of a resolved dispute is nobody special any more.
  auto resolved = disputed;
  resolved.set_state(jobs::v1::JOB_STATE_VERIFIED);
  resolved.mutable_dispute()->set_outcome(jobs::v1::DISPUTE_OUTCOME_CHALLENGER_LOST);
  CHECK(Check(Method::kGetOpening, kChallenger, resolved) == Code::kPermissionDenied);
  CHECK(Check(Method::kGetOpening, kAuditor, resolved) == Code::kOk);
  // Before the commit there is nothing to open.
  CHECK(Check(Method::kGetOpening, kBuyer, MakeJob(jobs::v1::JOB_STATE_ASSIGNED)) ==
        Code::kFailedPrecondition);
  // A jailed verifier is not trusted to audit.
  auto jailed = [](const XOnlyPubKey& who) -> Result<staking::v1::Stake> {
    auto s = Stakes(who);
    s->set_jailed(true);
    return s;
  };
  CHECK(Authorize(Method::kGetOpening, kAuditor, kSelf, disputed, jailed).code() ==
        Code::kPermissionDenied);
  // A chain that cannot be read is not a yes.
  auto down = [](const XOnlyPubKey&) -> Result<staking::v1::Stake> {
    return Status::Unavailable("node down");
  };
  CHECK(Authorize(Method::kGetOpening, kAuditor, kSelf, disputed, down).code() ==
        Code::kUnavailable);
}

TEST_CASE("job status: the buyer and the assigned verifier") {
  const auto sampled = MakeJob(jobs::v1::JOB_STATE_SAMPLED);
  CHECK(Check(Method::kJobStatus, kBuyer, sampled) == Code::kOk);
  CHECK(Check(Method::kJobStatus, kVerifier, sampled) == Code::kOk);
  CHECK(Check(Method::kJobStatus, kAuditor, sampled) == Code::kPermissionDenied);
  CHECK(Check(Method::kJobStatus, kBuyer, MakeJob(jobs::v1::JOB_STATE_ASSIGNED)) == Code::kOk);
}

}  // namespace
}  // namespace probity::provider
