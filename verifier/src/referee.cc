#include "probity/verifier/referee.h"

#include "probity/primitives/hex.h"

namespace probity::verifier {

Result<SegmentJudgement> JudgeSegment(ByteView bytes, const workloads::JobCommitment& commitment,
                                      uint64_t index, workloads::Backend& backend,
                                      workloads::DataCatalog& catalog,
                                      const RefereeLimits& limits) {
  if (bytes.size() > limits.max_opening_bytes) {
    return Status::ResourceExhausted("opening of " + std::to_string(bytes.size()) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(limits.max_opening_bytes));
  }
  auto opening = workloads::DecodeOpening(bytes);
  if (!opening.ok()) {
    return Status::InvalidArgument("opening does not decode: " + opening.status().message());
  }
  if (opening->record.index != index) {
    return Status::InvalidArgument("opening is of segment " +
                                   std::to_string(opening->record.index) + ", not " +
                                   std::to_string(index));
  }
  Status v = workloads::VerifyOpening(*opening, commitment);
  if (!v.ok()) {
    return Status::InvalidArgument("opening does not match the commitment: " + v.message());
  }
  auto out = workloads::Reexecute(*opening, backend, catalog);
  if (!out.ok()) {
    const Code c = out.status().code();
    if (c == Code::kInvalidArgument || c == Code::kCorruption || c == Code::kOutOfRange) {
      return Status::InvalidArgument("opening cannot be re-executed: " + out.status().message());
    }
    return Status::Unavailable("this checker cannot re-execute segment " + std::to_string(index) +
                               ": " + out.status().ToString());
  }
  SegmentJudgement j;
  j.committed_output_hash = opening->record.output_hash;
  j.recomputed_output_hash = *out;
  j.honest = j.recomputed_output_hash == j.committed_output_hash;
  return j;
}

Referee::Referee(workloads::DataCatalog* catalog, RefereeLimits limits)
    : catalog_(catalog), limits_(limits) {}

Referee::~Referee() = default;

Result<SegmentJudgement> Referee::Judge(ByteView opening,
                                        const workloads::JobCommitment& commitment,
                                        uint64_t index) {
  if (!cpu_) {
    PROBITY_ASSIGN_OR_RETURN(cpu_, workloads::CreateBackend("cpu", {.threads = 1}));
  }
  return JudgeSegment(opening, commitment, index, *cpu_, *catalog_, limits_);
}

}  // namespace probity::verifier
