#include "classifier_net.h"

#include <algorithm>

#include "probity/workloads/dataset.h"

namespace probity::workloads::internal {
namespace {

// Pixels enter the network standardised with Fashion-MNIST's mean 0.2860 and standard
// deviation 0.3530: x = fma(p, kPixelScale, kPixelOffset), one rounding, on every backend.
// The constants are the f32 nearest to 1 / (255 · 0.3530) and -0.2860 / 0.3530.
constexpr float kPixelScale = 0x1.6c073ap-7f;
constexpr float kPixelOffset = -0x1.9ed25p-1f;
const Conv2dParams kConv{.stride = 1, .padding = 2};

std::vector<std::string> SlotPrefixes(OptimizerKind opt) {
  if (opt == OptimizerKind::kSgdMomentum) return {"velocity/"};
  return {"adam_m/", "adam_v/"};
}

}  // namespace

Shape InputShape(Architecture arch, int64_t batch) {
  if (arch == Architecture::kCnn) return {batch, 1, kImageRows, kImageCols};
  return {batch, int64_t{kImageRows} * kImageCols};
}

std::vector<std::pair<std::string, Shape>> StateShapes(const ClassifierArch& arch,
                                                       OptimizerKind optimizer) {
  auto params = arch.ParameterShapes();
  std::vector<std::pair<std::string, Shape>> out = params;
  for (const std::string& prefix : SlotPrefixes(optimizer)) {
    for (const auto& [name, shape] : params) out.push_back({prefix + name, shape});
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::unique_ptr<ClassifierNet>> ClassifierNet::Create(
    Backend& backend, const ClassifierArch& arch, std::optional<OptimizerKind> optimizer) {
  std::unique_ptr<ClassifierNet> net(new ClassifierNet(backend, arch, optimizer));
  for (const auto& [name, shape] : arch.ParameterShapes()) {
    PROBITY_ASSIGN_OR_RETURN(net->params_[name], backend.Allocate(DType::kF32, shape));
    if (optimizer) {
      PROBITY_ASSIGN_OR_RETURN(net->grads_[name], backend.Allocate(DType::kF32, shape));
      for (const std::string& prefix : SlotPrefixes(*optimizer)) {
        PROBITY_ASSIGN_OR_RETURN(net->slots_[prefix + name], backend.Allocate(DType::kF32, shape));
      }
    }
  }
  int64_t in = arch.architecture == Architecture::kCnn
                   ? int64_t{arch.conv_channels.at(1)} * (kImageRows / 4) * (kImageCols / 4)
                   : int64_t{kImageRows} * kImageCols;
  for (size_t i = 0; i <= arch.hidden.size(); ++i) {
    Dense d;
    d.name = "fc" + std::to_string(i);
    d.in = in;
    d.out = i < arch.hidden.size() ? int64_t{arch.hidden[i]} : int64_t{kNumClasses};
    in = d.out;
    net->dense_.push_back(std::move(d));
  }
  PROBITY_ASSIGN_OR_RETURN(net->loss_, backend.Allocate(DType::kF32, {}));
  return net;
}

Status ClassifierNet::EnsureBatch(int64_t b) {
  if (b == batch_) return Status::OK();
  Backend& be = backend_;
  const bool train = optimizer_.has_value();
  for (size_t i = 0; i < dense_.size(); ++i) {
    Dense& d = dense_[i];
    PROBITY_ASSIGN_OR_RETURN(d.z, be.Allocate(DType::kF32, {b, d.out}));
    if (i + 1 < dense_.size()) {
      PROBITY_ASSIGN_OR_RETURN(d.a, be.Allocate(DType::kF32, {b, d.out}));
    }
    if (train) {
      PROBITY_ASSIGN_OR_RETURN(d.gz, be.Allocate(DType::kF32, {b, d.out}));
      if (i > 0 || arch_.architecture == Architecture::kCnn) {
        PROBITY_ASSIGN_OR_RETURN(d.gx, be.Allocate(DType::kF32, {b, d.in}));
      }
    }
  }
  if (arch_.architecture == Architecture::kCnn) {
    const int64_t c0 = arch_.conv_channels[0], c1 = arch_.conv_channels[1];
    const int64_t h = kImageRows, w = kImageCols;
    Conv& c = conv_;
    PROBITY_ASSIGN_OR_RETURN(c.x, be.Allocate(DType::kF32, {b, 1, h, w}));
    PROBITY_ASSIGN_OR_RETURN(c.y0, be.Allocate(DType::kF32, {b, c0, h, w}));
    PROBITY_ASSIGN_OR_RETURN(c.r0, be.Allocate(DType::kF32, {b, c0, h, w}));
    PROBITY_ASSIGN_OR_RETURN(c.p0, be.Allocate(DType::kF32, {b, c0, h / 2, w / 2}));
    PROBITY_ASSIGN_OR_RETURN(c.y1, be.Allocate(DType::kF32, {b, c1, h / 2, w / 2}));
    PROBITY_ASSIGN_OR_RETURN(c.r1, be.Allocate(DType::kF32, {b, c1, h / 2, w / 2}));
    PROBITY_ASSIGN_OR_RETURN(c.p1, be.Allocate(DType::kF32, {b, c1, h / 4, w / 4}));
    if (train) {
      PROBITY_ASSIGN_OR_RETURN(c.dr0, be.Allocate(DType::kF32, {b, c0, h, w}));
      PROBITY_ASSIGN_OR_RETURN(c.dp0, be.Allocate(DType::kF32, {b, c0, h / 2, w / 2}));
      PROBITY_ASSIGN_OR_RETURN(c.dr1, be.Allocate(DType::kF32, {b, c1, h / 2, w / 2}));
    }
  } else {
    PROBITY_ASSIGN_OR_RETURN(x_, be.Allocate(DType::kF32, InputShape(Architecture::kMlp, b)));
  }
  batch_ = b;
  return Status::OK();
}

Status ClassifierNet::LoadState(const TensorMap& state, bool zero_slots) {
  const auto shapes = optimizer_ ? StateShapes(arch_, *optimizer_) : arch_.ParameterShapes();
  for (const auto& [name, shape] : shapes) {
    const bool is_slot = slots_.count(name) > 0;
    auto it = state.find(name);
    if (it == state.end()) {
      if (is_slot && zero_slots) {
        PROBITY_RETURN_IF_ERROR(backend_.SetZero(&slots_.at(name)));
        continue;
      }
      return Status::InvalidArgument("state lacks tensor " + name);
    }
    if (it->second.dtype() != DType::kF32 || it->second.shape() != shape) {
      return Status::InvalidArgument(
          "state tensor " + name + " is " + std::string(DTypeName(it->second.dtype())) +
          ShapeString(it->second.shape()) + ", expected f32" + ShapeString(shape));
    }
    DeviceTensor& dst = is_slot ? slots_.at(name) : params_.at(name);
    PROBITY_RETURN_IF_ERROR(backend_.Upload(&dst, it->second));
  }
  for (const auto& entry : state) {
    // A named variable, not a structured binding: Clang 14 cannot capture those.
    const std::string& name = entry.first;
    bool known =
        std::any_of(shapes.begin(), shapes.end(), [&](const auto& s) { return s.first == name; });
    if (!known) return Status::InvalidArgument("unexpected state tensor " + name);
  }
  return Status::OK();
}

Status ClassifierNet::Forward(const DeviceTensor& pixels) {
  const bool cnn = arch_.architecture == Architecture::kCnn;
  if (pixels.dtype() != DType::kU8 || pixels.shape().empty() ||
      pixels.shape() != InputShape(arch_.architecture, pixels.shape()[0])) {
    return Status::InvalidArgument("classifier input must be u8 " +
                                   ShapeString(InputShape(arch_.architecture, 0)) +
                                   " with any batch, got " + ShapeString(pixels.shape()));
  }
  PROBITY_RETURN_IF_ERROR(EnsureBatch(pixels.shape()[0]));
  Backend& be = backend_;
  const DeviceTensor* in = &x_;
  if (cnn) {
    Conv& c = conv_;
    PROBITY_RETURN_IF_ERROR(be.U8ToF32(&c.x, pixels, kPixelScale, kPixelOffset));
    PROBITY_RETURN_IF_ERROR(
        be.Conv2d(&c.y0, c.x, params_.at("conv0.weight"), &params_.at("conv0.bias"), kConv));
    PROBITY_RETURN_IF_ERROR(be.Relu(&c.r0, c.y0));
    PROBITY_RETURN_IF_ERROR(be.MaxPool2x2(&c.p0, c.r0));
    PROBITY_RETURN_IF_ERROR(
        be.Conv2d(&c.y1, c.p0, params_.at("conv1.weight"), &params_.at("conv1.bias"), kConv));
    PROBITY_RETURN_IF_ERROR(be.Relu(&c.r1, c.y1));
    if (c.p1.shape().size() != 4) {
      PROBITY_RETURN_IF_ERROR(
          c.p1.Reshape({batch_, arch_.conv_channels[1], kImageRows / 4, kImageCols / 4}));
    }
    PROBITY_RETURN_IF_ERROR(be.MaxPool2x2(&c.p1, c.r1));
    PROBITY_RETURN_IF_ERROR(c.p1.Reshape({batch_, dense_[0].in}));
    in = &c.p1;
  } else {
    PROBITY_RETURN_IF_ERROR(be.U8ToF32(&x_, pixels, kPixelScale, kPixelOffset));
  }
  for (size_t i = 0; i < dense_.size(); ++i) {
    Dense& d = dense_[i];
    PROBITY_RETURN_IF_ERROR(be.GemmF32(&d.z, *in, params_.at(d.name + ".weight"),
                                       GemmOptions{.transpose_b = true},
                                       &params_.at(d.name + ".bias")));
    if (i + 1 < dense_.size()) {
      PROBITY_RETURN_IF_ERROR(be.Relu(&d.a, d.z));
      in = &d.a;
    }
  }
  return Status::OK();
}

Status ClassifierNet::TrainStep(const DeviceTensor& pixels, const DeviceTensor& labels,
                                const TrainSpec& hp, uint64_t step) {
  if (!optimizer_) return Status::FailedPrecondition("an inference network cannot train");
  PROBITY_RETURN_IF_ERROR(Forward(pixels));
  Backend& be = backend_;
  const bool cnn = arch_.architecture == Architecture::kCnn;
  const size_t n = dense_.size();
  PROBITY_RETURN_IF_ERROR(be.CrossEntropy(&loss_, &dense_[n - 1].gz, dense_[n - 1].z, labels));
  for (size_t i = n; i-- > 0;) {
    Dense& d = dense_[i];
    const DeviceTensor& in = i > 0 ? dense_[i - 1].a : (cnn ? conv_.p1 : x_);
    PROBITY_RETURN_IF_ERROR(
        be.GemmF32(&grads_.at(d.name + ".weight"), d.gz, in, GemmOptions{.transpose_a = true}));
    PROBITY_RETURN_IF_ERROR(be.ColumnSums(&grads_.at(d.name + ".bias"), d.gz));
    if (i > 0 || cnn) {
      PROBITY_RETURN_IF_ERROR(be.GemmF32(&d.gx, d.gz, params_.at(d.name + ".weight")));
    }
    if (i > 0) {
      PROBITY_RETURN_IF_ERROR(be.ReluBackward(&dense_[i - 1].gz, d.gx, dense_[i - 1].z));
    }
  }
  if (cnn) {
    Conv& c = conv_;
    const Shape pooled = {batch_, arch_.conv_channels[1], kImageRows / 4, kImageCols / 4};
    DeviceTensor& dp1 = dense_[0].gx;
    PROBITY_RETURN_IF_ERROR(dp1.Reshape(pooled));
    PROBITY_RETURN_IF_ERROR(be.MaxPool2x2Backward(&c.dr1, dp1, c.r1));
    PROBITY_RETURN_IF_ERROR(dp1.Reshape({batch_, dense_[0].in}));
    PROBITY_RETURN_IF_ERROR(be.ReluBackward(&c.dr1, c.dr1, c.y1));
    PROBITY_RETURN_IF_ERROR(be.Conv2dBackward(&c.dp0, &grads_.at("conv1.weight"),
                                              &grads_.at("conv1.bias"), c.dr1, c.p0,
                                              params_.at("conv1.weight"), kConv));
    PROBITY_RETURN_IF_ERROR(be.MaxPool2x2Backward(&c.dr0, c.dp0, c.r0));
    PROBITY_RETURN_IF_ERROR(be.ReluBackward(&c.dr0, c.dr0, c.y0));
    PROBITY_RETURN_IF_ERROR(be.Conv2dBackward(nullptr, &grads_.at("conv0.weight"),
                                              &grads_.at("conv0.bias"), c.dr0, c.x,
                                              params_.at("conv0.weight"), kConv));
  }
  const float lr = LearningRate(hp, (step - 1) / hp.steps_per_epoch());
  for (auto& [name, w] : params_) {
    const DeviceTensor& g = grads_.at(name);
    if (*optimizer_ == OptimizerKind::kSgdMomentum) {
      PROBITY_RETURN_IF_ERROR(
          be.SgdMomentumUpdate(&w, &slots_.at("velocity/" + name), g,
                               SgdParams{.learning_rate = lr, .momentum = hp.momentum}));
    } else {
      PROBITY_RETURN_IF_ERROR(be.AdamUpdate(&w, &slots_.at("adam_m/" + name),
                                            &slots_.at("adam_v/" + name), g,
                                            AdamParams{.learning_rate = lr,
                                                       .beta1 = hp.beta1,
                                                       .beta2 = hp.beta2,
                                                       .epsilon = hp.epsilon,
                                                       .step = step}));
    }
  }
  return Status::OK();
}

std::vector<std::pair<std::string, const DeviceTensor*>> ClassifierNet::ParameterTensors() const {
  std::vector<std::pair<std::string, const DeviceTensor*>> v;
  for (const auto& [name, t] : params_) v.emplace_back(name, &t);
  return v;
}

std::vector<std::pair<std::string, const DeviceTensor*>> ClassifierNet::StateTensors() const {
  auto v = ParameterTensors();
  for (const auto& [name, t] : slots_) v.emplace_back(name, &t);
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return v;
}

Result<std::vector<std::pair<std::string, Hash256>>> ClassifierNet::HashTensors(
    const std::vector<std::pair<std::string, const DeviceTensor*>>& tensors) {
  std::vector<Hash256> hashes(tensors.size());
  std::vector<const DeviceTensor*> ptrs;
  for (const auto& [name, t] : tensors) ptrs.push_back(t);
  PROBITY_RETURN_IF_ERROR(backend_.HashTensors(hashes, ptrs));
  std::vector<std::pair<std::string, Hash256>> out;
  for (size_t i = 0; i < tensors.size(); ++i) out.emplace_back(tensors[i].first, hashes[i]);
  return out;
}

Result<TensorMap> ClassifierNet::Download(
    const std::vector<std::pair<std::string, const DeviceTensor*>>& tensors) {
  TensorMap out;
  for (const auto& [name, t] : tensors) {
    PROBITY_ASSIGN_OR_RETURN(out[name], backend_.Download(*t));
  }
  return out;
}

}  // namespace probity::workloads::internal
