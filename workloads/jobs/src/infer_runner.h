// Runs the segments of an infer-classifier job: one slice of images through the model, the
// labels (argmax) and logits, and the segment's output hash. Shared by RunJob, Reexecute and
// TestAccuracy. Internal to probity_workloads; used by one thread at a time.
#pragma once

#include <memory>

#include "classifier_net.h"
#include "probity/workloads/model.h"

namespace probity::workloads::internal {

// kOutOfRange when a slice of `slice_len` images through `arch` would exceed the segment bound
// (kMaxSegmentCost), or the model and slice would not fit in an opening.
Status CheckInferBounds(const ClassifierArch& arch, uint64_t slice_len);

class InferRunner {
 public:
  // The model must be a classifier (ArchitectureOf; checked).
  static Result<std::unique_ptr<InferRunner>> Create(Backend& backend, const TensorMap& model);

  // Classifies `images` (u8 [s, 28, 28]); fills labels [s] i32 and logits [s, 10] f32 on the
  // host when the pointers are given, and returns InferOutputHash(input, index, ...), the
  // label and logit hashes taken on the backend.
  Result<Hash256> RunSlice(uint64_t index, const Hash256& input, const Tensor& images,
                           Tensor* labels, Tensor* logits);

  const ClassifierArch& arch() const { return arch_; }

 private:
  InferRunner(Backend& backend, ClassifierArch arch) : backend_(backend), arch_(std::move(arch)) {}
  Backend& backend_;
  ClassifierArch arch_;
  std::unique_ptr<ClassifierNet> net_;
  DeviceTensor pixels_, labels_;
};

}  // namespace probity::workloads::internal
