// Trace records, the trace root, state hashes, the images root, and the opening encoding
// (grammar in probity/workloads/workloads.h).
#include <algorithm>

#include "probity/primitives/encoding.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"
#include "probity/workloads/workloads.h"
#include "state_hash.h"
#include "trace_internal.h"

namespace probity::workloads {
namespace {

constexpr std::string_view kOpeningMagic = "PRBO";
constexpr uint8_t kOpeningVersion = 1;
constexpr size_t kMaxProofLength = 64;
constexpr uint32_t kMaxOpeningTensors = 64;
constexpr size_t kMaxTensorNameBytes = 256;

void WriteRecord(ByteWriter& w, const TraceRecord& r) {
  w.U64(r.index);
  w.Raw(r.input_hash);
  w.Raw(r.output_hash);
}

void WriteProof(ByteWriter& w, const std::vector<Hash256>& proof) {
  w.U8(static_cast<uint8_t>(proof.size()));
  for (const Hash256& h : proof) w.Raw(h);
}

Status ReadHash(ByteReader& r, Hash256* h) {
  ByteView v;
  PROBITY_RETURN_IF_ERROR(r.Raw(32, &v));
  std::copy(v.begin(), v.end(), h->begin());
  return Status::OK();
}

Status ReadRecord(ByteReader& r, TraceRecord* rec) {
  PROBITY_RETURN_IF_ERROR(r.U64(&rec->index));
  PROBITY_RETURN_IF_ERROR(ReadHash(r, &rec->input_hash));
  return ReadHash(r, &rec->output_hash);
}

Status ReadProof(ByteReader& r, std::vector<Hash256>* proof) {
  uint8_t n;
  PROBITY_RETURN_IF_ERROR(r.U8(&n));
  if (n > kMaxProofLength) {
    return Status::Corruption("Merkle proof of " + std::to_string(n) + " hashes (at most 64)");
  }
  proof->resize(n);
  for (Hash256& h : *proof) PROBITY_RETURN_IF_ERROR(ReadHash(r, &h));
  return Status::OK();
}

Status ReadFlag(ByteReader& r, bool* flag, const char* what) {
  uint8_t b;
  PROBITY_RETURN_IF_ERROR(r.U8(&b));
  if (b > 1) return Status::Corruption(std::string(what) + " flag is " + std::to_string(b));
  *flag = b == 1;
  return Status::OK();
}

}  // namespace

Bytes EncodeTraceRecord(const TraceRecord& record) {
  ByteWriter w;
  WriteRecord(w, record);
  return w.Take();
}

Hash256 TraceRoot(std::span<const TraceRecord> records) {
  std::vector<Hash256> leaves;
  leaves.reserve(records.size());
  for (const TraceRecord& r : records) leaves.push_back(MerkleLeafHash(EncodeTraceRecord(r)));
  return MerkleRootFromLeafHashes(leaves);
}

namespace internal {
Hash256 InferOutputHash(const Hash256& input, uint64_t index, const Hash256& labels_hash,
                        const Hash256& logits_hash) {
  ByteWriter w;
  w.Raw(input);
  w.U64(index);
  w.Raw(labels_hash);
  w.Raw(logits_hash);
  return TaggedHash("probity/infer-output", w.bytes());
}

Result<Tensor> ImageSlice(const Tensor& images, uint64_t begin, uint64_t end) {
  Shape shape = images.shape();
  shape[0] = static_cast<int64_t>(end - begin);
  PROBITY_ASSIGN_OR_RETURN(Tensor t, Tensor::Zeros(DType::kU8, shape));
  const size_t per = static_cast<size_t>(images.shape()[1] * images.shape()[2]);
  std::copy_n(images.bytes().data() + begin * per, t.byte_size(), t.mutable_bytes().data());
  return t;
}

Status CheckImages(const Tensor& images) {
  if (images.dtype() != DType::kU8 || images.rank() != 3 || images.shape()[1] != kImageRows ||
      images.shape()[2] != kImageCols) {
    return Status::InvalidArgument("images must be u8 [count, 28, 28], got " +
                                   std::string(DTypeName(images.dtype())) + " " +
                                   ShapeString(images.shape()));
  }
  return Status::OK();
}

Result<std::vector<Hash256>> ImageSliceLeaves(const Tensor& images, uint32_t slice_size) {
  PROBITY_RETURN_IF_ERROR(CheckImages(images));
  if (slice_size == 0) return Status::InvalidArgument("slice_size must be at least 1");
  const uint64_t count = static_cast<uint64_t>(images.shape()[0]);
  std::vector<Hash256> leaves;
  for (uint64_t begin = 0; begin < count; begin += slice_size) {
    PROBITY_ASSIGN_OR_RETURN(
        Tensor s, ImageSlice(images, begin, std::min<uint64_t>(count, begin + slice_size)));
    leaves.push_back(MerkleLeafHash(TensorHash(s)));
  }
  return leaves;
}
}  // namespace internal

Hash256 TrainStateHash(const Hash256& job_input_hash, uint64_t steps_done, const TensorMap& state) {
  internal::NamedChunkHashes named;
  for (const auto& [name, t] : state) named.emplace_back(name, internal::HostChunkHashes(t));
  return internal::TrainStateHashFromChunks(job_input_hash, steps_done, named);
}

Result<Hash256> ImagesRoot(const Tensor& images, uint32_t slice_size) {
  PROBITY_ASSIGN_OR_RETURN(auto leaves, internal::ImageSliceLeaves(images, slice_size));
  return MerkleRootFromLeafHashes(leaves);
}

Bytes EncodeOpening(const Opening& o) {
  ByteWriter w;
  w.Raw(AsBytes(kOpeningMagic));
  w.U8(kOpeningVersion);
  w.LengthPrefixed(o.spec);
  w.U64(o.segment_count);
  WriteRecord(w, o.record);
  WriteProof(w, o.proof);
  w.U8(o.producer ? 1 : 0);
  if (o.producer) {
    WriteRecord(w, *o.producer);
    WriteProof(w, o.producer_proof);
  }
  w.U32(static_cast<uint32_t>(o.tensors.size()));
  for (const auto& [name, t] : o.tensors) {
    w.LengthPrefixed(AsBytes(name));
    WriteTensor(t, &w);
  }
  w.U8(o.slice ? 1 : 0);
  if (o.slice) {
    WriteTensor(*o.slice, &w);
    WriteProof(w, o.slice_proof);
  }
  return w.Take();
}

Result<Opening> DecodeOpening(ByteView bytes) {
  if (bytes.size() > kMaxOpeningBytes) {
    return Status::ResourceExhausted("opening of " + std::to_string(bytes.size()) +
                                     " bytes exceeds the bound of " +
                                     std::to_string(kMaxOpeningBytes));
  }
  ByteReader r(bytes);
  Opening o;
  auto body = [&]() -> Status {
    ByteView magic;
    PROBITY_RETURN_IF_ERROR(r.Raw(4, &magic));
    if (AsChars(magic) != kOpeningMagic) return Status::Corruption("bad magic");
    uint8_t version;
    PROBITY_RETURN_IF_ERROR(r.U8(&version));
    if (version != kOpeningVersion) {
      return Status::Corruption("unsupported version " + std::to_string(version));
    }
    ByteView spec;
    PROBITY_RETURN_IF_ERROR(r.LengthPrefixed(&spec, 4096));
    o.spec = ToBytes(spec);
    PROBITY_RETURN_IF_ERROR(r.U64(&o.segment_count));
    PROBITY_RETURN_IF_ERROR(ReadRecord(r, &o.record));
    PROBITY_RETURN_IF_ERROR(ReadProof(r, &o.proof));
    bool has;
    PROBITY_RETURN_IF_ERROR(ReadFlag(r, &has, "producer"));
    if (has) {
      o.producer.emplace();
      PROBITY_RETURN_IF_ERROR(ReadRecord(r, &*o.producer));
      PROBITY_RETURN_IF_ERROR(ReadProof(r, &o.producer_proof));
    }
    uint32_t n;
    PROBITY_RETURN_IF_ERROR(r.U32(&n));
    if (n > kMaxOpeningTensors) {
      return Status::Corruption(std::to_string(n) + " tensors (at most " +
                                std::to_string(kMaxOpeningTensors) + ")");
    }
    std::string last;
    for (uint32_t i = 0; i < n; ++i) {
      ByteView name;
      PROBITY_RETURN_IF_ERROR(r.LengthPrefixed(&name, kMaxTensorNameBytes));
      std::string s(AsChars(name));
      if (s.empty()) return Status::Corruption("empty tensor name");
      if (i > 0 && !(last < s)) {
        return Status::Corruption("tensor names not strictly increasing at \"" + s + "\"");
      }
      PROBITY_ASSIGN_OR_RETURN(Tensor t, ReadTensor(&r));
      o.tensors.emplace(s, std::move(t));
      last = std::move(s);
    }
    PROBITY_RETURN_IF_ERROR(ReadFlag(r, &has, "slice"));
    if (has) {
      PROBITY_ASSIGN_OR_RETURN(Tensor t, ReadTensor(&r));
      o.slice = std::move(t);
      PROBITY_RETURN_IF_ERROR(ReadProof(r, &o.slice_proof));
    }
    return r.ExpectEnd();
  };
  Status st = body();
  if (!st.ok()) return Status(st.code(), "opening: " + st.message());
  return o;
}

}  // namespace probity::workloads
