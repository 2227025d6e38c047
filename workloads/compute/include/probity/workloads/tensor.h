// Host tensors and their canonical encoding: the unit that traces, openings and models hash.
//
// A Tensor is a dtype, a shape and a row-major, little-endian block of elements in host memory.
// Every hash that Probity commits to about data (a segment's inputs and outputs, a model's
// identity) is TensorHash() of a Tensor, the SHA-256 of its canonical encoding, so two parties
// agree on a tensor exactly when they agree on 32 bytes.
//
// Canonical encoding (version 1; also in docs/determinism.md):
//   tensor  := magic version dtype rank reserved dim{rank} payload
//   magic   := "prbt"                       4 bytes: 0x70 0x72 0x62 0x74
//   version := u8 = 1
//   dtype   := u8, a DType code below (1..6)
//   rank    := u8, 0..kMaxRank (rank 0 is a scalar with one element)
//   reserved:= u8 = 0
//   dim     := u64, little-endian, each 0..kMaxDim
//   payload := numel * DTypeSize(dtype) bytes: the elements in row-major order (last index
//              fastest), each little-endian (f32 as its IEEE-754 binary32 bits)
// numel is the product of the dims (1 for rank 0). The header is 8 + 8*rank bytes, always a
// multiple of 8, so the payload starts 8-byte aligned within the encoding (the CUDA hash
// kernel relies on this). Decoding is strict: every deviation (wrong magic or version, unknown
// dtype, rank or dim out of range, reserved byte not 0, payload shorter or longer than the
// shape says) is kCorruption, and nothing else is accepted, so each tensor has exactly one
// encoding and exactly one hash. Floats are kept bit for bit: -0.0 and every NaN payload are
// distinct values.
//
// Thread-safety: a Tensor is a value; const methods may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "probity/primitives/bytes.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/status.h"

namespace probity::workloads {

// Element types. The numeric codes are part of the canonical encoding: never renumber.
enum class DType : uint8_t {
  kF32 = 1,  // IEEE-754 binary32
  kI32 = 2,  // labels, argmax results, int8 GEMM accumulators
  kI8 = 3,   // quantised weights and activations
  kU8 = 4,   // raw image pixels
  kU32 = 5,
  kI64 = 6,  // indices as safetensors files commonly store them
};

// Bytes per element (4, 4, 1, 1, 4, 8). REQUIRES: a valid DType.
size_t DTypeSize(DType dtype);
// "f32", "i32", "i8", "u8", "u32", "i64".
std::string_view DTypeName(DType dtype);
// Inverse of DTypeName; kInvalidArgument for any other string.
Result<DType> ParseDType(std::string_view name);
// True for the six codes above.
bool IsValidDType(uint8_t code);

// The C++ element type of each dtype, for typed access.
template <typename T>
constexpr DType DTypeOf();
template <>
constexpr DType DTypeOf<float>() {
  return DType::kF32;
}
template <>
constexpr DType DTypeOf<int32_t>() {
  return DType::kI32;
}
template <>
constexpr DType DTypeOf<int8_t>() {
  return DType::kI8;
}
template <>
constexpr DType DTypeOf<uint8_t>() {
  return DType::kU8;
}
template <>
constexpr DType DTypeOf<uint32_t>() {
  return DType::kU32;
}
template <>
constexpr DType DTypeOf<int64_t>() {
  return DType::kI64;
}

inline constexpr int kMaxRank = 8;
// Largest single dimension and largest element count, far beyond any job, small enough that
// numel * 8 never overflows.
inline constexpr int64_t kMaxDim = int64_t{1} << 40;
inline constexpr int64_t kMaxElements = int64_t{1} << 40;

// Dimensions, outermost first. Every dim is in [0, kMaxDim].
using Shape = std::vector<int64_t>;

// Element count of a shape (1 for rank 0); kInvalidArgument if the rank exceeds kMaxRank, a
// dim is negative or above kMaxDim, or the product exceeds kMaxElements.
Result<int64_t> ShapeElements(const Shape& shape);
// "[64, 1, 28, 28]".
std::string ShapeString(const Shape& shape);

// A host tensor. Owns its storage (64-byte aligned). Copying copies the data.
class Tensor {
 public:
  // An f32 scalar 0.0 (rank 0, one element).
  Tensor();
  Tensor(const Tensor& other);
  Tensor& operator=(const Tensor& other);
  Tensor(Tensor&& other) noexcept;
  Tensor& operator=(Tensor&& other) noexcept;
  ~Tensor();

