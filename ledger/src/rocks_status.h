// RocksDB status -> probity::Status, at the edge of the third-party library.
#pragma once

#include <rocksdb/status.h>

#include <string>

#include "probity/primitives/status.h"

namespace probity::ledger {

inline Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::OK();
  std::string m = what + ": " + s.ToString();
  if (s.IsNotFound()) return Status::NotFound(m);
  if (s.IsCorruption()) return Status::Corruption(m);
  return Status::IOError(m);
}

}  // namespace probity::ledger
