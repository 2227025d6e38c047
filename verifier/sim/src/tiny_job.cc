#include "probity/verifier/sim/tiny_job.h"

#include "probity/workloads/random.h"

namespace probity::verifier::sim {

Result<TinyInferJob> MakeTinyInferJob(const TinyInferShape& shape, workloads::Backend& backend) {
  TinyInferJob j;
  j.model = workloads::InitialParameters(
      workloads::ClassifierArch{workloads::Architecture::kMlp, {shape.hidden}, {}},
      shape.model_seed);
  PROBITY_ASSIGN_OR_RETURN(j.images,
                           workloads::Tensor::Zeros(workloads::DType::kU8, {shape.count, 28, 28}));
  uint64_t x = shape.image_seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& b : j.images.mutable_bytes()) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  j.spec.kind = workloads::JobKind::kInferClassifier;
  j.spec.infer.model = workloads::ModelId(j.model);
  PROBITY_ASSIGN_OR_RETURN(j.spec.infer.images, workloads::ImagesRoot(j.images, shape.slice));
  j.spec.infer.count = shape.count;
  j.spec.infer.slice_size = shape.slice;
  PROBITY_ASSIGN_OR_RETURN(
      j.run, workloads::RunJob(j.spec, {.model = &j.model, .images = &j.images}, backend));
  return j;
}

}  // namespace probity::verifier::sim
