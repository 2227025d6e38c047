// RocksDB keys of the state tree (all in the column family given to StateTree::Open).
// Integers in keys are big-endian so that keys sort numerically; the layout is documented at
// the top of state_tree.cc.
#pragma once

#include <optional>
#include <string>
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

// "n" version:u64be len:u8 path[ceil(len/2)]
std::string NodeDbKey(const NodeKey& key);
// Inverse of NodeDbKey; nullopt for anything else.
std::optional<NodeKey> ParseNodeDbKey(std::string_view key);
// "v" key_hash[32] ~version:u64be
std::string ValueDbKey(const Hash256& key_hash, uint64_t version);
// "r" version:u64be
std::string RootDbKey(uint64_t version);
// "s" version:u64be chunk:u32be
std::string StaleDbKey(uint64_t version, uint32_t chunk);

}  // namespace probity::ledger::state_internal
