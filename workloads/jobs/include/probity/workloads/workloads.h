// Jobs, traces, openings and re-execution: the API that the provider daemon (RunJob, Open), the
// verifier and the on-chain referee (DecodeOpening, VerifyOpening, Reexecute, CheckSegment)
// share. docs/workloads.md is the long form of this header.
//
// A job is a chain of segments. Segment i maps a state with hash h_i to a state with hash
// h_{i+1}; its trace record is (i, h_i, h_{i+1}), and
//   h_0 = the job input hash (JobInputHash(spec), which binds the data set, or the model and
//         the images, by their ids), h_n = the job output hash;
//   trace root = RFC 6962 Merkle root over the records' encodings (EncodeTraceRecord).
// The provider commits (output hash, trace root, segment count); a checker opens any segment.
//
// train-classifier: segment i runs steps [i·S, min(T, (i+1)·S)) (S = steps_per_segment,
// T = total steps). For 0 < i < n, h_i = TrainStateHash(J, i·S, state): the weights and the
// optimiser state after i·S steps. h_n = ModelId(final weights), so the output hash is the id
// of the trained model the buyer downloads.
// infer-classifier: segment i classifies slice i of the images;
//   h_{i+1} = tagged_hash("probity/infer-output", h_i || u64 i || TensorHash(labels_i) ||
//                         TensorHash(logits_i))
// with labels_i [s] i32 and logits_i [s, 10] f32, so h_n binds every label and logit in order.
//
// State tensor names (train): the parameters (model.h), and per parameter P its optimiser
// slots "velocity/P" (sgd-momentum) or "adam_m/P", "adam_v/P" (adam).
//   TrainStateHash(J, steps, state) = tagged_hash("probity/train-state", J || u64 steps ||
//       u32 n || for each tensor in bytewise name order:
//           u32 len(name) || name || u32 chunks || TensorHash(chunk){chunks})
// where the chunks of a tensor are its consecutive leading-dimension rows, max(1,
// floor(8192 / bytes per row)) rows each (the whole tensor when that covers it): a GPU hashes
// a ~3 MB state with hundreds of threads, where SHA-256 would allow one per tensor.
//
// Opening encoding (all integers little-endian; tensors in tensor.h's canonical encoding):
//   opening   := "PRBO" u8 version=1 spec:bytes u64 segment_count record proof
//                u8 has_producer [record proof] u32 n_tensors (name:bytes tensor){n_tensors}
//                u8 has_slice [tensor proof]
//   record    := u64 index input_hash:32 output_hash:32          (72 bytes; the Merkle leaf)
//   proof     := u8 n (<= 64) hash:32{n}
//   bytes     := u32 length || length bytes
// The tensors are the state at the segment's start (train, i > 0; none for i = 0, whose
// state is derived from the seed) or the model (infer); names strictly increasing. has_slice:
// the segment's images [s, 28, 28] u8 with their Merkle proof under ImagesRoot (infer only).
// has_producer: record i-1 and its proof (every i > 0). DecodeOpening refuses anything else,
// and anything above kMaxOpeningBytes (4 MiB).
//
// Bounds: every segment re-executes on one CPU core in about 100 ms or less, and its opening is
// at most 4 MiB (ValidateJobSpec for training; RunJob checks the model of an inference).
//
// Thread-safety: functions are thread-safe given distinct Backends; a JobRun is used by one
// thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/workloads/backend.h"
#include "probity/workloads/dataset.h"
#include "probity/workloads/job_spec.h"
#include "probity/workloads/model.h"
#include "probity/workloads/safetensors.h"
#include "probity/workloads/tensor.h"

