#include "probity/ledger/storage.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <vector>

#include "rocks_status.h"

namespace probity::ledger {

Result<std::unique_ptr<Storage>> Storage::Open(const std::string& path, const Options& options) {
  std::unique_ptr<Storage> s(new Storage());
  s->test_fail_write_at_ = options.test_fail_write_at;
  s->cache_ = rocksdb::NewLRUCache(options.block_cache_mb << 20);

  rocksdb::Options db_opts;
  db_opts.create_if_missing = true;
  db_opts.create_missing_column_families = true;
  db_opts.max_background_jobs = 2;
  db_opts.bytes_per_sync = 1 << 20;
  // Blocks are written with sync=true; let RocksDB not also fsync on every memtable switch.
  db_opts.manual_wal_flush = false;

  auto cf_options = [&](bool compress) {
    rocksdb::ColumnFamilyOptions o;
    if (!compress) o.compression = rocksdb::kNoCompression;
    o.write_buffer_size = 64 << 20;
    // A block's batch inserts each kind of key (tx ids, index terms, tree nodes: the first
    // byte) in sorted order, but spread over a memtable of up to a million entries. With a
    // hint per first byte, an insert starts from where the last one of its kind landed and
    // climbs only as far as the gap between them, instead of searching from the top.
    o.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(1));
    o.max_write_buffer_number = 3;
    o.target_file_size_base = 64 << 20;
    o.max_bytes_for_level_base = 256 << 20;
    rocksdb::BlockBasedTableOptions t;
    t.block_cache = s->cache_;
    t.block_size = 16 << 10;
    t.cache_index_and_filter_blocks = true;
    t.pin_l0_filter_and_index_blocks_in_cache = true;
    t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
    o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
    return o;
  };
  std::vector<rocksdb::ColumnFamilyDescriptor> cfds = {
      {rocksdb::kDefaultColumnFamilyName, cf_options(true)},
      // The tree's records are mostly SHA-256 hashes, which do not compress: compressing them
      // cost the flushes CPU for nothing.
      {"state", cf_options(false)},
      {"flat", cf_options(true)},
      {"chain", cf_options(true)},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status st = rocksdb::DB::Open(db_opts, path, cfds, &handles, &db);
  if (!st.ok()) return FromRocks(st, "open database " + path);
  s->db_ = db;
  for (size_t i = 0; i < 4; ++i) s->cfs_[i] = handles[i];
  return s;
}

Storage::~Storage() {
  if (db_ == nullptr) return;
  for (auto* h : cfs_) {
    if (h != nullptr) db_->DestroyColumnFamilyHandle(h);
  }
  db_->Close();
  delete db_;
}

Status Storage::WriteSynced(rocksdb::WriteBatch* batch) {
  if (writes_.fetch_add(1) + 1 == test_fail_write_at_) {
    return Status::IOError(
        "write block batch: injected failure (PROBITY_TEST_FAIL_BLOCK_WRITE_AT=" +
        std::to_string(test_fail_write_at_) + ")");
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  rocksdb::Status st = db_->Write(wo, batch);
  if (!st.ok()) return FromRocks(st, "write block batch");
  return Status::OK();
}

}  // namespace probity::ledger
