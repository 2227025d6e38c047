// The trace a provider commits to for an inference job, and the openings it hands out: honest,
// or forged the ways a cheating provider can forge it. The adversary that the referee, the
// verifier daemon and the marketplace's adversarial benchmark are measured against, built with
// the real workloads code (records, Reexecute, the opening encoding), so that every forgery is
// exactly one a provider could commit.
//
// Forgeries keep every link and every Merkle proof valid, so that only re-executing a forged
// segment exposes it:
//   made-up outputs  the segments in `made_up` get an invented output hash; every later segment
//                    is re-executed from its wrong input, so that its link holds. (A provider
//                    that left a later segment's old output would make it wrong too: this is
//                    the cheat that forges the fewest segments for the work it skips.)
//   other inputs     the records of another computation (the same images through another
//                    model), re-chained from the ordered job's input hash and re-executed
//                    with that computation's inputs.
//   replay           records committed verbatim (another job's trace).
// Openings always carry the ordered job's spec, model and slice (anything else is refused by
// workloads::VerifyOpening before re-execution), with the committed record and its proofs.
//
// Only inference jobs: a training segment's opening carries the state it starts from, which a
// made-up hash has none of.
//
// Thread-safety: values; const methods may be called concurrently. Build uses the given
// backend, which is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <span>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/workloads/workloads.h"

namespace probity::verifier::sim {

class MerkleLevels;

// What every opening of one inference job carries besides the trace: the encoded spec, the
// model, and each segment's slice of images with its proof under the spec's images root.
// Gathered once per job (O(n) hashing) and shared by every trace committed for it.
class InferJobInputs {
 public:
  // kInvalidArgument unless the spec is an inference spec and the model and images are the
  // ones it orders (ModelId, ImagesRoot).
  static Result<std::shared_ptr<const InferJobInputs>> Create(const workloads::JobSpec& spec,
                                                              const workloads::TensorMap& model,
                                                              const workloads::Tensor& images);
  ~InferJobInputs();

  const workloads::JobSpec& spec() const { return spec_; }
  const Hash256& job_input_hash() const { return job_input_hash_; }
  uint64_t segment_count() const { return slices_.size(); }
  // An opening of segment `index` with its inputs (spec, segment count, model, slice and slice
  // proof) filled in and the trace part (records, proofs) left empty. REQUIRES: index <
  // segment_count().
  workloads::Opening Inputs(uint64_t index) const;

 private:
  InferJobInputs() = default;
  workloads::JobSpec spec_;
  Bytes spec_bytes_;
  Hash256 job_input_hash_{};
  workloads::TensorMap model_;
  std::vector<workloads::Tensor> slices_;
  std::unique_ptr<MerkleLevels> image_tree_;
};

class ProviderTrace {
 public:
  // The records of `computed` (a run over `computed_inputs`) re-chained from `ordered`'s job
  // input hash: segment i's input is segment i-1's output; its output is made up when i is in
  // `made_up` (tagged_hash("probity/made-up-output", input || u64le(i) || u64le(salt))), the
  // computed record's when its input is unchanged, and otherwise re-executed on `backend` from
  // the new input with `computed_inputs`. With computed == ordered and nothing made up, this is
  // the honest trace. kInvalidArgument when the segment counts differ or an index is out of
  // range.
  static Result<ProviderTrace> Build(std::shared_ptr<const InferJobInputs> ordered,
                                     const InferJobInputs& computed_inputs,
                                     std::span<const workloads::TraceRecord> computed,
                                     const std::set<uint64_t>& made_up, uint64_t salt,
                                     workloads::Backend& backend);
  // `records` committed verbatim for `ordered`: honest when they are its run's own, a replay
  // when they are another job's. kInvalidArgument when the counts differ.
  static Result<ProviderTrace> FromRecords(std::shared_ptr<const InferJobInputs> ordered,
                                           std::span<const workloads::TraceRecord> records);

  ProviderTrace(ProviderTrace&&) noexcept;
  ProviderTrace& operator=(ProviderTrace&&) noexcept;
  ~ProviderTrace();

  // What the provider commits: the ordered job input hash, the last output, the trace root.
  const workloads::JobCommitment& commitment() const { return commitment_; }
  const std::vector<workloads::TraceRecord>& records() const { return records_; }
  const std::set<uint64_t>& made_up() const { return made_up_; }
  // The audit path of record `index` under the trace root. REQUIRES: index < segment count.
  std::vector<Hash256> Proof(uint64_t index) const;
  // The opening of segment `index` (kOutOfRange past the end).
  Result<workloads::Opening> Open(uint64_t index) const;

 private:
  ProviderTrace();
  Status Seal();

  std::shared_ptr<const InferJobInputs> ordered_;
  std::vector<workloads::TraceRecord> records_;
  std::set<uint64_t> made_up_;
  std::unique_ptr<MerkleLevels> tree_;
  workloads::JobCommitment commitment_;
};

}  // namespace probity::verifier::sim
