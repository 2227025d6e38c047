#include "train_runner.h"

#include <algorithm>

#include "probity/workloads/model.h"
#include "probity/workloads/random.h"
#include "trace_internal.h"

namespace probity::workloads::internal {

Status CheckTrainingData(const TrainSpec& spec, const Dataset& data) {
  if (data.rows != kImageRows || data.cols != kImageCols) {
    return Status::InvalidArgument("train-classifier needs 28×28 images; the data set has " +
                                   std::to_string(data.rows) + "×" + std::to_string(data.cols));
  }
  if (data.count < spec.examples) {
    return Status::InvalidArgument("the spec trains on " + std::to_string(spec.examples) +
                                   " examples; the data set has " + std::to_string(data.count));
  }
  return Status::OK();
}

Result<std::unique_ptr<TrainRunner>> TrainRunner::Create(const TrainSpec& spec,
                                                         const Hash256& job_input_hash,
                                                         Backend& backend,
                                                         std::shared_ptr<const Dataset> data,
                                                         DataPlacement placement) {
  PROBITY_RETURN_IF_ERROR(
      ValidateJobSpec(JobSpec{.kind = JobKind::kTrainClassifier, .train = spec}));
  PROBITY_RETURN_IF_ERROR(CheckTrainingData(spec, *data));
  std::unique_ptr<TrainRunner> r(
      new TrainRunner(spec, job_input_hash, backend, std::move(data), placement));
  PROBITY_ASSIGN_OR_RETURN(
      r->net_, ClassifierNet::Create(backend, ClassifierArch::Of(spec), spec.optimizer));
  const int64_t b = spec.batch_size;
  PROBITY_ASSIGN_OR_RETURN(r->pixels_,
                           backend.Allocate(DType::kU8, InputShape(spec.architecture, b)));
  PROBITY_ASSIGN_OR_RETURN(r->labels_, backend.Allocate(DType::kI32, {b}));
  if (placement == DataPlacement::kResident) {
    const Dataset& d = *r->data_;
    const int64_t n = spec.examples;
    PROBITY_ASSIGN_OR_RETURN(Tensor px,
                             Tensor::Zeros(DType::kU8, InputShape(spec.architecture, n)));
    std::copy_n(d.images.data(), px.byte_size(), px.mutable_bytes().data());
    PROBITY_ASSIGN_OR_RETURN(Tensor lb, Tensor::Zeros(DType::kI32, {n}));
    auto lv = lb.mutable_data<int32_t>();
    for (int64_t i = 0; i < n; ++i) lv[i] = d.labels[i];
    PROBITY_ASSIGN_OR_RETURN(r->resident_pixels_, backend.Upload(px));
    PROBITY_ASSIGN_OR_RETURN(r->resident_labels_, backend.Upload(lb));
  }
  return r;
}

Status TrainRunner::LoadInitialState() {
  return net_->LoadState(InitialParameters(ClassifierArch::Of(spec_), spec_.seed), true);
}

Status TrainRunner::LoadState(const TensorMap& state) {
  // Every slot must be present: only the initial state has implicit zero slots.
  return net_->LoadState(state, false);
}

const std::vector<uint32_t>& TrainRunner::Permutation(uint32_t epoch) {
  auto it = permutations_.find(epoch);
  if (it != permutations_.end()) return it->second;
  while (permutations_.size() >= 2) permutations_.erase(permutations_.begin());
  return permutations_[epoch] = EpochPermutation(spec_.seed, epoch, spec_.examples);
}

Status TrainRunner::LoadBatch(uint64_t step) {
  const uint64_t per_epoch = spec_.steps_per_epoch();
  const uint32_t epoch = static_cast<uint32_t>(step / per_epoch);
  const uint64_t first = (step % per_epoch) * spec_.batch_size;
  const std::vector<uint32_t>& perm = Permutation(epoch);
  const size_t b = spec_.batch_size;
  if (placement_ == DataPlacement::kResident) {
    std::vector<int64_t> rows(b);
    for (size_t k = 0; k < b; ++k) rows[k] = perm[first + k];
    PROBITY_RETURN_IF_ERROR(backend_.GatherRows(&pixels_, resident_pixels_, rows));
    return backend_.GatherRows(&labels_, resident_labels_, rows);
  }
  const size_t per = data_->pixels_per_image();
  PROBITY_ASSIGN_OR_RETURN(Tensor px, Tensor::Zeros(DType::kU8, InputShape(spec_.architecture, b)));
  PROBITY_ASSIGN_OR_RETURN(Tensor lb, Tensor::Zeros(DType::kI32, {static_cast<int64_t>(b)}));
  uint8_t* dst = px.mutable_bytes().data();
  auto lv = lb.mutable_data<int32_t>();
  for (size_t k = 0; k < b; ++k) {
    const uint32_t row = perm[first + k];
    std::copy_n(data_->images.data() + row * per, per, dst + k * per);
    lv[k] = data_->labels[row];
  }
  PROBITY_RETURN_IF_ERROR(backend_.Upload(&pixels_, px));
  return backend_.Upload(&labels_, lb);
}

Status TrainRunner::RunSegment(uint64_t segment) {
  const uint64_t begin = segment * spec_.steps_per_segment;
  const uint64_t end = std::min(spec_.total_steps(), begin + spec_.steps_per_segment);
  if (segment >= spec_.segment_count()) {
    return Status::OutOfRange("segment " + std::to_string(segment) + " of a job with " +
                              std::to_string(spec_.segment_count()));
  }
  for (uint64_t s = begin; s < end; ++s) {
    PROBITY_RETURN_IF_ERROR(LoadBatch(s));
    PROBITY_RETURN_IF_ERROR(net_->TrainStep(pixels_, labels_, spec_, s + 1));
  }
  return Status::OK();
}

Result<Hash256> TrainRunner::SegmentOutputHash(uint64_t segment) {
  if (segment + 1 == spec_.segment_count()) {
    PROBITY_ASSIGN_OR_RETURN(auto named, net_->HashTensors(net_->ParameterTensors()));
    return ModelIdFromHashes(named);
  }
  PROBITY_ASSIGN_OR_RETURN(auto named, net_->HashTensors(net_->StateTensors()));
  return TrainStateHashFromHashes(job_input_hash_, (segment + 1) * spec_.steps_per_segment, named);
}

Result<TensorMap> TrainRunner::DownloadState() { return net_->Download(net_->StateTensors()); }
Result<TensorMap> TrainRunner::DownloadModel() { return net_->Download(net_->ParameterTensors()); }

}  // namespace probity::workloads::internal
