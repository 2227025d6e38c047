#include "probity/workloads/model.h"

#include <algorithm>

#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"
#include "probity/workloads/dataset.h"

namespace probity::workloads {

std::vector<std::pair<std::string, Shape>> ClassifierArch::ParameterShapes() const {
  std::vector<std::pair<std::string, Shape>> v;
  int64_t in = int64_t{kImageRows} * kImageCols;
  if (architecture == Architecture::kCnn) {
    const int64_t c0 = conv_channels.at(0), c1 = conv_channels.at(1);
    v.push_back({"conv0.bias", {c0}});
    v.push_back({"conv0.weight", {c0, 1, 5, 5}});
    v.push_back({"conv1.bias", {c1}});
    v.push_back({"conv1.weight", {c1, c0, 5, 5}});
    in = c1 * (kImageRows / 4) * (kImageCols / 4);
  }
  for (size_t i = 0; i <= hidden.size(); ++i) {
    const int64_t out = i < hidden.size() ? int64_t{hidden[i]} : int64_t{kNumClasses};
    v.push_back({"fc" + std::to_string(i) + ".bias", {out}});
    v.push_back({"fc" + std::to_string(i) + ".weight", {out, in}});
    in = out;
  }
  std::sort(v.begin(), v.end());
  return v;
}

uint64_t ClassifierArch::ForwardCost() const {
  uint64_t macs = 0;
  for (const auto& [name, shape] : ParameterShapes()) {
    if (name.ends_with(".bias")) continue;
    uint64_t n = 1;
    for (int64_t d : shape) n *= static_cast<uint64_t>(d);
    // A conv weight is applied at every output position (28·28 for conv0, 14·14 for conv1),
    // and a convolution multiply-add costs 2 units (job_spec.h).
    if (name == "conv0.weight") n *= 2 * uint64_t{kImageRows} * kImageCols;
    if (name == "conv1.weight") n *= 2 * uint64_t{kImageRows / 2} * (kImageCols / 2);
    macs += n;
  }
  return macs;
}

uint32_t MaxInferSliceSize(const ClassifierArch& arch) {
  uint64_t model_bytes = 0;
  for (const auto& [name, shape] : arch.ParameterShapes()) {
    uint64_t n = 4;
    for (int64_t d : shape) n *= static_cast<uint64_t>(d);
    model_bytes += n;
  }
  if (model_bytes >= kMaxStateBytes) return 0;
  const uint64_t by_bytes = (kMaxStateBytes - model_bytes) / (uint64_t{kImageRows} * kImageCols);
  const uint64_t by_cost = kMaxSegmentCost / std::max<uint64_t>(1, arch.ForwardCost());
  return static_cast<uint32_t>(std::min({by_bytes, by_cost, uint64_t{kMaxInferImages}}));
}

Result<ClassifierArch> ArchitectureOf(const TensorMap& model) {
  auto bad = [](const std::string& what) {
    return Status::InvalidArgument("not a classifier model: " + what);
  };
  ClassifierArch arch;
  arch.architecture = model.count("conv0.weight") ? Architecture::kCnn : Architecture::kMlp;
  auto shape_of = [&](const std::string& name) -> const Shape* {
    auto it = model.find(name);
    return it == model.end() ? nullptr : &it->second.shape();
  };
  if (arch.architecture == Architecture::kCnn) {
    const Shape* w0 = shape_of("conv0.weight");
    const Shape* w1 = shape_of("conv1.weight");
    if (!w1) return bad("conv0.weight without conv1.weight");
    if (w0->size() != 4 || w1->size() != 4) return bad("conv weights must have rank 4");
    arch.conv_channels = {static_cast<uint32_t>(std::clamp<int64_t>((*w0)[0], 0, UINT32_MAX)),
                          static_cast<uint32_t>(std::clamp<int64_t>((*w1)[0], 0, UINT32_MAX))};
    for (uint32_t c : arch.conv_channels) {
      if (c < 1 || c > kMaxConvChannels) return bad("conv channels out of range");
    }
  }
  // Count the dense layers: fc0.weight, fc1.weight, ... until one is missing.
  size_t layers = 0;
  while (shape_of("fc" + std::to_string(layers) + ".weight")) ++layers;
  if (layers == 0) return bad("no fc0.weight");
  const size_t max_hidden = arch.architecture == Architecture::kCnn ? 2 : kMaxHiddenLayers;
  if (layers - 1 > max_hidden) return bad(std::to_string(layers) + " dense layers is too many");
  for (size_t i = 0; i + 1 < layers; ++i) {
    const Shape* w = shape_of("fc" + std::to_string(i) + ".weight");
    if (w->size() != 2 || (*w)[0] < 1 || (*w)[0] > kMaxLayerWidth) {
      return bad("fc" + std::to_string(i) + ".weight has shape " + ShapeString(*w));
    }
    arch.hidden.push_back(static_cast<uint32_t>((*w)[0]));
  }
  // Now every expected tensor must be there with its exact shape, f32, and nothing else.
  const auto expected = arch.ParameterShapes();
  for (const auto& [name, shape] : expected) {
    auto it = model.find(name);
    if (it == model.end()) return bad("missing tensor " + name);
    if (it->second.dtype() != DType::kF32) {
      return bad(name + " has dtype " + std::string(DTypeName(it->second.dtype())) +
                 ", expected f32");
    }
    if (it->second.shape() != shape) {
      return bad(name + " has shape " + ShapeString(it->second.shape()) + ", expected " +
                 ShapeString(shape));
    }
  }
  if (model.size() != expected.size()) {
    for (const auto& entry : model) {
      // A named variable, not a structured binding: Clang 14 cannot capture those.
      const std::string& name = entry.first;
      bool known = std::any_of(expected.begin(), expected.end(),
                               [&](const auto& e) { return e.first == name; });
      if (!known) return bad("unexpected tensor " + name);
    }
  }
  return arch;
}

Hash256 ModelIdFromHashes(std::span<const std::pair<std::string, Hash256>> named_hashes) {
  Sha256Hasher h = TaggedHasher("probity/model");
  uint8_t n[4];
  PutU32LE(n, static_cast<uint32_t>(named_hashes.size()));
  h.Update(ByteView(n, 4));
  for (const auto& [name, hash] : named_hashes) {
    PutU32LE(n, static_cast<uint32_t>(name.size()));
    h.Update(ByteView(n, 4));
    h.Update(name);
    h.Update(ByteView(hash));
  }
  return h.Final();
}

Hash256 ModelId(const TensorMap& model) {
  std::vector<std::pair<std::string, Hash256>> v;
  v.reserve(model.size());
  for (const auto& [name, t] : model) v.emplace_back(name, TensorHash(t));
  return ModelIdFromHashes(v);
}

Result<TensorMap> LoadModel(const std::string& path, const Hash256* expected_id) {
  PROBITY_ASSIGN_OR_RETURN(TensorMap model, ReadSafetensorsFile(path));
  auto arch = ArchitectureOf(model);
  if (!arch.ok()) return arch.status().WithContext(path);
  if (expected_id) {
    const Hash256 id = ModelId(model);
    if (id != *expected_id) {
      return Status::FailedPrecondition(path + ": model id " + ToHex(id) + " is not the expected " +
                                        ToHex(*expected_id));
    }
  }
  return model;
}

}  // namespace probity::workloads
