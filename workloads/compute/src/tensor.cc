// Host tensors and the canonical tensor encoding. The grammar is in tensor.h and
// docs/determinism.md:
//   tensor := "prbt" u8(version=1) u8(dtype) u8(rank) u8(0) u64(dim){rank} payload
#include "probity/workloads/tensor.h"

#include <bit>
#include <cstdlib>
#include <cstring>

#include "probity/primitives/sha256.h"

namespace probity::workloads {

static_assert(std::endian::native == std::endian::little,
              "the payload is stored in host order and must be little-endian");

size_t DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32:
    case DType::kI32:
    case DType::kU32:
      return 4;
    case DType::kI8:
    case DType::kU8:
      return 1;
    case DType::kI64:
      return 8;
  }
  std::abort();  // not a DType: a caller bug, never reachable from decoded data
}

std::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return "f32";
    case DType::kI32:
      return "i32";
    case DType::kI8:
      return "i8";
    case DType::kU8:
      return "u8";
    case DType::kU32:
      return "u32";
    case DType::kI64:
      return "i64";
  }
  std::abort();
}

bool IsValidDType(uint8_t code) { return code >= 1 && code <= 6; }

Result<DType> ParseDType(std::string_view name) {
  for (uint8_t code = 1; code <= 6; ++code) {
    if (DTypeName(static_cast<DType>(code)) == name) return static_cast<DType>(code);
  }
  return Status::InvalidArgument("unknown dtype \"" + std::string(name) + "\"");
}

std::string ShapeString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Result<int64_t> ShapeElements(const Shape& shape) {
  if (shape.size() > static_cast<size_t>(kMaxRank)) {
    return Status::InvalidArgument("tensor rank " + std::to_string(shape.size()) +
                                   " exceeds the maximum " + std::to_string(kMaxRank));
  }
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || d > kMaxDim) {
      return Status::InvalidArgument("bad tensor dimension " + std::to_string(d) + " in shape " +
                                     ShapeString(shape));
    }
    // n <= kMaxElements = 2^40 and d <= 2^40, so the product fits in 128 bits; check first.
    if (d != 0 && n > kMaxElements / d) {
      return Status::InvalidArgument("tensor shape " + ShapeString(shape) + " has more than 2^40 " +
                                     "elements");
    }
    n *= d;
  }
  return n;
}

void Tensor::AlignedFree::operator()(uint8_t* p) const { std::free(p); }

void Tensor::Allocate() {
  size_t bytes = byte_size();
  // aligned_alloc wants a multiple of the alignment; never zero so that data() is non-null.
  size_t rounded = (bytes + 63) / 64 * 64;
  if (rounded == 0) rounded = 64;
  auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, rounded));
  if (p == nullptr) std::abort();  // out of host memory: as new would
  std::memset(p, 0, rounded);
  data_.reset(p);
}

Tensor::Tensor() { Allocate(); }

Tensor::Tensor(const Tensor& other)
    : dtype_(other.dtype_), shape_(other.shape_), numel_(other.numel_) {
  Allocate();
  std::memcpy(data_.get(), other.data_.get(), byte_size());
}

