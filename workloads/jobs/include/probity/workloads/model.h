// Classifier models: the tensors of an MLP or CNN (job_spec.h describes the architectures), how
// the architecture is read back from the tensors alone, and the model id.
//
// Tensor names and shapes (f32), with c0, c1 the conv channels and h_i the hidden widths:
//   cnn only:  conv0.weight [c0, 1, 5, 5]  conv0.bias [c0]
//              conv1.weight [c1, c0, 5, 5] conv1.bias [c1]
//   both:      fc{i}.weight [out_i, in_i]  fc{i}.bias [out_i]   for i = 0 .. len(hidden)
// with in_0 = 784 (mlp) or c1·7·7 (cnn), in_{i+1} = out_i = h_i, and the last out = 10.
// A set of tensors is a model exactly when it is one of these layouts with nothing extra.
//
// Model id (the identity orders, traces and buyers use):
//   model id = tagged_hash("probity/model", u32 n || for each tensor in bytewise name order:
//                          u32 len(name) || name || TensorHash(tensor))
// TensorHash is the SHA-256 of the canonical tensor encoding (tensor.h), so the id binds
// names, dtypes, shapes and every bit of every weight, and can be computed from per-tensor
// hashes taken on the device.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/workloads/job_spec.h"
#include "probity/workloads/safetensors.h"

namespace probity::workloads {

struct ClassifierArch {
  Architecture architecture = Architecture::kMlp;
  std::vector<uint32_t> hidden;
  std::vector<uint32_t> conv_channels;  // cnn: 2 entries

  static ClassifierArch Of(const TrainSpec& spec) {
    return {spec.architecture, spec.hidden, spec.conv_channels};
  }
  // Parameter tensors (name, shape) in bytewise name order.
  std::vector<std::pair<std::string, Shape>> ParameterShapes() const;
  // Cost of the forward pass of one image (job_spec.h's units).
  uint64_t ForwardCost() const;
  friend bool operator==(const ClassifierArch&, const ClassifierArch&) = default;
};

// The largest infer-classifier slice for a model of this architecture: within
// kMaxSegmentCost, and with the model fitting in an opening beside the images (0 when even
// one image does not fit).
uint32_t MaxInferSliceSize(const ClassifierArch& arch);

// The architecture the tensors form; kInvalidArgument naming the first missing, extra or
// misshapen tensor otherwise.
Result<ClassifierArch> ArchitectureOf(const TensorMap& model);

Hash256 ModelId(const TensorMap& model);
// The same id from (name, TensorHash) pairs. REQUIRES: names in bytewise order, distinct.
Hash256 ModelIdFromHashes(std::span<const std::pair<std::string, Hash256>> named_hashes);

// Reads a safetensors model and checks that it is a classifier; when `expected_id` is given,
// a file whose id differs is kFailedPrecondition naming both ids.
Result<TensorMap> LoadModel(const std::string& path, const Hash256* expected_id = nullptr);

}  // namespace probity::workloads
