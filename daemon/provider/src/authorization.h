// Who may call which method of the provider service, decided from the chain's Job record
// (never from anything the request says about itself):
//   UploadBlob      the job's buyer, while the job is ASSIGNED
//   DownloadResult  the job's buyer, once the job is committed
//   GetOpening      once committed: the buyer, the assigned verifier, the challenger of the
//                   open dispute, or any account bonded as a verifier (a potential
//                   auditor-challenger: verifier opt-in, stake bonded, not jailed)
//   JobStatus       the buyer or the assigned verifier
// and, for all, only when the job is assigned to this provider.
//
// Thread-safety: pure function.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "probity/jobs/v1/jobs.pb.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"
#include "probity/staking/v1/staking.pb.h"

namespace probity::provider {

enum class Method { kUploadBlob, kDownloadResult, kGetOpening, kJobStatus };
std::string_view MethodName(Method m);  // the RPC name a RequestAuth signs

// The stake of an account, read only when the decision needs it.
using StakeLookup = std::function<Result<staking::v1::Stake>(const XOnlyPubKey&)>;

// OK when `signer` may call `method` for `job` (the chain's record; nullopt when the chain
// has none) on provider `self`. kNotFound: no such job on chain; kPermissionDenied: another
// provider's job, or a caller who is not allowed; kFailedPrecondition: the job's state does
// not allow it now. Each with the reason.
Status Authorize(Method method, const XOnlyPubKey& signer, const XOnlyPubKey& self,
                 const std::optional<jobs::v1::Job>& job, const StakeLookup& stake);

// The job has a commitment on chain (COMMITTED and every later state that kept it).
bool HasCommitment(const jobs::v1::Job& job);

}  // namespace probity::provider
