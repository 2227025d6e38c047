#include "state_layers.h"

#include <rocksdb/db.h>

#include "probity/ledger/state_tree.h"
#include "rocks_status.h"

namespace probity::ledger {

Bytes PrefixEnd(ByteView prefix) {
  Bytes end(prefix.begin(), prefix.end());
  while (!end.empty()) {
    if (end.back() != 0xFF) {
      ++end.back();
      return end;
    }
    end.pop_back();
  }
  return end;
}

Status ScanPrefix(const KvReader& reader, ByteView prefix,
                  const std::function<bool(ByteView, ByteView)>& fn) {
  Bytes end = PrefixEnd(prefix);
  if (end.empty() && !prefix.empty()) {
    // All 0xFF: nothing sorts after it but its own extensions; scan to the end of the view.
    return reader.Scan(prefix, {}, fn);
  }
  return reader.Scan(prefix, end, fn);
}

Status CheckScanRange(const std::vector<std::string>& allowed, std::string_view module,
                      ByteView begin, ByteView end) {
  BytesLess less;
  for (const auto& p : allowed) {
    ByteView pv = AsBytes(p);
    if (begin.size() < pv.size() || !BytesEqual(begin.subspan(0, pv.size()), pv)) continue;
    if (p.empty()) return Status::OK();
    Bytes limit = PrefixEnd(pv);
    if (end.empty()) {
      if (limit.empty()) return Status::OK();
      continue;
    }
    if (limit.empty() || !less(limit, end)) return Status::OK();
  }
  return Status::FailedPrecondition("module " + std::string(module) +
                                    " scans outside the prefixes it declares in ScanPrefixes()");
}

Result<std::optional<Bytes>> FlatReader::Get(ByteView key) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  rocksdb::PinnableSlice value;
  rocksdb::Status s = db_->Get(
      ro, cf_, rocksdb::Slice(reinterpret_cast<const char*>(key.data()), key.size()), &value);
  if (s.IsNotFound()) return std::optional<Bytes>();
  if (!s.ok()) return FromRocks(s, "read state");
  return std::optional<Bytes>(Bytes(value.data(), value.data() + value.size()));
}

Status FlatReader::Scan(ByteView begin, ByteView end,
                        const std::function<bool(ByteView, ByteView)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snapshot_;
  rocksdb::Slice upper(reinterpret_cast<const char*>(end.data()), end.size());
  if (!end.empty()) ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  for (it->Seek(rocksdb::Slice(reinterpret_cast<const char*>(begin.data()), begin.size()));
       it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key(), v = it->value();
    if (!fn(ByteView(reinterpret_cast<const uint8_t*>(k.data()), k.size()),
            ByteView(reinterpret_cast<const uint8_t*>(v.data()), v.size()))) {
      break;
    }
  }
  return FromRocks(it->status(), "scan state");
}

Result<std::optional<Bytes>> TreeReader::Get(ByteView key) const {
  return tree_->Get(version_, key);
}

Status TreeReader::Scan(ByteView, ByteView, const std::function<bool(ByteView, ByteView)>&) const {
  return Status::Unsupported("scans are only available at the latest height");
}

Result<std::optional<Bytes>> Layer::Get(ByteView key) const {
  auto it = writes_.find(key);
  if (it != writes_.end()) return it->second;
  return parent_->Get(key);
}

Status Layer::Scan(ByteView begin, ByteView end,
                   const std::function<bool(ByteView, ByteView)>& fn) const {
  BytesLess less;
  auto it = writes_.lower_bound(begin);
  auto in_range = [&](const Bytes& k) { return end.empty() || less(k, end); };
  bool stopped = false;
  Status st = parent_->Scan(begin, end, [&](ByteView k, ByteView v) {
    while (it != writes_.end() && in_range(it->first) && less(it->first, k)) {
      if (it->second && !fn(it->first, *it->second)) {
        stopped = true;
        return false;
      }
      ++it;
    }
    if (it != writes_.end() && BytesEqual(it->first, k)) {
      const std::optional<Bytes>& mine = it->second;
      ++it;
      if (mine && !fn(k, *mine)) {
        stopped = true;
        return false;
      }
      return true;
    }
    if (!fn(k, v)) {
      stopped = true;
      return false;
    }
    return true;
  });
  if (!st.ok() || stopped) return st;
  for (; it != writes_.end() && in_range(it->first); ++it) {
    if (it->second && !fn(it->first, *it->second)) break;
  }
  return Status::OK();
}

