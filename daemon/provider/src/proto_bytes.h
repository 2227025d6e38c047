// Fixed-size values in protobuf `bytes` fields (ids, keys, hashes), converted at the edge so
// that a field of the wrong length is an error, never a silent truncation.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"

namespace probity::provider {

// kInvalidArgument naming `what` unless `field` holds exactly 32 bytes.
inline Result<Hash256> Hash256Field(const std::string& field, std::string_view what) {
  if (field.size() != 32) {
    return Status::InvalidArgument(std::string(what) + " must be 32 bytes, got " +
                                   std::to_string(field.size()));
  }
  Hash256 h;
  std::copy(field.begin(), field.end(), h.begin());
  return h;
}

inline std::string FieldOf(const Hash256& h) { return std::string(h.begin(), h.end()); }

// Whether `field` holds exactly `value` (bytes compared unsigned).
inline bool FieldIs(const std::string& field, const Hash256& value) {
  return field.size() == value.size() && std::memcmp(field.data(), value.data(), 32) == 0;
}

}  // namespace probity::provider
