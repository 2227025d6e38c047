// RocksDB keys of the state tree (all in the column family given to StateTree::Open), built on
// the stack: a version writes ~10^5 of them. Integers in keys are big-endian so that keys sort
// numerically; the layout is documented at the top of state_tree.cc.
#pragma once

#include <array>
#include <optional>
#include <string_view>

#include "node.h"
#include "probity/primitives/bytes.h"

namespace probity::ledger::state_internal {

inline constexpr char kNodePrefix = 'n';
inline constexpr char kValuePrefix = 'v';
inline constexpr char kRootPrefix = 'r';
inline constexpr char kStalePrefix = 's';
inline constexpr std::string_view kLatestKey = "mlatest";
inline constexpr std::string_view kOldestKey = "moldest";

class DbKey {
 public:
  std::string_view view() const { return {bytes_.data(), size_}; }
  const char* data() const { return bytes_.data(); }
  size_t size() const { return size_; }
  friend bool operator<(const DbKey& a, const DbKey& b) { return a.view() < b.view(); }

 private:
  friend DbKey NodeDbKey(const NodeKey&);
  friend DbKey ValueDbKey(const Hash256&, uint64_t);
  friend DbKey RootDbKey(uint64_t);
  friend DbKey StaleDbKey(uint64_t, uint32_t);
  uint8_t* raw() { return reinterpret_cast<uint8_t*>(bytes_.data()); }
  std::array<char, 48> bytes_;
  uint8_t size_ = 0;
};

// "n" version:u64be len:u8 path[ceil(len/2)]
DbKey NodeDbKey(const NodeKey& key);
// Inverse of NodeDbKey; nullopt for anything else.
std::optional<NodeKey> ParseNodeDbKey(std::string_view key);
// "v" key_hash[32] version:u64be
DbKey ValueDbKey(const Hash256& key_hash, uint64_t version);
// "r" version:u64be
DbKey RootDbKey(uint64_t version);
// "s" version:u64be chunk:u32be
DbKey StaleDbKey(uint64_t version, uint32_t chunk);

}  // namespace probity::ledger::state_internal
