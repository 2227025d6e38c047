#include "train_runner.h"

#include <algorithm>

#include "probity/workloads/model.h"
#include "probity/workloads/random.h"
#include "trace_internal.h"

namespace probity::workloads::internal {

namespace {
// Copies image `i` of `d` to `dst`, with its columns reversed when `mirror`.
void CopyImage(const Dataset& d, uint32_t i, bool mirror, uint8_t* dst) {
  const uint8_t* src = d.images.data() + size_t{i} * kImageRows * kImageCols;
  if (!mirror) {
    std::copy_n(src, kImageRows * kImageCols, dst);
    return;
  }
  for (uint32_t r = 0; r < kImageRows; ++r) {
    for (uint32_t c = 0; c < kImageCols; ++c) {
      dst[r * kImageCols + c] = src[r * kImageCols + (kImageCols - 1 - c)];
    }
  }
}
}  // namespace

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
    // With mirroring, rows [n, 2n) hold the mirrored examples, so that a batch is still one
    // GatherRows.
    const Dataset& d = *r->data_;
    const int64_t n = spec.examples;
    const int64_t copies = spec.augment == Augmentation::kMirror ? 2 : 1;
    PROBITY_ASSIGN_OR_RETURN(Tensor px,
                             Tensor::Zeros(DType::kU8, InputShape(spec.architecture, copies * n)));
    PROBITY_ASSIGN_OR_RETURN(Tensor lb, Tensor::Zeros(DType::kI32, {copies * n}));
    auto lv = lb.mutable_data<int32_t>();
    for (int64_t c = 0; c < copies; ++c) {
      for (int64_t i = 0; i < n; ++i) {
        CopyImage(d, static_cast<uint32_t>(i), c == 1,
                  px.mutable_bytes().data() + (c * n + i) * kImageRows * kImageCols);
        lv[c * n + i] = d.labels[i];
      }
    }
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
  const bool augment = spec_.augment == Augmentation::kMirror;
  auto mirrored = [&](uint32_t example) {
    return augment && MirrorExample(spec_.seed, epoch, example);
  };
  if (placement_ == DataPlacement::kResident) {
    std::vector<int64_t> rows(b);
    for (size_t k = 0; k < b; ++k) {
      const uint32_t x = perm[first + k];
      rows[k] = x + (mirrored(x) ? int64_t{spec_.examples} : 0);
    }
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
    CopyImage(*data_, row, mirrored(row), dst + k * per);
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
  if (!state_hasher_) {
    PROBITY_ASSIGN_OR_RETURN(state_hasher_,
                             DeviceStateHasher::Create(backend_, net_->StateTensors()));
  }
  PROBITY_ASSIGN_OR_RETURN(NamedChunkHashes named, state_hasher_->Hash());
  return TrainStateHashFromChunks(job_input_hash_, (segment + 1) * spec_.steps_per_segment, named);
}

Status TrainRunner::FlipParameterBit() {
  PROBITY_ASSIGN_OR_RETURN(TensorMap state, DownloadState());
  // Parameters are the names without a slot prefix ("fc0.bias", not "adam_m/fc0.bias").
  for (auto& [name, tensor] : state) {
    if (name.find('/') != std::string::npos || tensor.numel() == 0) continue;
    tensor.mutable_bytes()[0] ^= 0x01;  // little-endian f32: the lowest mantissa bit
    return net_->LoadState(state, false);
  }
  return Status::Internal("the training state has no parameter to perturb");
}

Result<TensorMap> TrainRunner::DownloadState() { return net_->Download(net_->StateTensors()); }
Result<TensorMap> TrainRunner::DownloadModel() { return net_->Download(net_->ParameterTensors()); }

}  // namespace probity::workloads::internal