namespace probity::workloads {

struct TraceRecord {
  uint64_t index = 0;
  Hash256 input_hash{};
  Hash256 output_hash{};
  friend bool operator==(const TraceRecord&, const TraceRecord&) = default;
};

inline constexpr size_t kTraceRecordBytes = 72;
Bytes EncodeTraceRecord(const TraceRecord& record);
Hash256 TraceRoot(std::span<const TraceRecord> records);

// What a Commit binds, with the order's job input hash.
struct JobCommitment {
  Hash256 job_input_hash{};
  Hash256 output_hash{};
  Hash256 trace_root{};
  uint64_t segment_count = 0;
  friend bool operator==(const JobCommitment&, const JobCommitment&) = default;
};

Hash256 TrainStateHash(const Hash256& job_input_hash, uint64_t steps_done, const TensorMap& state);

// Merkle root over the slices of `images` ([count, 28, 28] u8): leaf i is TensorHash of images
// [i·slice_size, min(count, (i+1)·slice_size)). The `images` field of an infer spec.
// kInvalidArgument for another shape or dtype, or slice_size 0.
Result<Hash256> ImagesRoot(const Tensor& images, uint32_t slice_size);

struct Opening {
  Bytes spec;  // EncodeJobSpec of the job
  uint64_t segment_count = 0;
  TraceRecord record;
  std::vector<Hash256> proof;
  std::optional<TraceRecord> producer;  // record index-1 (index > 0)
  std::vector<Hash256> producer_proof;
  TensorMap tensors;            // train: the state at the segment's start; infer: the model
  std::optional<Tensor> slice;  // infer: this segment's images
  std::vector<Hash256> slice_proof;
};

Bytes EncodeOpening(const Opening& opening);
Result<Opening> DecodeOpening(ByteView bytes);

// Checks everything that needs no re-execution: the spec hashes to the commitment's job input
// hash; the segment count agrees; the record and the producer's record sit in the trace root;
// the links (h_0 = job input hash, producer output = record input, last output = committed
// output); the input tensors are exactly the ones the segment needs (names, dtypes, shapes)
// and hash to the record's input hash (train), or are the ordered model and slice (infer);
// the segment is within the bounds. kCorruption (or kInvalidArgument for an opening of the
// wrong shape) naming the first failed check.
Status VerifyOpening(const Opening& opening, const JobCommitment& commitment);

// Re-executes the opened segment on `backend` and returns its output hash. Checks the inputs'
// structure (not their hashes: VerifyOpening does) so that no opening can crash it. Training
// data comes from `catalog` by the spec's data set id.
Result<Hash256> Reexecute(const Opening& opening, Backend& backend,
                          DataCatalog& catalog = DataCatalog::Default());

// VerifyOpening, then Reexecute, then compares with the record's output hash: OK exactly when
// the segment was computed honestly. A mismatch is kCorruption naming both hashes.
Status CheckSegment(const Opening& opening, const JobCommitment& commitment, Backend& backend,
                    DataCatalog& catalog = DataCatalog::Default());

struct JobInputs {
  DataCatalog* catalog = &DataCatalog::Default();  // train: resolves spec.train.dataset
  const TensorMap* model = nullptr;                // infer: ModelId must be spec.infer.model
  const Tensor* images = nullptr;  // infer: [count, 28, 28] u8 under spec.infer.images
};

struct RunOptions {
  // train: keep a host copy of the state every this many segments, so that Open replays at
  // most this many segments. >= 1.
  uint64_t checkpoint_every = 64;
  // Called after each segment with (segments done, segment count); may be empty.
  std::function<void(uint64_t, uint64_t)> progress;
  // TEST ONLY: a provider that cheats once, for the fault tests of the provider and the
  // verifier (the provider's PROBITY_TEST_PROVIDER_FAULT=corrupt-segment:I). Segment
  // `corrupt_segment` is computed, then perturbed before its output hash is taken (training:
  // the lowest mantissa bit of the first element of the first parameter tensor in bytewise
  // name order; inference: that bit of the slice's first logit), and the run carries on from
  // the perturbed value. Every other record stays consistent, so that segment alone
  // re-executes to another hash. JobRun::Open replays the same perturbation, so the openings
  // agree with the trace. An index past the last segment changes nothing.
  std::optional<uint64_t> corrupt_segment;
  // Asked before each segment; when it returns true the run stops there and RunJob returns
  // kUnavailable (a daemon shutting down, a job the chain expired). May be empty.
  std::function<bool()> should_stop;
};

struct JobTimings {
  double total_seconds = 0;
  double commit_seconds = 0;      // state hashing, records and the trace root
  double checkpoint_seconds = 0;  // host copies kept for Open
};

// A finished job on the provider's side: its commitment, trace and output, and what it needs to
// open any segment later.
class JobRun {
 public:
  ~JobRun();
  const JobSpec& spec() const;
  const JobCommitment& commitment() const;
  std::span<const TraceRecord> records() const;
  const JobTimings& timings() const;

  // train: the trained model (ModelId == commitment().output_hash).
  const TensorMap& model() const;
  // infer: predicted labels [count] i32 and logits [count, 10] f32.
  const Tensor& labels() const;
  const Tensor& logits() const;

  // The opening of segment `index` (kOutOfRange past the end). Training segments replay from
  // the nearest checkpoint on `backend`, and the replayed state must hash to the record's
  // input hash (else kInternal: the run was not deterministic).
  Result<Opening> Open(uint64_t index, Backend& backend) const;

  struct Impl;
  explicit JobRun(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// Runs a job on `backend`. kInvalidArgument for an invalid spec or inputs that do not match it
// (a model with another id, images with another root or shape, a data set that is not 28×28
// or has fewer than `examples` examples); kNotFound for a data set the catalog cannot find.
Result<std::unique_ptr<JobRun>> RunJob(const JobSpec& spec, const JobInputs& inputs,
                                       Backend& backend, const RunOptions& options = {});

// Accuracy of `model` on `data` (argmax of the logits against the labels), batched on
// `backend`. For reports; not part of any trace.
Result<double> TestAccuracy(const TensorMap& model, const Dataset& data, Backend& backend);

}  // namespace probity::workloads
