#include "state_hash.h"

#include <algorithm>
#include <cstring>

#include "probity/primitives/encoding.h"
#include "probity/primitives/sha256.h"

namespace probity::workloads::internal {
namespace {

int64_t RowsPerChunk(DType dtype, const Shape& shape) {
  if (shape.empty()) return 1;
  int64_t row = static_cast<int64_t>(DTypeSize(dtype));
  for (size_t d = 1; d < shape.size(); ++d) row *= shape[d];
  return std::max<int64_t>(1, static_cast<int64_t>(kStateChunkBytes) / std::max<int64_t>(1, row));
}

int64_t Rows(const Shape& shape) { return shape.empty() ? 1 : shape[0]; }

}  // namespace

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
  const int64_t rows = Rows(t.shape());
  const int64_t per = RowsPerChunk(t.dtype(), t.shape());
  if (t.shape().empty() || rows <= per) return {TensorHash(t)};
  const size_t row_bytes = t.byte_size() / static_cast<size_t>(rows);
  std::vector<Hash256> out;
  for (int64_t begin = 0; begin < rows; begin += per) {
    Shape shape = t.shape();
    shape[0] = std::min(rows, begin + per) - begin;
    Tensor chunk = Tensor::Zeros(t.dtype(), shape).value();
    std::memcpy(chunk.mutable_bytes().data(), t.bytes().data() + begin * row_bytes,
                chunk.byte_size());
    out.push_back(TensorHash(chunk));
  }
  return out;
}

Result<std::unique_ptr<DeviceStateHasher>> DeviceStateHasher::Create(
    Backend& backend, std::vector<std::pair<std::string, const DeviceTensor*>> tensors) {
  std::unique_ptr<DeviceStateHasher> h(new DeviceStateHasher(backend));
  for (auto& [name, t] : tensors) {
    Chunked c{name, t, {}, {}};
    const int64_t rows = Rows(t->shape());
    const int64_t per = RowsPerChunk(t->dtype(), t->shape());
    // A tensor that is one chunk is hashed in place; rank 0 and empty tensors always are.
    if (!t->shape().empty() && rows > per) {
      for (int64_t begin = 0; begin < rows; begin += per) {
        Shape shape = t->shape();
        shape[0] = std::min(rows, begin + per) - begin;
        PROBITY_ASSIGN_OR_RETURN(DeviceTensor chunk, backend.Allocate(t->dtype(), shape));
        std::vector<int64_t> r(static_cast<size_t>(shape[0]));
        for (size_t k = 0; k < r.size(); ++k) r[k] = begin + static_cast<int64_t>(k);
        c.chunks.push_back(std::move(chunk));
        c.rows.push_back(std::move(r));
      }
    }
    h->tensors_.push_back(std::move(c));
  }
  return h;
}

Result<NamedChunkHashes> DeviceStateHasher::Hash() {
  std::vector<const DeviceTensor*> all;
  for (Chunked& c : tensors_) {
    if (c.chunks.empty()) {
      all.push_back(c.tensor);
      continue;
    }
    for (size_t k = 0; k < c.chunks.size(); ++k) {
      PROBITY_RETURN_IF_ERROR(backend_.GatherRows(&c.chunks[k], *c.tensor, c.rows[k]));
      all.push_back(&c.chunks[k]);
    }
  }
  std::vector<Hash256> hashes(all.size());
  PROBITY_RETURN_IF_ERROR(backend_.HashTensors(hashes, all));
  NamedChunkHashes out;
  size_t at = 0;
  for (const Chunked& c : tensors_) {
    const size_t n = c.chunks.empty() ? 1 : c.chunks.size();
    out.emplace_back(c.name, std::vector<Hash256>(hashes.begin() + at, hashes.begin() + at + n));
    at += n;
  }
  return out;
}

}  // namespace probity::workloads::internal