  // A zero-filled tensor; kInvalidArgument for a bad shape (see ShapeElements).
  static Result<Tensor> Zeros(DType dtype, Shape shape);
  // A tensor holding a copy of `values`; kInvalidArgument if the shape is bad or
  // values.size() != its element count.
  template <typename T>
  static Result<Tensor> FromVector(Shape shape, std::span<const T> values);
  template <typename T>
  static Result<Tensor> FromVector(Shape shape, const std::vector<T>& values) {
    return FromVector<T>(std::move(shape), std::span<const T>(values));
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return numel_; }
  size_t byte_size() const { return static_cast<size_t>(numel_) * DTypeSize(dtype_); }

  // The payload bytes (row-major, little-endian).
  ByteView bytes() const { return ByteView(data_.get(), byte_size()); }
  std::span<uint8_t> mutable_bytes() { return {data_.get(), byte_size()}; }

  // Typed views. REQUIRES: DTypeOf<T>() == dtype() (checked: aborts otherwise, a caller bug).
  template <typename T>
  std::span<const T> data() const {
    CheckType(DTypeOf<T>());
    return {reinterpret_cast<const T*>(data_.get()), static_cast<size_t>(numel_)};
  }
  template <typename T>
  std::span<T> mutable_data() {
    CheckType(DTypeOf<T>());
    return {reinterpret_cast<T*>(data_.get()), static_cast<size_t>(numel_)};
  }

  // Changes the shape without touching the bytes; kInvalidArgument unless `shape` is valid
  // and has the same element count. Row-major order makes this a pure relabelling.
  Status Reshape(Shape shape);

  // Same dtype, same shape, same bytes (bitwise: -0.0 != +0.0, NaNs compare by payload).
  friend bool operator==(const Tensor& a, const Tensor& b);

 private:
  struct AlignedFree {
    void operator()(uint8_t* p) const;
  };
  void CheckType(DType want) const;
  void Allocate();

  DType dtype_ = DType::kF32;
  Shape shape_;
  int64_t numel_ = 1;
  std::unique_ptr<uint8_t[], AlignedFree> data_;
};

// --- Canonical encoding -----------------------------------------------------------------

inline constexpr uint8_t kTensorMagic[4] = {'p', 'r', 'b', 't'};
inline constexpr uint8_t kTensorEncodingVersion = 1;

// The header alone (magic .. dims), 8 + 8*rank bytes. REQUIRES: a valid dtype and shape (as
// held by any Tensor or DeviceTensor).
Bytes EncodeTensorHeader(DType dtype, const Shape& shape);

// The whole canonical encoding.
Bytes EncodeTensor(const Tensor& tensor);
// Appends the canonical encoding to `out` (to build openings holding several tensors).
void WriteTensor(const Tensor& tensor, ByteWriter* out);

// Decodes exactly one tensor occupying all of `in`; kCorruption on any deviation from the
// grammar, including trailing bytes.
Result<Tensor> DecodeTensor(ByteView in);
// Decodes one tensor from the front of `in`, leaving the reader after it; kCorruption on any
// deviation. The payload length is checked against the bytes present before anything is
// allocated, so a hostile header cannot make us allocate more than the input's size.
Result<Tensor> ReadTensor(ByteReader* in);

// SHA-256 of EncodeTensor(tensor), computed without materialising the encoding.
Hash256 TensorHash(const Tensor& tensor);

// --- Template definitions ----------------------------------------------------------------

template <typename T>
Result<Tensor> Tensor::FromVector(Shape shape, std::span<const T> values) {
  static_assert(std::is_arithmetic_v<T>);
  PROBITY_ASSIGN_OR_RETURN(Tensor t, Zeros(DTypeOf<T>(), std::move(shape)));
  if (values.size() != static_cast<size_t>(t.numel())) {
    return Status::InvalidArgument("tensor of shape " + ShapeString(t.shape()) + " needs " +
                                   std::to_string(t.numel()) + " values, got " +
                                   std::to_string(values.size()));
  }
  std::span<T> dst = t.mutable_data<T>();
  for (size_t i = 0; i < values.size(); ++i) dst[i] = values[i];
  return t;
}

}  // namespace probity::workloads
