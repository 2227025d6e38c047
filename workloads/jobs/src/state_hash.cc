#include "state_hash.h"

#include <algorithm>

#include "probity/primitives/encoding.h"
#include "probity/primitives/sha256.h"

namespace probity::workloads::internal {

int64_t StateRowsPerChunk(DType dtype, const Shape& shape) {
  if (shape.empty()) return 1;
  int64_t row = static_cast<int64_t>(DTypeSize(dtype));
  for (size_t d = 1; d < shape.size(); ++d) row *= shape[d];
  return std::max<int64_t>(1, static_cast<int64_t>(kStateChunkBytes) / std::max<int64_t>(1, row));
}

Hash256 TrainStateHashFromChunks(const Hash256& job_input_hash, uint64_t steps_done,
                                 const NamedChunkHashes& named) {
  ByteWriter w;
  w.Raw(job_input_hash);
  w.U64(steps_done);
  w.U32(static_cast<uint32_t>(named.size()));
  for (const auto& [name, chunks] : named) {
    w.LengthPrefixed(AsBytes(name));
    w.U32(static_cast<uint32_t>(chunks.size()));
    for (const Hash256& h : chunks) w.Raw(h);
  }
  return TaggedHash("probity/train-state", w.bytes());
}

std::vector<Hash256> HostChunkHashes(const Tensor& t) {
  const int64_t per = StateRowsPerChunk(t.dtype(), t.shape());
  const int64_t count = RowChunkCount(t.shape(), per);
  if (count == 1) return {TensorHash(t)};
  // Each chunk is the canonical encoding of rows [begin, end): its header, then those rows'
  // bytes as they lie in the tensor.
  const int64_t rows = t.shape()[0];
  const size_t row_bytes = t.byte_size() / static_cast<size_t>(rows);
  std::vector<Hash256> out;
  out.reserve(static_cast<size_t>(count));
  Shape shape = t.shape();
  for (int64_t begin = 0; begin < rows; begin += per) {
    shape[0] = std::min(rows, begin + per) - begin;
    Sha256Hasher h;
    h.Update(EncodeTensorHeader(t.dtype(), shape));
    h.Update(t.bytes().subspan(static_cast<size_t>(begin) * row_bytes,
                               static_cast<size_t>(shape[0]) * row_bytes));
    out.push_back(h.Final());
  }
  return out;
}

Result<std::unique_ptr<DeviceStateHasher>> DeviceStateHasher::Create(
    Backend& backend, std::vector<std::pair<std::string, const DeviceTensor*>> tensors) {
  std::unique_ptr<DeviceStateHasher> h(new DeviceStateHasher(backend));
  size_t total = 0;
  for (auto& [name, t] : tensors) {
    if (t == nullptr || t->empty()) {
      return Status::InvalidArgument("state tensor \"" + name + "\" is missing");
    }
    const int64_t per = StateRowsPerChunk(t->dtype(), t->shape());
    h->names_.push_back(std::move(name));
    h->chunking_.push_back({t, per});
    h->counts_.push_back(static_cast<size_t>(RowChunkCount(t->shape(), per)));
    total += h->counts_.back();
  }
  h->hashes_.resize(total);
  return h;
}

Result<NamedChunkHashes> DeviceStateHasher::Hash() {
  PROBITY_RETURN_IF_ERROR(backend_.HashRowChunks(hashes_, chunking_));
  NamedChunkHashes out;
  out.reserve(names_.size());
  size_t at = 0;
  for (size_t i = 0; i < names_.size(); ++i) {
    out.emplace_back(names_[i],
                     std::vector<Hash256>(hashes_.begin() + at, hashes_.begin() + at + counts_[i]));
    at += counts_[i];
  }
  return out;
}

}  // namespace probity::workloads::internal
