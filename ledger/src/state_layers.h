// Layers of state writes used while executing a block (internal to the ledger).
//
//   committed state (the tree at the committed version; scans from the "flat" family)
//     └─ block layer: every write of the block so far, with an undo journal
// A transaction's ante writes (nonce, fee) and its message's writes go straight into the block
// layer after a Mark(); a failed message is undone with Rollback(mark), as Ethereum's
// journaled state does. One map, one lookup per read, no copying of writes between layers.
// Reads fall through to the committed state; scans merge the two in key order. The WriteSet
// is ordered, so the block's writes reach the state tree sorted.
#pragma once

#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "probity/ledger/module.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Snapshot;
}  // namespace rocksdb

namespace probity::ledger {

class StateTree;

struct BytesLess {
  using is_transparent = void;
  bool operator()(ByteView a, ByteView b) const {
    size_t n = a.size() < b.size() ? a.size() : b.size();
    int c = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
    return c < 0 || (c == 0 && a.size() < b.size());
  }
};
inline bool BytesEqual(ByteView a, ByteView b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

using WriteSet = std::map<Bytes, std::optional<Bytes>, BytesLess>;

// The smallest key greater than every key that starts with `prefix` ("" if none exists).
Bytes PrefixEnd(ByteView prefix);

// Committed state as it is in the "flat" column family (full keys), optionally at a
// snapshot. Not owning.
class FlatReader final : public KvReader {
 public:
  FlatReader(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
             const rocksdb::Snapshot* snapshot = nullptr)
      : db_(db), cf_(cf), snapshot_(snapshot) {}
  Result<std::optional<Bytes>> Get(ByteView key) const override;
  Status Scan(ByteView begin, ByteView end,
              const std::function<bool(ByteView, ByteView)>& fn) const override;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
  const rocksdb::Snapshot* snapshot_;
};

// Committed state at an older version, read from the state tree; no scans.
class TreeReader final : public KvReader {
 public:
  TreeReader(const StateTree* tree, uint64_t version) : tree_(tree), version_(version) {}
  Result<std::optional<Bytes>> Get(ByteView key) const override;
  Status Scan(ByteView begin, ByteView end,
              const std::function<bool(ByteView, ByteView)>& fn) const override;

 private:
  const StateTree* tree_;
  uint64_t version_;
};

// Uncommitted writes over a parent view (full keys).
class Layer final : public KvStore {
 public:
  explicit Layer(const KvReader* parent) : parent_(parent) {}
  Result<std::optional<Bytes>> Get(ByteView key) const override;
  Status Scan(ByteView begin, ByteView end,
              const std::function<bool(ByteView, ByteView)>& fn) const override;
  void Set(ByteView key, ByteView value) override;
  void Delete(ByteView key) override;

  // Starts (or continues) journaling; every write from now on can be undone down to the
  // returned mark.
  size_t Mark();
  // Undoes the writes made since `mark`, newest first.
  void Rollback(size_t mark);
  // Keeps every write so far and stops journaling.
  void ForgetJournal();

  // Moves this layer's writes into `parent` (which must be this layer's parent view).
  void MergeInto(Layer* parent);
  const WriteSet& writes() const { return writes_; }
  WriteSet& mutable_writes() { return writes_; }

 private:
  // How to undo one write: the entry it touched, and the value it had (nullopt: the entry did
  // not exist and must be erased). Map iterators stay valid until their own erase, which
  // rollback (newest first) reaches only after every later change to the entry.
  struct Undo {
    WriteSet::iterator it;
    std::optional<std::optional<Bytes>> previous;
  };
  void Write(ByteView key, std::optional<Bytes> value);

  const KvReader* parent_;
  WriteSet writes_;
  std::vector<Undo> journal_;
  bool journaling_ = false;
};

// kOk when [begin, end) (relative to a module's slice) lies inside one of `allowed`
// (the module's ScanPrefixes); kFailedPrecondition naming the module otherwise.
Status CheckScanRange(const std::vector<std::string>& allowed, std::string_view module,
                      ByteView begin, ByteView end);

// A module's slice: prepends "<module>/" to every key. A read error is recorded in `*fatal`
// (the first one wins) so that the ledger abandons the block whatever the module does.
class PrefixedStore final : public KvStore {
 public:
  PrefixedStore(KvStore* inner, std::string prefix, const std::vector<std::string>* scannable,
                Status* fatal)
      : inner_(inner), prefix_(std::move(prefix)), scannable_(scannable), fatal_(fatal) {}
  Result<std::optional<Bytes>> Get(ByteView key) const override;
  Status Scan(ByteView begin, ByteView end,
              const std::function<bool(ByteView, ByteView)>& fn) const override;
  void Set(ByteView key, ByteView value) override;
  void Delete(ByteView key) override;

 private:
  Bytes Full(ByteView key) const;
  KvStore* inner_;
  std::string prefix_;
  const std::vector<std::string>* scannable_;
  Status* fatal_;
};

// Read-only prefixed view for queries.
class PrefixedReader final : public KvReader {
 public:
  PrefixedReader(const KvReader* inner, std::string prefix,
                 const std::vector<std::string>* scannable)
      : inner_(inner), prefix_(std::move(prefix)), scannable_(scannable) {}
  Result<std::optional<Bytes>> Get(ByteView key) const override;
  Status Scan(ByteView begin, ByteView end,
              const std::function<bool(ByteView, ByteView)>& fn) const override;

 private:
  const KvReader* inner_;
  std::string prefix_;
  const std::vector<std::string>* scannable_;
};

// Committed state at a RocksDB snapshot: values from the tree at `version`, scans from the
// flat column family as of the snapshot (which holds that same version).
class SnapshotReader final : public KvReader {
 public:
  SnapshotReader(const StateTree* tree, uint64_t version, rocksdb::DB* db,
                 rocksdb::ColumnFamilyHandle* flat, const rocksdb::Snapshot* snapshot)
      : tree_(tree, version), flat_(db, flat, snapshot) {}
  Result<std::optional<Bytes>> Get(ByteView key) const override { return tree_.Get(key); }
  Status Scan(ByteView begin, ByteView end,
              const std::function<bool(ByteView, ByteView)>& fn) const override {
    return flat_.Scan(begin, end, fn);
  }

 private:
  TreeReader tree_;
  FlatReader flat_;
};

}  // namespace probity::ledger
