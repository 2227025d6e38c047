// The hash of a training state (workloads.h: TrainStateHash), computed where the state lives.
//
// A state tensor is hashed in chunks of consecutive leading-dimension rows, each chunk as a
// canonical tensor of its own (TensorHash), so that a GPU hashes the ~3 MB state of a
// segment with hundreds of threads instead of one per tensor (SHA-256 is sequential within a
// message):
//   rows_per_chunk(t) = max(1, floor(kStateChunkBytes / bytes of one row of t))
//   chunk k of t      = rows [k·rows_per_chunk, min(d0, (k+1)·rows_per_chunk)) of t
// (a rank-0 tensor, or one of at most rows_per_chunk rows, is one chunk: the tensor itself).
// Backend::HashRowChunks computes exactly these hashes, in place.
//
// Internal to probity_workloads. A DeviceStateHasher is used by one thread at a time.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "probity/workloads/backend.h"
#include "probity/workloads/safetensors.h"

namespace probity::workloads::internal {

inline constexpr size_t kStateChunkBytes = 8192;

using NamedChunkHashes = std::vector<std::pair<std::string, std::vector<Hash256>>>;

// tagged_hash("probity/train-state", J || u64 steps || u32 n || for each tensor in bytewise
// name order: u32 len(name) || name || u32 chunks || chunk hashes).
Hash256 TrainStateHashFromChunks(const Hash256& job_input_hash, uint64_t steps_done,
                                 const NamedChunkHashes& named);

// The rows per chunk of a state tensor: max(1, floor(kStateChunkBytes / bytes of one row)).
int64_t StateRowsPerChunk(DType dtype, const Shape& shape);

// The chunk hashes of a host tensor, hashed in place.
std::vector<Hash256> HostChunkHashes(const Tensor& t);

// Chunk hashes of fixed device tensors, on their backend: one Backend::HashRowChunks call
// hashes every chunk of every tensor where it lies (on `cuda`, one kernel launch).
class DeviceStateHasher {
 public:
  // REQUIRES: the tensors outlive the hasher and keep their shapes.
  static Result<std::unique_ptr<DeviceStateHasher>> Create(
      Backend& backend, std::vector<std::pair<std::string, const DeviceTensor*>> tensors);
  Result<NamedChunkHashes> Hash();

 private:
  explicit DeviceStateHasher(Backend& backend) : backend_(backend) {}
  Backend& backend_;
  std::vector<std::string> names_;
  std::vector<RowChunking> chunking_;
  std::vector<size_t> counts_;   // chunks per tensor
  std::vector<Hash256> hashes_;  // all chunks, tensor after tensor
};

}  // namespace probity::workloads::internal
