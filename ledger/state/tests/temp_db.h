// A RocksDB in a fresh temporary directory with the state tree in its own column family
// ("state", not the default one, so that a tree writing outside its family would be caught).
// Removed with everything in it on destruction.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "probity/ledger/state_tree.h"

namespace probity::ledger::testing {

class TempDb {
 public:
  TempDb() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("probity-state-test-" + std::to_string(::getpid()) + "-" +
            std::to_string(counter.fetch_add(1)));
    std::filesystem::remove_all(dir_);
    Open();
  }
  ~TempDb() {
    Close();
    std::filesystem::remove_all(dir_);
  }
  TempDb(const TempDb&) = delete;
  TempDb& operator=(const TempDb&) = delete;

  void Open() {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> families = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {"state", rocksdb::ColumnFamilyOptions()}};
    rocksdb::DB* db = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(options, dir_.string(), families, &handles_, &db);
    if (!s.ok()) throw std::runtime_error(s.ToString());
    db_.reset(db);
  }
  void Close() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    handles_.clear();
    db_.reset();
  }
  void Reopen() {
    Close();
    Open();
  }

  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf() { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* default_cf() { return handles_[0]; }

  void Write(rocksdb::WriteBatch* batch) {
    rocksdb::WriteOptions wo;
    rocksdb::Status s = db_->Write(wo, batch);
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }

  // Records in the state family whose key starts with `prefix`.
  size_t Count(char prefix) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf()));
    size_t n = 0;
    for (it->Seek(std::string(1, prefix)); it->Valid() && it->key()[0] == prefix; it->Next()) ++n;
    return n;
  }
  size_t CountFamily(rocksdb::ColumnFamilyHandle* family) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family));
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace probity::ledger::testing