void Layer::Write(ByteView key, std::optional<Bytes> value) {
  // One search: the insert goes in at the position the lookup found.
  auto it = writes_.lower_bound(key);
  if (it != writes_.end() && BytesEqual(it->first, key)) {
    if (journaling_) journal_.push_back({it, std::move(it->second)});
    it->second = std::move(value);
    return;
  }
  it = writes_.emplace_hint(it, Bytes(key.begin(), key.end()), std::move(value));
  if (journaling_) journal_.push_back({it, std::nullopt});
}

void Layer::Set(ByteView key, ByteView value) {
  Write(key, std::optional<Bytes>(Bytes(value.begin(), value.end())));
}

void Layer::Delete(ByteView key) { Write(key, std::nullopt); }

size_t Layer::Mark() {
  journaling_ = true;
  return journal_.size();
}

void Layer::Rollback(size_t mark) {
  while (journal_.size() > mark) {
    Undo& u = journal_.back();
    if (u.previous) {
      u.it->second = std::move(*u.previous);
    } else {
      writes_.erase(u.it);
    }
    journal_.pop_back();
  }
}

void Layer::ForgetJournal() {
  journal_.clear();
  journaling_ = false;
}

void Layer::MergeInto(Layer* parent) {
  if (parent->writes_.empty()) {
    parent->writes_.swap(writes_);
    return;
  }
  for (auto& [k, v] : writes_) parent->writes_.insert_or_assign(k, std::move(v));
  writes_.clear();
}

Bytes PrefixedStore::Full(ByteView key) const {
  Bytes full;
  full.reserve(prefix_.size() + key.size());
  full.insert(full.end(), prefix_.begin(), prefix_.end());
  full.insert(full.end(), key.begin(), key.end());
  return full;
}

Result<std::optional<Bytes>> PrefixedStore::Get(ByteView key) const {
  auto r = inner_->Get(Full(key));
  if (!r.ok() && fatal_->ok()) *fatal_ = r.status();
  return r;
}

Status PrefixedStore::Scan(ByteView begin, ByteView end,
                           const std::function<bool(ByteView, ByteView)>& fn) const {
  PROBITY_RETURN_IF_ERROR(CheckScanRange(*scannable_, prefix_, begin, end));
  Bytes b = Full(begin);
  Bytes e = end.empty() ? PrefixEnd(AsBytes(prefix_)) : Full(end);
  size_t n = prefix_.size();
  Status st = inner_->Scan(b, e, [&](ByteView k, ByteView v) { return fn(k.subspan(n), v); });
  if (!st.ok() && fatal_->ok()) *fatal_ = st;
  return st;
}

void PrefixedStore::Set(ByteView key, ByteView value) { inner_->Set(Full(key), value); }
void PrefixedStore::Delete(ByteView key) { inner_->Delete(Full(key)); }

Result<std::optional<Bytes>> PrefixedReader::Get(ByteView key) const {
  Bytes full(prefix_.begin(), prefix_.end());
  full.insert(full.end(), key.begin(), key.end());
  return inner_->Get(full);
}

Status PrefixedReader::Scan(ByteView begin, ByteView end,
                            const std::function<bool(ByteView, ByteView)>& fn) const {
  PROBITY_RETURN_IF_ERROR(CheckScanRange(*scannable_, prefix_, begin, end));
  Bytes b(prefix_.begin(), prefix_.end());
  b.insert(b.end(), begin.begin(), begin.end());
  Bytes e;
  if (end.empty()) {
    e = PrefixEnd(AsBytes(prefix_));
  } else {
    e.assign(prefix_.begin(), prefix_.end());
    e.insert(e.end(), end.begin(), end.end());
  }
  size_t n = prefix_.size();
  return inner_->Scan(b, e, [&](ByteView k, ByteView v) { return fn(k.subspan(n), v); });
}

}  // namespace probity::ledger
