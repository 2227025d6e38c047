#include "probity/primitives/encoding.h"

#include <bit>

namespace probity {

void ByteWriter::U32(uint32_t v) {
  uint8_t b[4];
  PutU32LE(b, v);
  Raw(ByteView(b, 4));
}
void ByteWriter::U64(uint64_t v) {
  uint8_t b[8];
  PutU64LE(b, v);
  Raw(ByteView(b, 8));
}
void ByteWriter::F32(float v) { U32(std::bit_cast<uint32_t>(v)); }
void ByteWriter::LengthPrefixed(ByteView b) {
  U32(static_cast<uint32_t>(b.size()));
  Raw(b);
}

static Status Short(size_t need, size_t have, size_t pos) {
  return Status::Corruption("truncated input: need " + std::to_string(need) + " bytes at offset " +
                            std::to_string(pos) + ", " + std::to_string(have) + " left");
}

Status ByteReader::U8(uint8_t* v) {
  if (remaining() < 1) return Short(1, remaining(), pos_);
  *v = in_[pos_++];
  return Status::OK();
}
Status ByteReader::U32(uint32_t* v) {
  if (remaining() < 4) return Short(4, remaining(), pos_);
  *v = GetU32LE(in_.data() + pos_);
  pos_ += 4;
  return Status::OK();
}
Status ByteReader::U64(uint64_t* v) {
  if (remaining() < 8) return Short(8, remaining(), pos_);
  *v = GetU64LE(in_.data() + pos_);
  pos_ += 8;
  return Status::OK();
}
Status ByteReader::F32(float* v) {
  uint32_t u;
  PROBITY_RETURN_IF_ERROR(U32(&u));
  *v = std::bit_cast<float>(u);
  return Status::OK();
}
Status ByteReader::Raw(size_t n, ByteView* out) {
  if (remaining() < n) return Short(n, remaining(), pos_);
  *out = in_.subspan(pos_, n);
  pos_ += n;
  return Status::OK();
}
Status ByteReader::LengthPrefixed(ByteView* out, size_t max_len) {
  uint32_t n;
  PROBITY_RETURN_IF_ERROR(U32(&n));
  if (n > max_len) {
    return Status::Corruption("length " + std::to_string(n) + " exceeds limit " +
                              std::to_string(max_len));
  }
  return Raw(n, out);
}
Status ByteReader::ExpectEnd() const {
  if (!done()) {
    return Status::Corruption(std::to_string(remaining()) + " trailing bytes after offset " +
                              std::to_string(pos_));
  }
  return Status::OK();
}

}  // namespace probity
