// What a buyer pays for: a job's units of work, and its result as the file the provider hands
// over, checked against the output hash committed on chain.
//
// Units (the quantity an order buys; its price is per unit): one unit is 10^6 of job_spec.h's
// cost units (dense multiply-adds), rounded up, at least 1:
//   train-classifier: TrainStepCost(spec) × total_steps
//   infer-classifier: ForwardCost(architecture of the model) × count
// A provider refuses to run an order that buys fewer units than its spec needs.
//
// Result file (safetensors, safetensors.h):
//   train-classifier: the trained model; ModelId(model) must be the output hash.
//   infer-classifier: "labels" [count] i32 and "logits" [count, 10] f32; replaying the trace's
//     output chain (workloads.h) from the job input hash over the slices must give the output
//     hash, so every label and logit is the committed one.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/workloads/job_spec.h"
#include "probity/workloads/safetensors.h"
#include "probity/workloads/tensor.h"

namespace probity::workloads {

class JobRun;

inline constexpr uint64_t kCostPerUnit = 1'000'000;

// REQUIRES: ValidateJobSpec(spec).ok(). `model` is needed for infer-classifier
// (kInvalidArgument without it or when it is not a classifier).
Result<uint64_t> JobUnits(const JobSpec& spec, const TensorMap* model = nullptr);

// The result file of a finished run.
Result<Bytes> EncodeJobResult(const JobRun& run);

struct JobResult {
  TensorMap model;  // train
  Tensor labels;    // infer: [count] i32
  Tensor logits;    // infer: [count, 10] f32
};

// Decodes `file` and checks it against the committed `output_hash`. kCorruption naming the
// mismatch (or the malformed part); kInvalidArgument for a spec that is not valid.
Result<JobResult> VerifyJobResult(const JobSpec& spec, const Hash256& output_hash, ByteView file);

}  // namespace probity::workloads
