// The referee: decides whether one committed segment of a job was computed honestly, from the
// opening the provider posts. The chain runs it inside block execution to settle a dispute
// (contracts/jobs), and the verifier daemon runs the same code to check its sample before it
// attests, so that the two can never disagree.
//
// Judging segment i of a commitment C from opening bytes B:
//   1. |B| <= limits.max_opening_bytes (4 MiB, DESIGN.md section 2), and B decodes
//      (workloads::DecodeOpening);
//   2. the opening is of segment i;
//   3. workloads::VerifyOpening(opening, C): the spec hashes to the ordered job input, the
//      record and its producer sit in the trace root, the links hold, the inputs hash to the
//      record's input hash, the segment is within the re-execution bounds;
//   4. workloads::Reexecute on the `cpu` backend (bounded by step 3's check to about 100 ms on
//      one core), and the recomputed output hash is compared with the record's.
// Steps 3 and 4 are exactly workloads::CheckSegment, split so that the recomputed hash is
// returned (the verifier daemon attests it). A failure in steps 1 to 3 means the bytes are not
// evidence of anything (a valid opening may still be posted); only step 4 can convict.
//
// Thread-safety: JudgeSegment is thread-safe given distinct backends; a Referee is used by one
// thread at a time.
#pragma once

#include <cstdint>
#include <memory>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/workloads/workloads.h"

namespace probity::verifier {

struct RefereeLimits {
  uint64_t max_opening_bytes = workloads::kMaxOpeningBytes;
};

struct SegmentJudgement {
  bool honest = false;  // the recomputed output hash equals the committed record's
  Hash256 committed_output_hash{};
  Hash256 recomputed_output_hash{};
};

// Judges segment `index`. Errors:
//   kResourceExhausted  the opening is larger than the limit;
//   kInvalidArgument    the bytes do not decode, open another segment, do not match the
//                       commitment, or have inputs the segment cannot run on (not evidence);
//   kUnavailable        this checker cannot re-execute (e.g. its catalog lacks the training
//                       data set): it must not decide either way.
Result<SegmentJudgement> JudgeSegment(ByteView opening, const workloads::JobCommitment& commitment,
                                      uint64_t index, workloads::Backend& backend,
                                      workloads::DataCatalog& catalog,
                                      const RefereeLimits& limits = {});

// JudgeSegment with a `cpu` backend of one thread (created on first use), as the chain runs it.
class Referee {
 public:
  // `catalog` (not owned) resolves training data sets; it must outlive the referee.
  explicit Referee(workloads::DataCatalog* catalog, RefereeLimits limits = {});
  ~Referee();
  Result<SegmentJudgement> Judge(ByteView opening, const workloads::JobCommitment& commitment,
                                 uint64_t index);

 private:
  workloads::DataCatalog* catalog_;
  RefereeLimits limits_;
  std::unique_ptr<workloads::Backend> cpu_;
};

}  // namespace probity::verifier
