// TEST ONLY: doctest front of the simulated providers (probity/verifier/sim/): small jobs and
// the traces honest and cheating providers commit to, failing the test on any error.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <vector>

#include "probity/verifier/sim/provider_trace.h"
#include "probity/verifier/sim/tiny_job.h"
#include "probity/workloads/workloads.h"

namespace probity::verifier::testing {

inline std::unique_ptr<workloads::Backend> Cpu() {
  auto b = workloads::CreateBackend("cpu", {.threads = 1});
  REQUIRE_MESSAGE(b.ok(), b.status().ToString());
  return std::move(b).value();
}

using TinyInferJob = sim::TinyInferJob;

// infer-classifier over `count` pseudo-random images, `slice` per segment, with a freshly
// initialised small MLP (images and weights both from `seed`).
inline TinyInferJob MakeTinyInferJob(uint32_t count, uint32_t slice, uint64_t seed,
                                     workloads::Backend& cpu) {
  auto j = sim::MakeTinyInferJob(
      {.count = count, .slice = slice, .image_seed = seed, .model_seed = seed}, cpu);
  REQUIRE_MESSAGE(j.ok(), j.status().ToString());
  return std::move(*j);
}

// The trace a provider commits to: honest except at `corrupt`, whose outputs are made up (and
// every later segment re-executed from the wrong input, so only re-executing a corrupted
// segment exposes it). Openings are built from `run`'s inputs, so it must stay alive.
class ProviderTrace : public sim::ProviderTrace {
 public:
  ProviderTrace(const workloads::JobRun& run, std::set<uint64_t> corrupt, workloads::Backend& cpu)
      : sim::ProviderTrace(Make(run, corrupt, cpu)) {}

  const std::set<uint64_t>& corrupt() const { return made_up(); }
  workloads::Opening Open(uint64_t i, workloads::Backend& /*cpu*/) const {
    auto o = sim::ProviderTrace::Open(i);
    REQUIRE_MESSAGE(o.ok(), o.status().ToString());
    return std::move(*o);
  }

 private:
  // The run's inputs, gathered from its own openings (O(n²) hashing: small test jobs only).
  static std::shared_ptr<const sim::InferJobInputs> InputsOf(const workloads::JobRun& run,
                                                             workloads::Backend& cpu) {
    const uint64_t n = run.commitment().segment_count;
    auto first = run.Open(0, cpu);
    REQUIRE_MESSAGE(first.ok(), first.status().ToString());
    const auto& spec = run.spec().infer;
    auto images =
        workloads::Tensor::Zeros(workloads::DType::kU8, {static_cast<int64_t>(spec.count), 28, 28});
    REQUIRE(images.ok());
    size_t at = 0;
    for (uint64_t i = 0; i < n; ++i) {
      auto o = run.Open(i, cpu);
      REQUIRE_MESSAGE(o.ok(), o.status().ToString());
      REQUIRE(o->slice.has_value());
      auto px = o->slice->bytes();
      std::copy(px.begin(), px.end(), images->mutable_bytes().begin() + at);
      at += px.size();
    }
    auto in = sim::InferJobInputs::Create(run.spec(), first->tensors, *images);
    REQUIRE_MESSAGE(in.ok(), in.status().ToString());
    return *in;
  }
  static sim::ProviderTrace Make(const workloads::JobRun& run, const std::set<uint64_t>& corrupt,
                                 workloads::Backend& cpu) {
    auto inputs = InputsOf(run, cpu);
    auto t = sim::ProviderTrace::Build(inputs, *inputs, run.records(), corrupt, 0, cpu);
    REQUIRE_MESSAGE(t.ok(), t.status().ToString());
    return std::move(*t);
  }
};

}  // namespace probity::verifier::testing
