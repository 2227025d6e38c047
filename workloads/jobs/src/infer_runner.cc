#include "infer_runner.h"

#include "probity/workloads/dataset.h"
#include "trace_internal.h"

namespace probity::workloads::internal {

Status CheckInferBounds(const ClassifierArch& arch, uint64_t slice_len) {
  const uint32_t max = MaxInferSliceSize(arch);
  if (slice_len > max) {
    return Status::OutOfRange(
        "a slice of " + std::to_string(slice_len) +
        " images exceeds the segment bounds with this model (" + std::to_string(kMaxSegmentCost) +
        " cost units, " + std::to_string(kMaxStateBytes) +
        " bytes of model and images): use slice_size <= " + std::to_string(max));
  }
  return Status::OK();
}

Result<std::unique_ptr<InferRunner>> InferRunner::Create(Backend& backend, const TensorMap& model) {
  PROBITY_ASSIGN_OR_RETURN(ClassifierArch arch, ArchitectureOf(model));
  std::unique_ptr<InferRunner> r(new InferRunner(backend, arch));
  PROBITY_ASSIGN_OR_RETURN(r->net_, ClassifierNet::Create(backend, arch, std::nullopt));
  PROBITY_RETURN_IF_ERROR(r->net_->LoadState(model, false));
  return r;
}

Result<Hash256> InferRunner::RunSlice(uint64_t index, const Hash256& input, const Tensor& images,
                                      Tensor* labels, Tensor* logits) {
  PROBITY_RETURN_IF_ERROR(CheckImages(images));
  const int64_t s = images.shape()[0];
  if (s == 0) return Status::InvalidArgument("empty slice");
  const Shape in_shape = InputShape(arch_.architecture, s);
  if (pixels_.empty() || pixels_.shape() != in_shape) {
    PROBITY_ASSIGN_OR_RETURN(pixels_, backend_.Allocate(DType::kU8, in_shape));
    PROBITY_ASSIGN_OR_RETURN(labels_, backend_.Allocate(DType::kI32, {s}));
  }
  Tensor px = images;
  PROBITY_RETURN_IF_ERROR(px.Reshape(in_shape));
  PROBITY_RETURN_IF_ERROR(backend_.Upload(&pixels_, px));
  PROBITY_RETURN_IF_ERROR(net_->Forward(pixels_));
  PROBITY_RETURN_IF_ERROR(backend_.Argmax(&labels_, net_->logits()));
  Hash256 hashes[2];
  const DeviceTensor* both[2] = {&labels_, &net_->logits()};
  PROBITY_RETURN_IF_ERROR(backend_.HashTensors(hashes, both));
  if (labels) {
    PROBITY_ASSIGN_OR_RETURN(*labels, backend_.Download(labels_));
  }
  if (logits) {
    PROBITY_ASSIGN_OR_RETURN(*logits, backend_.Download(net_->logits()));
  }
  return InferOutputHash(input, index, hashes[0], hashes[1]);
}

}  // namespace probity::workloads::internal
