// RunJob and JobRun (the provider's side), VerifyOpening, Reexecute and CheckSegment (the
// checker's side), TestAccuracy.
#include <algorithm>
#include <chrono>

#include "infer_runner.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"
#include "probity/workloads/workloads.h"
#include "trace_internal.h"
#include "train_runner.h"

namespace probity::workloads {

using internal::InferRunner;
using internal::TrainRunner;

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

Hash256 LeafHash(const TraceRecord& r) { return MerkleLeafHash(EncodeTraceRecord(r)); }

// The images of infer segment `index`: [index·s, min(count, (index+1)·s)).
uint64_t SliceLength(const InferSpec& s, uint64_t index) {
  const uint64_t begin = index * s.slice_size;
  return std::min<uint64_t>(s.count, begin + s.slice_size) - begin;
}

Status CheckStateStructure(const TensorMap& state, const TrainSpec& spec) {
  const auto shapes = internal::StateShapes(ClassifierArch::Of(spec), spec.optimizer);
  if (state.size() != shapes.size()) {
    return Status::InvalidArgument("opening carries " + std::to_string(state.size()) +
                                   " state tensors, the job's state has " +
                                   std::to_string(shapes.size()));
  }
  auto it = state.begin();
  for (const auto& [name, shape] : shapes) {
    if (it->first != name) {
      return Status::InvalidArgument("opening carries state tensor \"" + it->first + "\" where \"" +
                                     name + "\" belongs");
    }
    if (it->second.dtype() != DType::kF32 || it->second.shape() != shape) {
      return Status::InvalidArgument(
          "state tensor " + name + " is " + std::string(DTypeName(it->second.dtype())) + " " +
          ShapeString(it->second.shape()) + ", expected f32 " + ShapeString(shape));
    }
    ++it;
  }
  return Status::OK();
}

// The structural checks Reexecute needs before touching a backend (VerifyOpening adds the
// cryptographic ones).
Result<JobSpec> CheckOpeningStructure(const Opening& o) {
  PROBITY_ASSIGN_OR_RETURN(JobSpec spec, DecodeJobSpec(o.spec));
  const uint64_t n = spec.kind == JobKind::kTrainClassifier ? spec.train.segment_count()
                                                            : spec.infer.segment_count();
  if (o.segment_count != n) {
    return Status::InvalidArgument("opening says " + std::to_string(o.segment_count) +
                                   " segments; its spec has " + std::to_string(n));
  }
  const uint64_t i = o.record.index;
  if (i >= n) {
    return Status::InvalidArgument("segment " + std::to_string(i) + " of a job with " +
                                   std::to_string(n) + " segments");
  }
  if (spec.kind == JobKind::kTrainClassifier) {
    if (o.slice) return Status::InvalidArgument("a training opening carries no images");
    if (i == 0) {
      if (!o.tensors.empty()) {
        return Status::InvalidArgument("segment 0 starts from the seed; it carries no state");
      }
    } else {
      PROBITY_RETURN_IF_ERROR(CheckStateStructure(o.tensors, spec.train));
    }
  } else {
    PROBITY_ASSIGN_OR_RETURN(ClassifierArch arch, ArchitectureOf(o.tensors));
    if (!o.slice) return Status::InvalidArgument("an inference opening needs its images");
    PROBITY_RETURN_IF_ERROR(internal::CheckImages(*o.slice));
    const uint64_t len = SliceLength(spec.infer, i);
    if (static_cast<uint64_t>(o.slice->shape()[0]) != len) {
      return Status::InvalidArgument("segment " + std::to_string(i) + " has " +
                                     std::to_string(len) + " images, the opening carries " +
                                     std::to_string(o.slice->shape()[0]));
    }
    PROBITY_RETURN_IF_ERROR(internal::CheckInferBounds(arch, len));
  }
  return spec;
}

}  // namespace

// ---- JobRun -----------------------------------------------------------------------------------

