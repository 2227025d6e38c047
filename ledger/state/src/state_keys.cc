#include "state_keys.h"

#include <cstring>

#include "probity/primitives/encoding.h"

namespace probity::ledger::state_internal {

DbKey NodeDbKey(const NodeKey& key) {
  DbKey k;
  size_t path_bytes = (key.path.len + 1u) / 2;
  uint8_t* p = k.raw();
  p[0] = kNodePrefix;
  PutU64BE(p + 1, key.version);
  p[9] = key.path.len;
  std::memcpy(p + 10, key.path.bytes.data(), path_bytes);
  k.size_ = static_cast<uint8_t>(10 + path_bytes);
  return k;
}

std::optional<NodeKey> ParseNodeDbKey(std::string_view s) {
  if (s.size() < 10 || s[0] != kNodePrefix) return std::nullopt;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(s.data());
  NodeKey key;
  key.version = GetU64BE(p + 1);
  key.path.len = p[9];
  size_t path_bytes = (key.path.len + 1u) / 2;
  if (key.path.len > 64 || s.size() != 10 + path_bytes) return std::nullopt;
  std::memcpy(key.path.bytes.data(), p + 10, path_bytes);
  if ((key.path.len & 1) && (key.path.bytes[path_bytes - 1] & 0x0f) != 0) return std::nullopt;
  return key;
}

DbKey ValueDbKey(const Hash256& key_hash, uint64_t version) {
  DbKey k;
  uint8_t* p = k.raw();
  p[0] = kValuePrefix;
  std::memcpy(p + 1, key_hash.data(), 32);
  PutU64BE(p + 33, version);
  k.size_ = 41;
  return k;
}

DbKey RootDbKey(uint64_t version) {
  DbKey k;
  uint8_t* p = k.raw();
  p[0] = kRootPrefix;
  PutU64BE(p + 1, version);
  k.size_ = 9;
  return k;
}

DbKey StaleDbKey(uint64_t version, uint32_t chunk) {
  DbKey k;
  uint8_t* p = k.raw();
  p[0] = kStalePrefix;
  PutU64BE(p + 1, version);
  for (int i = 0; i < 4; ++i) p[9 + i] = static_cast<uint8_t>(chunk >> (8 * (3 - i)));
  k.size_ = 13;
  return k;
}

}  // namespace probity::ledger::state_internal
