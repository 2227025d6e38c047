// A classifier (model.h's MLP or CNN) resident on a backend: its parameters, optimiser slots,
// and the buffers of one batch; the forward pass, the backward pass and the update, written
// only with Backend ops so that every backend computes the same bits.
//
// Internal to probity_workloads. Used by one thread at a time.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "probity/workloads/backend.h"
#include "probity/workloads/job_spec.h"
#include "probity/workloads/model.h"

namespace probity::workloads::internal {

// Shape of one batch of input pixels (u8) for an architecture: [B, 784] for an mlp,
// [B, 1, 28, 28] for a cnn.
Shape InputShape(Architecture arch, int64_t batch);

// The names and shapes of a training state: parameters and their optimiser slots (which share
// their parameter's shape), in bytewise name order.
std::vector<std::pair<std::string, Shape>> StateShapes(const ClassifierArch& arch,
                                                       OptimizerKind optimizer);

class ClassifierNet {
 public:
  // `optimizer` empty: inference only (no gradients, no slots).
  static Result<std::unique_ptr<ClassifierNet>> Create(Backend& backend, const ClassifierArch& arch,
                                                       std::optional<OptimizerKind> optimizer);

  // Uploads parameters (and, for training, slots: missing slots start at zero when
  // `zero_slots`). REQUIRES: names and shapes as StateShapes (checked: kInvalidArgument).
  Status LoadState(const TensorMap& state, bool zero_slots);

  // Forward pass on a batch of pixels (InputShape, u8); the logits are then in logits().
  Status Forward(const DeviceTensor& pixels);
  const DeviceTensor& logits() const { return dense_.back().z; }

  // One training step: forward, mean cross-entropy against labels [B] i32, backward, update.
  // `step` is the 1-based number of this update (Adam's bias correction).
  Status TrainStep(const DeviceTensor& pixels, const DeviceTensor& labels, const TrainSpec& hp,
                   uint64_t step);

  // The state tensors in bytewise name order (parameters and slots).
  std::vector<std::pair<std::string, const DeviceTensor*>> StateTensors() const;
  // Parameters only, in bytewise name order.
  std::vector<std::pair<std::string, const DeviceTensor*>> ParameterTensors() const;
  // TensorHash of each, computed on the backend (on cuda, on the GPU).
  Result<std::vector<std::pair<std::string, Hash256>>> HashTensors(
      const std::vector<std::pair<std::string, const DeviceTensor*>>& tensors);
  Result<TensorMap> Download(const std::vector<std::pair<std::string, const DeviceTensor*>>& t);

 private:
  ClassifierNet(Backend& backend, ClassifierArch arch, std::optional<OptimizerKind> optimizer)
      : backend_(backend), arch_(std::move(arch)), optimizer_(optimizer) {}
  Status EnsureBatch(int64_t batch);

  struct Dense {
    std::string name;  // "fc0"
    int64_t in = 0, out = 0;
    DeviceTensor z, a, gz, gx;  // pre-activation, ReLU output, their gradients, input gradient
  };
  struct Conv {
    DeviceTensor x;              // f32 input pixels [B, 1, 28, 28]
    DeviceTensor y0, r0, p0;     // conv0 out, ReLU, pool  [B, c0, 28, 28] / [B, c0, 14, 14]
    DeviceTensor y1, r1, p1;     // conv1 out, ReLU, pool  [B, c1, 14, 14] / [B, c1, 7, 7]
    DeviceTensor dr0, dp0, dr1;  // gradients
  };

  Backend& backend_;
  ClassifierArch arch_;
  std::optional<OptimizerKind> optimizer_;
  int64_t batch_ = 0;
  std::map<std::string, DeviceTensor> params_, grads_, slots_;  // slots by state name
  std::vector<Dense> dense_;
  Conv conv_;
  DeviceTensor x_;     // mlp: f32 input [B, 784]
  DeviceTensor loss_;  // f32 scalar
};

}  // namespace probity::workloads::internal
