// Canonical little-endian encodings.
//
// Grammar used by every hand-written binary format in Probity (tensor headers, trace records,
// state keys):
//   u8  := 1 byte
//   u32 := 4 bytes, little-endian
//   u64 := 8 bytes, little-endian
//   bytes := u32 length || length bytes
// ByteReader never reads past its end: a short input is kCorruption, never undefined behaviour.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace probity {

inline void PutU32LE(uint8_t* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline void PutU64LE(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t GetU32LE(const uint8_t* in) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | in[i];
  return v;
}
inline uint64_t GetU64LE(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | in[i];
  return v;
}
// Big-endian u64, for keys whose byte order must sort numerically (RocksDB keys by height).
inline void PutU64BE(uint8_t* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * (7 - i)));
}
inline uint64_t GetU64BE(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

// Appends canonical encodings to a byte string.
class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(Bytes* out) : out_(out) {}

  void U8(uint8_t v) { buf().push_back(v); }
  void U32(uint32_t v);
  void U64(uint64_t v);
  void F32(float v);  // IEEE-754 bits, little-endian
  void Raw(ByteView b) { buf().insert(buf().end(), b.begin(), b.end()); }
  void LengthPrefixed(ByteView b);  // REQUIRES: b.size() < 2^32

  const Bytes& bytes() const { return out_ ? *out_ : own_; }
  Bytes Take() { return out_ ? *out_ : std::move(own_); }

 private:
  Bytes& buf() { return out_ ? *out_ : own_; }
  Bytes* out_ = nullptr;
  Bytes own_;
};

// Reads canonical encodings; every method fails with kCorruption on a short input.
class ByteReader {
 public:
  explicit ByteReader(ByteView in) : in_(in) {}

  Status U8(uint8_t* v);
  Status U32(uint32_t* v);
  Status U64(uint64_t* v);
  Status F32(float* v);
  Status Raw(size_t n, ByteView* out);
  Status LengthPrefixed(ByteView* out, size_t max_len = SIZE_MAX);

  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }
  bool done() const { return pos_ == in_.size(); }
  // kCorruption unless every byte was consumed (trailing garbage is an error).
  Status ExpectEnd() const;

 private:
  ByteView in_;
  size_t pos_ = 0;
};

}  // namespace probity
