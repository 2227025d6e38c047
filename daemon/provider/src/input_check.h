// The checks an uploaded input passes before the provider keeps it (provider.proto BlobRole),
// against the chain's Job record and the inputs already accepted:
//   spec    DecodeJobSpec; JobInputHash equals the order's input hash; its kind is the
//           order's; train: JobUnits(spec) <= the order's units and the data set is one this
//           provider holds.
//   model   (infer) a valid classifier in safetensors whose ModelId is spec.infer.model, and
//           JobUnits(spec, model) <= the order's units.
//   images  (infer) a u8 [count, 28, 28] tensor in the canonical encoding (tensor.h) with
//           spec.infer.count images and ImagesRoot(images, slice_size) = spec.infer.images.
// Each failure is kInvalidArgument (kNotFound for a data set this provider lacks) stating
// which check failed; nothing is kept.
//
// Thread-safety: thread-safe (the catalog is).
#pragma once

#include "probity/jobs/v1/jobs.pb.h"
#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/workloads/dataset.h"
#include "probity/workloads/job_spec.h"
#include "probity/workloads/safetensors.h"
#include "probity/workloads/tensor.h"

namespace probity::provider {

Result<workloads::JobSpec> CheckSpecInput(ByteView bytes, const jobs::v1::Job& job,
                                          workloads::DataCatalog& catalog);
Result<workloads::TensorMap> CheckModelInput(ByteView bytes, const workloads::JobSpec& spec,
                                             const jobs::v1::Job& job);
Result<workloads::Tensor> CheckImagesInput(ByteView bytes, const workloads::JobSpec& spec);

// The roles an infer job needs beyond its spec (none for training).
bool NeedsModelAndImages(const workloads::JobSpec& spec);

}  // namespace probity::provider