Tensor& Tensor::operator=(const Tensor& other) {
  if (this != &other) {
    Tensor copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Tensor::Tensor(Tensor&& other) noexcept
    : dtype_(other.dtype_),
      shape_(std::move(other.shape_)),
      numel_(other.numel_),
      data_(std::move(other.data_)) {
  other.shape_.clear();
  other.numel_ = 1;
  other.dtype_ = DType::kF32;
  other.Allocate();
}

Tensor& Tensor::operator=(Tensor&& other) noexcept {
  if (this != &other) {
    dtype_ = other.dtype_;
    shape_ = std::move(other.shape_);
    numel_ = other.numel_;
    data_ = std::move(other.data_);
    other.shape_.clear();
    other.numel_ = 1;
    other.dtype_ = DType::kF32;
    other.Allocate();
  }
  return *this;
}

Tensor::~Tensor() = default;

Result<Tensor> Tensor::Zeros(DType dtype, Shape shape) {
  if (!IsValidDType(static_cast<uint8_t>(dtype))) {
    return Status::InvalidArgument("bad dtype code " + std::to_string(static_cast<int>(dtype)));
  }
  PROBITY_ASSIGN_OR_RETURN(int64_t n, ShapeElements(shape));
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = n;
  t.Allocate();
  return t;
}

void Tensor::CheckType(DType want) const {
  if (want != dtype_) std::abort();  // typed access with the wrong C++ type: a caller bug
}

Status Tensor::Reshape(Shape shape) {
  PROBITY_ASSIGN_OR_RETURN(int64_t n, ShapeElements(shape));
  if (n != numel_) {
    return Status::InvalidArgument("cannot reshape " + ShapeString(shape_) + " to " +
                                   ShapeString(shape) + ": element counts differ");
  }
  shape_ = std::move(shape);
  return Status::OK();
}

bool operator==(const Tensor& a, const Tensor& b) {
  return a.dtype_ == b.dtype_ && a.shape_ == b.shape_ &&
         std::memcmp(a.data_.get(), b.data_.get(), a.byte_size()) == 0;
}

Bytes EncodeTensorHeader(DType dtype, const Shape& shape) {
  Bytes out(8 + 8 * shape.size());
  std::memcpy(out.data(), kTensorMagic, 4);
  out[4] = kTensorEncodingVersion;
  out[5] = static_cast<uint8_t>(dtype);
  out[6] = static_cast<uint8_t>(shape.size());
  out[7] = 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    PutU64LE(out.data() + 8 + 8 * i, static_cast<uint64_t>(shape[i]));
  }
  return out;
}

void WriteTensor(const Tensor& tensor, ByteWriter* out) {
  out->Raw(EncodeTensorHeader(tensor.dtype(), tensor.shape()));
  out->Raw(tensor.bytes());
}

Bytes EncodeTensor(const Tensor& tensor) {
  ByteWriter w;
  WriteTensor(tensor, &w);
  return w.Take();
}

Result<Tensor> ReadTensor(ByteReader* in) {
  ByteView magic;
  PROBITY_RETURN_IF_ERROR(in->Raw(4, &magic).WithContext("tensor header"));
  if (std::memcmp(magic.data(), kTensorMagic, 4) != 0) {
    return Status::Corruption("not a tensor encoding: bad magic");
  }
  uint8_t version, dtype, rank, reserved;
  PROBITY_RETURN_IF_ERROR(in->U8(&version).WithContext("tensor header"));
  PROBITY_RETURN_IF_ERROR(in->U8(&dtype).WithContext("tensor header"));
  PROBITY_RETURN_IF_ERROR(in->U8(&rank).WithContext("tensor header"));
  PROBITY_RETURN_IF_ERROR(in->U8(&reserved).WithContext("tensor header"));
  if (version != kTensorEncodingVersion) {
    return Status::Corruption("unsupported tensor encoding version " + std::to_string(version));
  }
  if (!IsValidDType(dtype)) {
    return Status::Corruption("unknown tensor dtype code " + std::to_string(dtype));
  }
  if (rank > kMaxRank) {
    return Status::Corruption("tensor rank " + std::to_string(rank) + " exceeds the maximum " +
                              std::to_string(kMaxRank));
  }
  if (reserved != 0) return Status::Corruption("tensor header: reserved byte is not zero");
  Shape shape(rank);
  for (int i = 0; i < rank; ++i) {
    uint64_t d;
    PROBITY_RETURN_IF_ERROR(in->U64(&d).WithContext("tensor dims"));
    if (d > static_cast<uint64_t>(kMaxDim)) {
      return Status::Corruption("tensor dimension " + std::to_string(d) + " out of range");
    }
    shape[i] = static_cast<int64_t>(d);
  }
  Result<int64_t> n = ShapeElements(shape);
  if (!n.ok()) return Status::Corruption(n.status().message());
  const size_t payload = static_cast<size_t>(*n) * DTypeSize(static_cast<DType>(dtype));
  if (in->remaining() < payload) {
    return Status::Corruption("tensor payload truncated: shape " + ShapeString(shape) + " of " +
                              std::string(DTypeName(static_cast<DType>(dtype))) + " needs " +
                              std::to_string(payload) + " bytes, " +
                              std::to_string(in->remaining()) + " present");
  }
  ByteView data;
  PROBITY_RETURN_IF_ERROR(in->Raw(payload, &data));
  PROBITY_ASSIGN_OR_RETURN(Tensor t, Tensor::Zeros(static_cast<DType>(dtype), std::move(shape)));
  if (payload) std::memcpy(t.mutable_bytes().data(), data.data(), payload);
  return t;
}

Result<Tensor> DecodeTensor(ByteView in) {
  ByteReader reader(in);
  PROBITY_ASSIGN_OR_RETURN(Tensor t, ReadTensor(&reader));
  if (!reader.done()) {
    return Status::Corruption("tensor encoding has " + std::to_string(reader.remaining()) +
                              " trailing bytes after a payload of shape " + ShapeString(t.shape()));
  }
  return t;
}

Hash256 TensorHash(const Tensor& tensor) {
  Sha256Hasher h;
  h.Update(EncodeTensorHeader(tensor.dtype(), tensor.shape()));
  h.Update(tensor.bytes());
  return h.Final();
}

}  // namespace probity::workloads
