// Units and result files (job_result.h).
#include "probity/workloads/job_result.h"

#include <algorithm>
#include <limits>

#include "probity/primitives/hex.h"
#include "probity/workloads/model.h"
#include "probity/workloads/workloads.h"
#include "trace_internal.h"

namespace probity::workloads {
namespace {

constexpr int64_t kClasses = 10;

Result<uint64_t> CostToUnits(uint64_t per_item, uint64_t items) {
  if (per_item != 0 && items > std::numeric_limits<uint64_t>::max() / per_item) {
    return Status::OutOfRange("the job's cost overflows 64 bits");
  }
  uint64_t cost = per_item * items;
  return std::max<uint64_t>(1, cost / kCostPerUnit + (cost % kCostPerUnit != 0));
}

}  // namespace

Result<uint64_t> JobUnits(const JobSpec& spec, const TensorMap* model) {
  PROBITY_RETURN_IF_ERROR(ValidateJobSpec(spec));
  if (spec.kind == JobKind::kTrainClassifier) {
    return CostToUnits(TrainStepCost(spec.train), spec.train.total_steps());
  }
  if (model == nullptr) {
    return Status::InvalidArgument("the units of an infer-classifier job need its model");
  }
  PROBITY_ASSIGN_OR_RETURN(ClassifierArch arch, ArchitectureOf(*model));
  return CostToUnits(arch.ForwardCost(), spec.infer.count);
}

Result<Bytes> EncodeJobResult(const JobRun& run) {
  if (run.spec().kind == JobKind::kTrainClassifier) return EncodeSafetensors(run.model());
  TensorMap out;
  out.emplace("labels", run.labels());
  out.emplace("logits", run.logits());
  return EncodeSafetensors(out);
}

Result<JobResult> VerifyJobResult(const JobSpec& spec, const Hash256& output_hash, ByteView file) {
  PROBITY_RETURN_IF_ERROR(ValidateJobSpec(spec));
  auto decoded = DecodeSafetensors(file);
  if (!decoded.ok()) {
    return Status::Corruption("the result file is not valid safetensors: " +
                              decoded.status().message());
  }
  JobResult result;
  if (spec.kind == JobKind::kTrainClassifier) {
    auto arch = ArchitectureOf(*decoded);
    if (!arch.ok()) {
      return Status::Corruption("the result is not a classifier model: " + arch.status().message());
    }
    if (!(*arch == ClassifierArch::Of(spec.train))) {
      return Status::Corruption("the result model's architecture is not the spec's");
    }
    Hash256 id = ModelId(*decoded);
    if (id != output_hash) {
      return Status::Corruption("the result model's id " + ToHex(id) +
                                " is not the committed output hash " + ToHex(output_hash));
    }
    result.model = std::move(*decoded);
    return result;
  }

  const InferSpec& is = spec.infer;
  auto labels = decoded->find("labels");
  auto logits = decoded->find("logits");
  if (decoded->size() != 2 || labels == decoded->end() || logits == decoded->end()) {
    return Status::Corruption("an inference result holds exactly 'labels' and 'logits'");
  }
  const int64_t count = is.count;
  if (labels->second.dtype() != DType::kI32 || labels->second.shape() != Shape{count}) {
    return Status::Corruption("'labels' must be i32 [" + std::to_string(count) + "]");
  }
  if (logits->second.dtype() != DType::kF32 || logits->second.shape() != Shape{count, kClasses}) {
    return Status::Corruption("'logits' must be f32 [" + std::to_string(count) + ", 10]");
  }
  // Replay the output chain slice by slice.
  Hash256 h = JobInputHash(spec);
  for (uint64_t i = 0; i < is.segment_count(); ++i) {
    const int64_t begin = static_cast<int64_t>(i * is.slice_size);
    const int64_t end = std::min<int64_t>(count, begin + is.slice_size);
    PROBITY_ASSIGN_OR_RETURN(Tensor l, Tensor::Zeros(DType::kI32, {end - begin}));
    PROBITY_ASSIGN_OR_RETURN(Tensor g, Tensor::Zeros(DType::kF32, {end - begin, kClasses}));
    std::copy_n(labels->second.bytes().data() + begin * 4, l.byte_size(), l.mutable_bytes().data());
    std::copy_n(logits->second.bytes().data() + begin * 4 * kClasses, g.byte_size(),
                g.mutable_bytes().data());
    h = internal::InferOutputHash(h, i, TensorHash(l), TensorHash(g));
  }
  if (h != output_hash) {
    return Status::Corruption("the labels and logits hash to " + ToHex(h) +
                              ", not to the committed output hash " + ToHex(output_hash));
  }
  result.labels = std::move(labels->second);
  result.logits = std::move(logits->second);
  return result;
}

}  // namespace probity::workloads
