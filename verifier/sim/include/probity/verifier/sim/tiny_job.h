// Small inference jobs for simulations and tests: pseudo-random 28×28 images classified by a
// freshly initialised MLP with one small hidden layer, run with the real workloads code
// (RunJob). A segment takes a few microseconds on one core, so a simulation can push
// thousands of jobs of a thousand segments through the chain.
//
// Thread-safety: a TinyInferJob is a value; its run is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>

#include "probity/primitives/status.h"
#include "probity/workloads/workloads.h"

namespace probity::verifier::sim {

struct TinyInferShape {
  uint32_t count = 32;      // images
  uint32_t slice = 2;       // images per segment
  uint32_t hidden = 8;      // units of the hidden layer
  uint64_t image_seed = 1;  // the pixels (xorshift64 from this seed)
  uint64_t model_seed = 1;  // the weights (workloads::InitialParameters)
};

struct TinyInferJob {
  workloads::TensorMap model;
  workloads::Tensor images;  // [count, 28, 28] u8
  workloads::JobSpec spec;
  std::unique_ptr<workloads::JobRun> run;
};

// Builds the job and runs it on `backend`.
Result<TinyInferJob> MakeTinyInferJob(const TinyInferShape& shape, workloads::Backend& backend);

}  // namespace probity::verifier::sim
