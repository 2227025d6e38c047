// TEST ONLY: small jobs and the traces honest and cheating providers commit to, built with the
// real workloads code (RunJob, Open, Reexecute), for the referee's tests and the marketplace's
// simulation.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <vector>

#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"
#include "probity/workloads/random.h"
#include "probity/workloads/workloads.h"

namespace probity::verifier::testing {

inline std::unique_ptr<workloads::Backend> Cpu() {
  auto b = workloads::CreateBackend("cpu", {.threads = 1});
  REQUIRE_MESSAGE(b.ok(), b.status().ToString());
  return std::move(b).value();
}

// infer-classifier over `count` pseudo-random images, `slice` per segment, with a freshly
// initialised small MLP: a few microseconds per segment.
struct TinyInferJob {
  workloads::TensorMap model;
  workloads::Tensor images;
  workloads::JobSpec spec;
  std::unique_ptr<workloads::JobRun> run;
};

inline TinyInferJob MakeTinyInferJob(uint32_t count, uint32_t slice, uint64_t seed,
                                     workloads::Backend& cpu) {
  TinyInferJob j;
  j.model = workloads::InitialParameters(
      workloads::ClassifierArch{workloads::Architecture::kMlp, {8}, {}}, seed);
  j.images = *workloads::Tensor::Zeros(workloads::DType::kU8, {count, 28, 28});
  auto px = j.images.mutable_bytes();
  uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& b : px) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<uint8_t>(x);
  }
  j.spec.kind = workloads::JobKind::kInferClassifier;
  j.spec.infer.model = workloads::ModelId(j.model);
  j.spec.infer.images = *workloads::ImagesRoot(j.images, slice);
  j.spec.infer.count = count;
  j.spec.infer.slice_size = slice;
  auto run = workloads::RunJob(j.spec, {.model = &j.model, .images = &j.images}, cpu);
  REQUIRE_MESSAGE(run.ok(), run.status().ToString());
  j.run = std::move(run).value();
  return j;
}

// The trace a provider commits to: honest except at `corrupt`, where the output hash is made
// up; every later segment is then computed honestly from the wrong state (re-executed), so
// that every link of the trace holds and only re-executing a corrupted segment exposes it.
// Works for inference jobs (whose openings carry no state to replay).
class ProviderTrace {
 public:
  ProviderTrace(const workloads::JobRun& run, std::set<uint64_t> corrupt, workloads::Backend& cpu)
      : run_(&run), corrupt_(std::move(corrupt)) {
    records_.assign(run.records().begin(), run.records().end());
    bool diverged = false;
    for (uint64_t i = 0; i < records_.size(); ++i) {
      if (i > 0) records_[i].input_hash = records_[i - 1].output_hash;
      if (corrupt_.count(i)) {
        Bytes m(records_[i].input_hash.begin(), records_[i].input_hash.end());
        m.push_back(static_cast<uint8_t>(i));
        records_[i].output_hash = TaggedHash("probity/test-cheat", m);
        diverged = true;
      } else if (diverged) {
        workloads::Opening o = *run.Open(i, cpu);
        o.record = records_[i];
        auto out = workloads::Reexecute(o, cpu);
        REQUIRE_MESSAGE(out.ok(), out.status().ToString());
        records_[i].output_hash = *out;
      }
    }
    for (const auto& r : records_) {
      leaves_.push_back(MerkleLeafHash(workloads::EncodeTraceRecord(r)));
    }
    commitment_ = run.commitment();
    commitment_.trace_root = MerkleRootFromLeafHashes(leaves_);
    commitment_.output_hash = records_.back().output_hash;
  }

  const workloads::JobCommitment& commitment() const { return commitment_; }
  const std::vector<workloads::TraceRecord>& records() const { return records_; }
  const std::set<uint64_t>& corrupt() const { return corrupt_; }
  std::vector<Hash256> Proof(uint64_t i) const { return MerkleInclusionProof(leaves_, i).value(); }

  workloads::Opening Open(uint64_t i, workloads::Backend& cpu) const {
    auto o = run_->Open(i, cpu);
    REQUIRE_MESSAGE(o.ok(), o.status().ToString());
    o->record = records_[i];
    o->proof = Proof(i);
    if (i > 0) {
      o->producer = records_[i - 1];
      o->producer_proof = Proof(i - 1);
    }
    return std::move(*o);
  }

 private:
  const workloads::JobRun* run_;
  std::set<uint64_t> corrupt_;
  std::vector<workloads::TraceRecord> records_;
  std::vector<Hash256> leaves_;
  workloads::JobCommitment commitment_;
};

}  // namespace probity::verifier::testing
