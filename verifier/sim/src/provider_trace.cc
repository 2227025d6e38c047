#include "probity/verifier/sim/provider_trace.h"

#include <algorithm>

#include "merkle_levels.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"

namespace probity::verifier::sim {

using workloads::Opening;
using workloads::TraceRecord;

// ---- InferJobInputs --------------------------------------------------------------------------

InferJobInputs::~InferJobInputs() = default;

Result<std::shared_ptr<const InferJobInputs>> InferJobInputs::Create(
    const workloads::JobSpec& spec, const workloads::TensorMap& model,
    const workloads::Tensor& images) {
  if (spec.kind != workloads::JobKind::kInferClassifier) {
    return Status::InvalidArgument("only inference jobs have forgeable traces");
  }
  PROBITY_RETURN_IF_ERROR(workloads::ValidateJobSpec(spec));
  if (workloads::ModelId(model) != spec.infer.model) {
    return Status::InvalidArgument("the model is not the one the spec orders");
  }
  const auto& shape = images.shape();
  if (images.dtype() != workloads::DType::kU8 || shape.size() != 3 || shape[1] != 28 ||
      shape[2] != 28 || shape[0] != static_cast<int64_t>(spec.infer.count)) {
    return Status::InvalidArgument("the images are not u8 [count, 28, 28] for this spec");
  }
  auto in = std::shared_ptr<InferJobInputs>(new InferJobInputs());
  in->spec_ = spec;
  in->spec_bytes_ = workloads::EncodeJobSpec(spec);
  in->job_input_hash_ = workloads::JobInputHash(spec);
  in->model_ = model;
  const uint64_t n = spec.infer.segment_count(), per = 28 * 28, count = spec.infer.count;
  std::vector<Hash256> leaves;
  leaves.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t begin = i * spec.infer.slice_size;
    const uint64_t len = std::min<uint64_t>(spec.infer.slice_size, count - begin);
    PROBITY_ASSIGN_OR_RETURN(
        workloads::Tensor slice,
        workloads::Tensor::Zeros(workloads::DType::kU8, {static_cast<int64_t>(len), 28, 28}));
    std::copy_n(images.bytes().data() + begin * per, slice.byte_size(),
                slice.mutable_bytes().data());
    leaves.push_back(MerkleLeafHash(workloads::TensorHash(slice)));
    in->slices_.push_back(std::move(slice));
  }
  in->image_tree_ = std::make_unique<MerkleLevels>(std::move(leaves));
  // The slices and their leaves must be exactly ImagesRoot's, or every opening would fail.
  if (in->image_tree_->root() != spec.infer.images) {
    return Status::InvalidArgument("the images are not the ones the spec orders");
  }
  return std::shared_ptr<const InferJobInputs>(std::move(in));
}

Opening InferJobInputs::Inputs(uint64_t index) const {
  Opening o;
  o.spec = spec_bytes_;
  o.segment_count = slices_.size();
  o.tensors = model_;
  o.slice = slices_[index];
  o.slice_proof = image_tree_->Path(index);
  return o;
}

// ---- ProviderTrace ---------------------------------------------------------------------------

namespace {

Hash256 MadeUpOutput(const Hash256& input, uint64_t index, uint64_t salt) {
  uint8_t m[48];
  std::copy(input.begin(), input.end(), m);
  PutU64LE(m + 32, index);
  PutU64LE(m + 40, salt);
  return TaggedHash("probity/made-up-output", ByteView(m, sizeof m));
}

}  // namespace

ProviderTrace::ProviderTrace() = default;
ProviderTrace::ProviderTrace(ProviderTrace&&) noexcept = default;
ProviderTrace& ProviderTrace::operator=(ProviderTrace&&) noexcept = default;
ProviderTrace::~ProviderTrace() = default;

Result<ProviderTrace> ProviderTrace::Build(std::shared_ptr<const InferJobInputs> ordered,
                                           const InferJobInputs& computed_inputs,
                                           std::span<const TraceRecord> computed,
                                           const std::set<uint64_t>& made_up, uint64_t salt,
                                           workloads::Backend& backend) {
  const uint64_t n = ordered->segment_count();
  if (computed.size() != n || computed_inputs.segment_count() != n) {
    return Status::InvalidArgument("the computed run has another segment count");
  }
  if (!made_up.empty() && *made_up.rbegin() >= n) {
    return Status::InvalidArgument("a made-up segment is out of range");
  }
  ProviderTrace t;
  t.ordered_ = std::move(ordered);
  t.made_up_ = made_up;
  t.records_.reserve(n);
  Hash256 input = t.ordered_->job_input_hash();
  for (uint64_t i = 0; i < n; ++i) {
    TraceRecord r{i, input, computed[i].output_hash};
    if (made_up.count(i)) {
      r.output_hash = MadeUpOutput(input, i, salt);
    } else if (input != computed[i].input_hash) {
      Opening o = computed_inputs.Inputs(i);
      o.record = r;
      PROBITY_ASSIGN_OR_RETURN(r.output_hash, workloads::Reexecute(o, backend));
    }
    input = r.output_hash;
    t.records_.push_back(r);
  }
  PROBITY_RETURN_IF_ERROR(t.Seal());
  return t;
}

Result<ProviderTrace> ProviderTrace::FromRecords(std::shared_ptr<const InferJobInputs> ordered,
                                                 std::span<const TraceRecord> records) {
  if (records.size() != ordered->segment_count()) {
    return Status::InvalidArgument("the records are of a job with another segment count");
  }
  ProviderTrace t;
  t.ordered_ = std::move(ordered);
  t.records_.assign(records.begin(), records.end());
  PROBITY_RETURN_IF_ERROR(t.Seal());
  return t;
}

Status ProviderTrace::Seal() {
  if (records_.empty()) return Status::InvalidArgument("a trace has at least one segment");
  std::vector<Hash256> leaves;
  leaves.reserve(records_.size());
  for (const auto& r : records_) leaves.push_back(MerkleLeafHash(workloads::EncodeTraceRecord(r)));
  tree_ = std::make_unique<MerkleLevels>(std::move(leaves));
  commitment_.job_input_hash = ordered_->job_input_hash();
  commitment_.output_hash = records_.back().output_hash;
  commitment_.trace_root = tree_->root();
  commitment_.segment_count = records_.size();
  return Status::OK();
}

std::vector<Hash256> ProviderTrace::Proof(uint64_t index) const { return tree_->Path(index); }

Result<Opening> ProviderTrace::Open(uint64_t index) const {
  if (index >= records_.size()) {
    return Status::OutOfRange("segment " + std::to_string(index) + " of a trace of " +
                              std::to_string(records_.size()));
  }
  Opening o = ordered_->Inputs(index);
  o.record = records_[index];
  o.proof = Proof(index);
  if (index > 0) {
    o.producer = records_[index - 1];
    o.producer_proof = Proof(index - 1);
  }
  return o;
}

}  // namespace probity::verifier::sim
