#include "input_check.h"

#include "probity/primitives/hex.h"
#include "probity/workloads/job_result.h"
#include "probity/workloads/model.h"
#include "probity/workloads/workloads.h"

namespace probity::provider {

using namespace probity::workloads;

bool NeedsModelAndImages(const JobSpec& spec) { return spec.kind == JobKind::kInferClassifier; }

Result<JobSpec> CheckSpecInput(ByteView bytes, const jobs::v1::Job& job, DataCatalog& catalog) {
  auto spec = DecodeJobSpec(bytes);
  if (!spec.ok())
    return Status::InvalidArgument("the spec does not decode: " + spec.status().message());
  const Hash256 input_hash = JobInputHash(*spec);
  if (AsChars(input_hash) != job.input_hash()) {
    return Status::InvalidArgument("the spec hashes to job input " + ToHex(input_hash) +
                                   ", not this job's " + ToHex(AsBytes(job.input_hash())) +
                                   " (a spec for another job?)");
  }
  if (static_cast<int>(spec->kind) != static_cast<int>(job.kind())) {
    return Status::InvalidArgument("the spec is a " + std::string(JobKindName(spec->kind)) +
                                   " job; the order is of another kind");
  }
  if (spec->kind == JobKind::kTrainClassifier) {
    PROBITY_ASSIGN_OR_RETURN(uint64_t units, JobUnits(*spec));
    if (units > job.units()) {
      return Status::InvalidArgument("the spec needs " + std::to_string(units) +
                                     " units of work; the order buys " +
                                     std::to_string(job.units()));
    }
    auto data = catalog.Find(spec->train.dataset);
    if (!data.ok()) {
      return Status::NotFound("this provider does not hold the data set " +
                              ToHex(spec->train.dataset) + ": " + data.status().message());
    }
  }
  return std::move(spec).value();
}

Result<TensorMap> CheckModelInput(ByteView bytes, const JobSpec& spec, const jobs::v1::Job& job) {
  if (spec.kind != JobKind::kInferClassifier) {
    return Status::InvalidArgument("a train-classifier job takes no model");
  }
  auto model = DecodeSafetensors(bytes);
  if (!model.ok()) {
    return Status::InvalidArgument("the model is not valid safetensors: " +
                                   model.status().message());
  }
  auto arch = ArchitectureOf(*model);
  if (!arch.ok()) {
    return Status::InvalidArgument("the model is not a classifier: " + arch.status().message());
  }
  const Hash256 id = ModelId(*model);
  if (id != spec.infer.model) {
    return Status::InvalidArgument("the model's id is " + ToHex(id) + "; the spec orders " +
                                   ToHex(spec.infer.model));
  }
  PROBITY_ASSIGN_OR_RETURN(uint64_t units, JobUnits(spec, &*model));
  if (units > job.units()) {
    return Status::InvalidArgument("the job needs " + std::to_string(units) +
                                   " units of work with this model; the order buys " +
                                   std::to_string(job.units()));
  }
  return std::move(model).value();
}

Result<Tensor> CheckImagesInput(ByteView bytes, const JobSpec& spec) {
  if (spec.kind != JobKind::kInferClassifier) {
    return Status::InvalidArgument("a train-classifier job takes no images");
  }
  auto images = DecodeTensor(bytes);
  if (!images.ok()) {
    return Status::InvalidArgument("the images are not a canonical tensor: " +
                                   images.status().message());
  }
  const Shape want = {int64_t{spec.infer.count}, kImageRows, kImageCols};
  if (images->dtype() != DType::kU8 || images->shape() != want) {
    return Status::InvalidArgument("the images are " + std::string(DTypeName(images->dtype())) +
                                   ShapeString(images->shape()) + "; the spec orders u8" +
                                   ShapeString(want));
  }
  PROBITY_ASSIGN_OR_RETURN(Hash256 root, ImagesRoot(*images, spec.infer.slice_size));
  if (root != spec.infer.images) {
    return Status::InvalidArgument("the images' root is " + ToHex(root) + "; the spec orders " +
                                   ToHex(spec.infer.images));
  }
  return std::move(images).value();
}

}  // namespace probity::provider