struct JobRun::Impl {
  JobSpec spec;
  Bytes spec_bytes;
  JobCommitment commitment;
  std::vector<TraceRecord> records;
  std::vector<Hash256> leaves;
  JobTimings timings;
  // train
  std::shared_ptr<const Dataset> data;
  uint64_t checkpoint_every = 1;
  std::optional<uint64_t> corrupt_segment;    // RunOptions::corrupt_segment (TEST ONLY)
  std::map<uint64_t, TensorMap> checkpoints;  // state at the start of segment k·checkpoint_every
  TensorMap model;
  // infer
  TensorMap infer_model;
  Tensor images, labels, logits;
  std::vector<Hash256> image_leaves;  // ImagesRoot's leaves, for the slices' proofs
};

JobRun::JobRun(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
JobRun::~JobRun() = default;
const JobSpec& JobRun::spec() const { return impl_->spec; }
const JobCommitment& JobRun::commitment() const { return impl_->commitment; }
std::span<const TraceRecord> JobRun::records() const { return impl_->records; }
const JobTimings& JobRun::timings() const { return impl_->timings; }
const TensorMap& JobRun::model() const { return impl_->model; }
const Tensor& JobRun::labels() const { return impl_->labels; }
const Tensor& JobRun::logits() const { return impl_->logits; }

namespace {

Status Stopped(uint64_t done, uint64_t n) {
  return Status::Unavailable("the run was stopped after " + std::to_string(done) + " of " +
                             std::to_string(n) + " segments");
}

Status RunTrain(JobRun::Impl& run, const JobInputs& inputs, Backend& backend,
                const RunOptions& options) {
  const TrainSpec& spec = run.spec.train;
  if (!inputs.catalog) return Status::InvalidArgument("train-classifier needs a data catalog");
  PROBITY_ASSIGN_OR_RETURN(run.data, inputs.catalog->Find(spec.dataset));
  const Hash256& j = run.commitment.job_input_hash;
  PROBITY_ASSIGN_OR_RETURN(auto runner, TrainRunner::Create(spec, j, backend, run.data,
                                                            TrainRunner::DataPlacement::kResident));
  PROBITY_RETURN_IF_ERROR(runner->LoadInitialState());
  const uint64_t n = spec.segment_count();
  run.records.reserve(n);
  Hash256 prev = j;
  for (uint64_t i = 0; i < n; ++i) {
    if (options.should_stop && options.should_stop()) return Stopped(i, n);
    if (i > 0 && i % run.checkpoint_every == 0) {
      auto t0 = std::chrono::steady_clock::now();
      PROBITY_ASSIGN_OR_RETURN(run.checkpoints[i], runner->DownloadState());
      run.timings.checkpoint_seconds += Seconds(t0);
    }
    PROBITY_RETURN_IF_ERROR(runner->RunSegment(i));
    if (run.corrupt_segment == i) PROBITY_RETURN_IF_ERROR(runner->FlipParameterBit());
    auto t0 = std::chrono::steady_clock::now();
    PROBITY_ASSIGN_OR_RETURN(Hash256 out, runner->SegmentOutputHash(i));
    run.records.push_back({i, prev, out});
    prev = out;
    run.timings.commit_seconds += Seconds(t0);
    if (options.progress) options.progress(i + 1, n);
  }
  PROBITY_ASSIGN_OR_RETURN(run.model, runner->DownloadModel());
  return Status::OK();
}

Status RunInfer(JobRun::Impl& run, const JobInputs& inputs, Backend& backend,
                const RunOptions& options) {
  const InferSpec& spec = run.spec.infer;
  if (!inputs.model || !inputs.images) {
    return Status::InvalidArgument("infer-classifier needs a model and images");
  }
  PROBITY_ASSIGN_OR_RETURN(ClassifierArch arch, ArchitectureOf(*inputs.model));
  const Hash256 id = ModelId(*inputs.model);
  if (id != spec.model) {
    return Status::InvalidArgument("the model's id is " + ToHex(id) + ", the spec orders " +
                                   ToHex(spec.model));
  }
  PROBITY_RETURN_IF_ERROR(internal::CheckImages(*inputs.images));
  if (static_cast<uint64_t>(inputs.images->shape()[0]) != spec.count) {
    return Status::InvalidArgument("the spec orders " + std::to_string(spec.count) + " images; " +
                                   std::to_string(inputs.images->shape()[0]) + " were given");
  }
  PROBITY_ASSIGN_OR_RETURN(run.image_leaves,
                           internal::ImageSliceLeaves(*inputs.images, spec.slice_size));
  const Hash256 root = MerkleRootFromLeafHashes(run.image_leaves);
  if (root != spec.images) {
    return Status::InvalidArgument("the images' root is " + ToHex(root) + ", the spec orders " +
                                   ToHex(spec.images));
  }
  PROBITY_RETURN_IF_ERROR(internal::CheckInferBounds(arch, spec.slice_size));
  run.infer_model = *inputs.model;
  run.images = *inputs.images;
  PROBITY_ASSIGN_OR_RETURN(auto runner, InferRunner::Create(backend, *inputs.model));
  const uint64_t n = spec.segment_count();
  PROBITY_ASSIGN_OR_RETURN(run.labels, Tensor::Zeros(DType::kI32, {int64_t{spec.count}}));
  PROBITY_ASSIGN_OR_RETURN(run.logits,
                           Tensor::Zeros(DType::kF32, {int64_t{spec.count}, kNumClasses}));
  Hash256 prev = run.commitment.job_input_hash;
  for (uint64_t i = 0; i < n; ++i) {
    if (options.should_stop && options.should_stop()) return Stopped(i, n);
    const uint64_t begin = i * spec.slice_size, len = SliceLength(spec, i);
    PROBITY_ASSIGN_OR_RETURN(Tensor slice, internal::ImageSlice(run.images, begin, begin + len));
    Tensor labels, logits;
    PROBITY_ASSIGN_OR_RETURN(Hash256 out, runner->RunSlice(i, prev, slice, &labels, &logits));
    if (run.corrupt_segment == i) {
      logits.mutable_bytes()[0] ^= 0x01;  // the lowest mantissa bit of the first logit
      out = internal::InferOutputHash(prev, i, TensorHash(labels), TensorHash(logits));
    }
    auto t0 = std::chrono::steady_clock::now();
    run.records.push_back({i, prev, out});
    prev = out;
    run.timings.commit_seconds += Seconds(t0);
    std::copy_n(labels.bytes().data(), labels.byte_size(),
                run.labels.mutable_bytes().data() + begin * 4);
    std::copy_n(logits.bytes().data(), logits.byte_size(),
                run.logits.mutable_bytes().data() + begin * 4 * kNumClasses);
    if (options.progress) options.progress(i + 1, n);
  }
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<JobRun>> RunJob(const JobSpec& spec, const JobInputs& inputs,
                                       Backend& backend, const RunOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  PROBITY_RETURN_IF_ERROR(ValidateJobSpec(spec));
  if (options.checkpoint_every < 1) {
    return Status::InvalidArgument("checkpoint_every must be at least 1");
  }
  auto impl = std::make_unique<JobRun::Impl>();
  impl->spec = spec;
  impl->spec_bytes = EncodeJobSpec(spec);
  impl->checkpoint_every = options.checkpoint_every;
  impl->corrupt_segment = options.corrupt_segment;
  impl->commitment.job_input_hash = JobInputHash(spec);
  if (spec.kind == JobKind::kTrainClassifier) {
    PROBITY_RETURN_IF_ERROR(RunTrain(*impl, inputs, backend, options));
  } else {
    PROBITY_RETURN_IF_ERROR(RunInfer(*impl, inputs, backend, options));
  }
  auto t0 = std::chrono::steady_clock::now();
  impl->leaves.reserve(impl->records.size());
  for (const TraceRecord& r : impl->records) impl->leaves.push_back(LeafHash(r));
  impl->commitment.trace_root = MerkleRootFromLeafHashes(impl->leaves);
  impl->commitment.segment_count = impl->records.size();
  impl->commitment.output_hash = impl->records.back().output_hash;
  impl->timings.commit_seconds += Seconds(t0);
  impl->timings.total_seconds = Seconds(start);
  return std::make_unique<JobRun>(std::move(impl));
}

Result<Opening> JobRun::Open(uint64_t index, Backend& backend) const {
  const Impl& run = *impl_;
  const uint64_t n = run.records.size();
  if (index >= n) {
    return Status::OutOfRange("segment " + std::to_string(index) + " of a job with " +
                              std::to_string(n) + " segments");
  }
  Opening o;
  o.spec = run.spec_bytes;
  o.segment_count = n;
  o.record = run.records[index];
  PROBITY_ASSIGN_OR_RETURN(o.proof, MerkleInclusionProof(run.leaves, index));
  if (index > 0) {
    o.producer = run.records[index - 1];
    PROBITY_ASSIGN_OR_RETURN(o.producer_proof, MerkleInclusionProof(run.leaves, index - 1));
  }
  if (run.spec.kind == JobKind::kTrainClassifier) {
    if (index == 0) return o;
    const TrainSpec& spec = run.spec.train;
    const uint64_t from = index / run.checkpoint_every * run.checkpoint_every;
    PROBITY_ASSIGN_OR_RETURN(
        auto runner, TrainRunner::Create(spec, run.commitment.job_input_hash, backend, run.data,
                                         TrainRunner::DataPlacement::kPerBatch));
    if (from == 0) {
      PROBITY_RETURN_IF_ERROR(runner->LoadInitialState());
    } else {
      PROBITY_RETURN_IF_ERROR(runner->LoadState(run.checkpoints.at(from)));
    }
    for (uint64_t s = from; s < index; ++s) {
      PROBITY_RETURN_IF_ERROR(runner->RunSegment(s));
      if (run.corrupt_segment == s) PROBITY_RETURN_IF_ERROR(runner->FlipParameterBit());
    }
    PROBITY_ASSIGN_OR_RETURN(o.tensors, runner->DownloadState());
    const Hash256 h =
        TrainStateHash(run.commitment.job_input_hash, index * spec.steps_per_segment, o.tensors);
    if (h != o.record.input_hash) {
      return Status::Internal("replaying to segment " + std::to_string(index) + " gave state " +
                              ToHex(h) + ", the trace says " + ToHex(o.record.input_hash) +
                              ": the run was not deterministic");
    }
    return o;
  }
  const InferSpec& spec = run.spec.infer;
  o.tensors = run.infer_model;
  const uint64_t begin = index * spec.slice_size;
  PROBITY_ASSIGN_OR_RETURN(
      Tensor slice, internal::ImageSlice(run.images, begin, begin + SliceLength(spec, index)));
  o.slice = std::move(slice);
  PROBITY_ASSIGN_OR_RETURN(o.slice_proof, MerkleInclusionProof(run.image_leaves, index));
  return o;
}

// ---- checking ---------------------------------------------------------------------------------

Status VerifyOpening(const Opening& o, const JobCommitment& c) {
  auto fail = [&o](const std::string& what) {
    return Status::Corruption("opening of segment " + std::to_string(o.record.index) + ": " + what);
  };
  auto spec = DecodeJobSpec(o.spec);
  if (!spec.ok()) return fail(spec.status().message());
  const Hash256 j = TaggedHash("probity/job-spec", o.spec);
  if (j != c.job_input_hash) {
    return fail("its spec hashes to " + ToHex(j) + ", not the ordered job input " +
                ToHex(c.job_input_hash));
  }
  if (o.segment_count != c.segment_count) {
    return fail("it claims " + std::to_string(o.segment_count) + " segments, the commitment " +
                std::to_string(c.segment_count));
  }
  auto structure = CheckOpeningStructure(o);
  if (!structure.ok()) return fail(structure.status().message());
  const uint64_t i = o.record.index, n = c.segment_count;
  if (!VerifyMerkleInclusion(LeafHash(o.record), i, n, o.proof, c.trace_root)) {
    return fail("its record is not in the trace root");
  }
  if (i == 0) {
    if (o.producer) return fail("segment 0 has no producer");
    if (o.record.input_hash != c.job_input_hash) {
      return fail("segment 0's input is not the job input hash");
    }
  } else {
    if (!o.producer) return fail("the producing record is missing");
    if (o.producer->index != i - 1) return fail("the producer is not segment i-1");
    if (!VerifyMerkleInclusion(LeafHash(*o.producer), i - 1, n, o.producer_proof, c.trace_root)) {
      return fail("the producer's record is not in the trace root");
    }
    if (o.producer->output_hash != o.record.input_hash) {
      return fail("the producer's output is not this segment's input");
    }
  }
  if (i + 1 == n && o.record.output_hash != c.output_hash) {
    return fail("the last segment's output is not the committed output hash");
  }
  if (spec->kind == JobKind::kTrainClassifier) {
    if (i > 0) {
      const Hash256 h = TrainStateHash(j, i * spec->train.steps_per_segment, o.tensors);
      if (h != o.record.input_hash) {
        return fail("its state hashes to " + ToHex(h) + ", the record's input is " +
                    ToHex(o.record.input_hash));
      }
    }
    return Status::OK();
  }
  const Hash256 model = ModelId(o.tensors);
  if (model != spec->infer.model) {
    return fail("its model has id " + ToHex(model) + ", the spec orders " +
                ToHex(spec->infer.model));
  }
  if (!VerifyMerkleInclusion(MerkleLeafHash(TensorHash(*o.slice)), i, n, o.slice_proof,
                             spec->infer.images)) {
    return fail("its images are not slice " + std::to_string(i) + " of the ordered images");
  }
  return Status::OK();
}

Result<Hash256> Reexecute(const Opening& o, Backend& backend, DataCatalog& catalog) {
  PROBITY_ASSIGN_OR_RETURN(JobSpec spec, CheckOpeningStructure(o));
  const uint64_t i = o.record.index;
  if (spec.kind == JobKind::kTrainClassifier) {
    PROBITY_ASSIGN_OR_RETURN(auto data, catalog.Find(spec.train.dataset));
    const Hash256 j = TaggedHash("probity/job-spec", o.spec);
    PROBITY_ASSIGN_OR_RETURN(auto runner,
                             TrainRunner::Create(spec.train, j, backend, std::move(data),
                                                 TrainRunner::DataPlacement::kPerBatch));
    if (i == 0) {
      PROBITY_RETURN_IF_ERROR(runner->LoadInitialState());
    } else {
      PROBITY_RETURN_IF_ERROR(runner->LoadState(o.tensors));
    }
    PROBITY_RETURN_IF_ERROR(runner->RunSegment(i));
    return runner->SegmentOutputHash(i);
  }
  PROBITY_ASSIGN_OR_RETURN(auto runner, InferRunner::Create(backend, o.tensors));
  return runner->RunSlice(i, o.record.input_hash, *o.slice, nullptr, nullptr);
}

Status CheckSegment(const Opening& o, const JobCommitment& c, Backend& backend,
                    DataCatalog& catalog) {
  PROBITY_RETURN_IF_ERROR(VerifyOpening(o, c));
  PROBITY_ASSIGN_OR_RETURN(Hash256 out, Reexecute(o, backend, catalog));
  if (out != o.record.output_hash) {
    return Status::Corruption("segment " + std::to_string(o.record.index) +
                              ": re-execution gives output " + ToHex(out) +
                              ", the provider committed " + ToHex(o.record.output_hash));
  }
  return Status::OK();
}

Result<double> TestAccuracy(const TensorMap& model, const Dataset& data, Backend& backend) {
  if (data.rows != kImageRows || data.cols != kImageCols || data.count == 0) {
    return Status::InvalidArgument("test data must be non-empty 28×28 images");
  }
  PROBITY_ASSIGN_OR_RETURN(auto runner, InferRunner::Create(backend, model));
  PROBITY_ASSIGN_OR_RETURN(
      Tensor all, Tensor::Zeros(DType::kU8, {int64_t{data.count}, kImageRows, kImageCols}));
  std::copy(data.images.begin(), data.images.end(), all.mutable_bytes().data());
  constexpr uint64_t kBatch = 1000;
  uint64_t correct = 0;
  for (uint64_t begin = 0; begin < data.count; begin += kBatch) {
    const uint64_t end = std::min<uint64_t>(data.count, begin + kBatch);
    PROBITY_ASSIGN_OR_RETURN(Tensor slice, internal::ImageSlice(all, begin, end));
    Tensor labels;
    PROBITY_RETURN_IF_ERROR(runner->RunSlice(0, Hash256{}, slice, &labels, nullptr).status());
    auto lv = labels.data<int32_t>();
    for (uint64_t k = 0; k < end - begin; ++k) correct += lv[k] == data.labels[begin + k];
  }
  return static_cast<double>(correct) / data.count;
}

}  // namespace probity::workloads
