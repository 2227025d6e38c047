// The node's one RocksDB database and its column families.
//
//   default  app metadata: last committed height and app hash, genesis hash (docs/ledger.md)
//   state    the state tree's nodes (StateTree, ledger/state)
//   flat     the latest value of every key under a module's ScanPrefixes(), for ordered scans
//   chain    blocks, block results, the tx index and the event index (BlockStore)
//
// Every block is committed with one WriteBatch written with sync=true, so after a crash the
// database holds exactly the blocks whose write returned (RocksDB's WAL makes a batch atomic).
//
// Thread-safety: all methods are safe from any thread (RocksDB's guarantees).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "probity/primitives/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
class Cache;
}  // namespace rocksdb

namespace probity::ledger {

class Storage {
 public:
  struct Options {
    size_t block_cache_mb = 256;
    // TEST ONLY (fault injection): when n > 0, the n-th WriteSynced of this Storage fails with
    // kIOError and writes nothing, as a full disk or a failing device would make RocksDB fail
    // it. `probity node` sets it from PROBITY_TEST_FAIL_BLOCK_WRITE_AT (docs/ledger.md).
    uint64_t test_fail_write_at = 0;
  };
  // Opens or creates the database at `path` (a directory).
  static Result<std::unique_ptr<Storage>> Open(const std::string& path, const Options& options);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* meta() const { return cfs_[0]; }
  rocksdb::ColumnFamilyHandle* state_tree() const { return cfs_[1]; }
  rocksdb::ColumnFamilyHandle* state_flat() const { return cfs_[2]; }
  rocksdb::ColumnFamilyHandle* chain() const { return cfs_[3]; }

  // Writes `batch` atomically and durably (fsync of the WAL before returning).
  Status WriteSynced(rocksdb::WriteBatch* batch);

 private:
  Storage() = default;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* cfs_[4] = {};
  std::shared_ptr<rocksdb::Cache> cache_;
  uint64_t test_fail_write_at_ = 0;
  std::atomic<uint64_t> writes_{0};
};

}  // namespace probity::ledger
