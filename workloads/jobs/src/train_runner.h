// Runs the segments of a train-classifier job on a backend: the batches of each step (the
// epoch permutations of random.h), the training steps, and the hash at a segment's end.
// Shared by RunJob (the provider), JobRun::Open (replay from a checkpoint) and Reexecute (the
// checker), so that the three cannot drift apart.
//
// Internal to probity_workloads. Used by one thread at a time.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "classifier_net.h"
#include "probity/workloads/dataset.h"
#include "probity/workloads/job_spec.h"
#include "state_hash.h"

namespace probity::workloads::internal {

// kInvalidArgument unless `data` can feed `spec` (28×28 images, at least `examples` of them).
Status CheckTrainingData(const TrainSpec& spec, const Dataset& data);

class TrainRunner {
 public:
  enum class DataPlacement {
    kResident,  // the examples live on the backend; each batch is a GatherRows (whole jobs)
    kPerBatch,  // each batch is gathered on the host and uploaded (one segment)
  };

  // REQUIRES: ValidateJobSpec(spec) OK; CheckTrainingData(spec, *data) OK (both checked).
  static Result<std::unique_ptr<TrainRunner>> Create(const TrainSpec& spec,
                                                     const Hash256& job_input_hash,
                                                     Backend& backend,
                                                     std::shared_ptr<const Dataset> data,
                                                     DataPlacement placement);

  // The state before step 0: InitialParameters(seed) and zero optimiser slots.
  Status LoadInitialState();
  // A state as an opening carries it (names and shapes as StateShapes; checked).
  Status LoadState(const TensorMap& state);

  // Runs the steps of `segment`. REQUIRES: the loaded state is the one at its start.
  Status RunSegment(uint64_t segment);
  // The hash at the end of `segment` (just run): TrainStateHash, or the model id after the
  // last segment. Computed on the backend.
  Result<Hash256> SegmentOutputHash(uint64_t segment);

  // RunOptions::corrupt_segment's perturbation of the loaded state (TEST ONLY).
  Status FlipParameterBit();

  Result<TensorMap> DownloadState();
  Result<TensorMap> DownloadModel();

 private:
  TrainRunner(const TrainSpec& spec, const Hash256& j, Backend& backend,
              std::shared_ptr<const Dataset> data, DataPlacement placement)
      : spec_(spec),
        job_input_hash_(j),
        backend_(backend),
        data_(std::move(data)),
        placement_(placement) {}
  Status LoadBatch(uint64_t step);
  const std::vector<uint32_t>& Permutation(uint32_t epoch);

  TrainSpec spec_;
  Hash256 job_input_hash_;
  Backend& backend_;
  std::shared_ptr<const Dataset> data_;
  DataPlacement placement_;
  std::unique_ptr<ClassifierNet> net_;
  std::unique_ptr<DeviceStateHasher> state_hasher_;
  DeviceTensor pixels_, labels_;                            // the current batch
  DeviceTensor resident_pixels_, resident_labels_;          // kResident
  std::map<uint32_t, std::vector<uint32_t>> permutations_;  // by epoch, at most two kept
};

}  // namespace probity::workloads::internal
