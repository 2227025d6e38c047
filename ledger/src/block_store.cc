#include "probity/ledger/block_store.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <map>

#include "probity/primitives/encoding.h"
#include "rocks_status.h"
#include "state_layers.h"

namespace probity::ledger {
namespace {

std::string HeightKey(char tag, uint64_t h) {
  std::string k(9, '\0');
  k[0] = tag;
  PutU64BE(reinterpret_cast<uint8_t*>(k.data() + 1), h);
  return k;
}

std::string HashKey(char tag, const Hash256& h) {
  std::string k(1, tag);
  k.append(reinterpret_cast<const char*>(h.data()), 32);
  return k;
}

// tag len:u16 term (terms longer than 65535 bytes are cut: they are indexed by their prefix).
std::string TermPrefix(char tag, std::string_view term) {
  if (term.size() > 0xFFFF) term = term.substr(0, 0xFFFF);
  std::string k(1, tag);
  k.push_back(static_cast<char>(term.size() >> 8));
  k.push_back(static_cast<char>(term.size() & 0xFF));
  k.append(term);
  return k;
}

void AppendU32BE(std::string* k, uint32_t v) {
  k->push_back(static_cast<char>(v >> 24));
  k->push_back(static_cast<char>(v >> 16));
  k->push_back(static_cast<char>(v >> 8));
  k->push_back(static_cast<char>(v));
}

void AppendU64BE(std::string* k, uint64_t v) {
  uint8_t b[8];
  PutU64BE(b, v);
  k->append(reinterpret_cast<const char*>(b), 8);
}

uint32_t GetU32BE(const uint8_t* b) {
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
}

// term prefix -> packed positions, for one block. Ordered (and so written in key order): the
// terms are chosen by users (addresses in events), and a hash table keyed by them could be
// flooded into one bucket.
using IndexEntries = std::map<std::string, std::string>;

void IndexEvents(IndexEntries* entries, uint32_t slot,
                 const google::protobuf::RepeatedPtrField<types::v1::Event>& events) {
  for (int i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    auto add = [&](std::string term) {
      std::string& packed = (*entries)[std::move(term)];
      // An event with the same value in two indexed attributes is listed once.
      size_t n = packed.size();
      if (n >= 8 && GetU32BE(reinterpret_cast<const uint8_t*>(packed.data() + n - 8)) == slot &&
          GetU32BE(reinterpret_cast<const uint8_t*>(packed.data() + n - 4)) ==
              static_cast<uint32_t>(i)) {
        return;
      }
      AppendU32BE(&packed, slot);
      AppendU32BE(&packed, static_cast<uint32_t>(i));
    };
    add(TermPrefix('E', e.type()));
    for (const auto& a : e.attributes()) {
      if (a.index()) add(TermPrefix('V', a.value()));
    }
  }
}

}  // namespace

void BlockStore::AddBlock(rocksdb::WriteBatch* batch, uint64_t height, ByteView block_bytes,
                          const Hash256& block_hash, std::span<const Hash256> tx_ids,
                          const types::v1::BlockResults& results) const {
  rocksdb::ColumnFamilyHandle* cf = storage_->chain();
  batch->Put(cf, HeightKey('B', height),
             rocksdb::Slice(reinterpret_cast<const char*>(block_bytes.data()), block_bytes.size()));
  batch->Put(cf, HeightKey('R', height), results.SerializeAsString());
  std::string hb(8, '\0');
  PutU64BE(reinterpret_cast<uint8_t*>(hb.data()), height);
  batch->Put(cf, HashKey('H', block_hash), hb);
  // In key order: RocksDB's memtable remembers where its last insert landed, so sorted keys
  // insert next to each other instead of each searching the skip list from the top.
  std::vector<uint32_t> order(tx_ids.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(),
            [&](uint32_t a, uint32_t b) { return tx_ids[a] < tx_ids[b]; });
  for (uint32_t i : order) {
    std::string loc(12, '\0');
    PutU64BE(reinterpret_cast<uint8_t*>(loc.data()), height);
    PutU32LE(reinterpret_cast<uint8_t*>(loc.data() + 8), i);
    batch->Put(cf, HashKey('T', tx_ids[i]), loc);
  }
  IndexEntries entries;
  IndexEvents(&entries, 0, results.begin_block_events());
  for (int i = 0; i < results.tx_results_size(); ++i) {
    IndexEvents(&entries, static_cast<uint32_t>(i) + 1, results.tx_results(i).events());
  }
  IndexEvents(&entries, static_cast<uint32_t>(results.tx_results_size()) + 1,
              results.end_block_events());
  for (const auto& [term, packed] : entries) {
    std::string key = term;
    AppendU64BE(&key, height);
    batch->Put(cf, key, packed);
  }
}

Result<uint64_t> BlockStore::LastHeight() const {
  std::unique_ptr<rocksdb::Iterator> it(
      storage_->db()->NewIterator(rocksdb::ReadOptions(), storage_->chain()));
  it->SeekForPrev(HeightKey('B', UINT64_MAX));
  if (!it->status().ok()) return FromRocks(it->status(), "find the last block");
  if (!it->Valid() || it->key().size() != 9 || it->key()[0] != 'B') return uint64_t{0};
  return GetU64BE(reinterpret_cast<const uint8_t*>(it->key().data() + 1));
}

Result<std::optional<Bytes>> BlockStore::GetBlock(uint64_t height) const {
  rocksdb::PinnableSlice v;
  rocksdb::Status s =
      storage_->db()->Get(rocksdb::ReadOptions(), storage_->chain(), HeightKey('B', height), &v);
  if (s.IsNotFound()) return std::optional<Bytes>();
  if (!s.ok()) return FromRocks(s, "read block " + std::to_string(height));
  return std::optional<Bytes>(Bytes(v.data(), v.data() + v.size()));
}

Result<std::optional<types::v1::BlockResults>> BlockStore::GetResults(uint64_t height) const {
  rocksdb::PinnableSlice v;
  rocksdb::Status s =
      storage_->db()->Get(rocksdb::ReadOptions(), storage_->chain(), HeightKey('R', height), &v);
  if (s.IsNotFound()) return std::optional<types::v1::BlockResults>();
  if (!s.ok()) return FromRocks(s, "read results of block " + std::to_string(height));
  types::v1::BlockResults r;
  if (!r.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
    return Status::Corruption("stored results of block " + std::to_string(height) +
                              " do not parse");
  }
  return std::optional<types::v1::BlockResults>(std::move(r));
}

Result<std::optional<TxLocation>> BlockStore::FindTx(const Hash256& tx_id) const {
  std::string v;
  rocksdb::Status s =
      storage_->db()->Get(rocksdb::ReadOptions(), storage_->chain(), HashKey('T', tx_id), &v);
  if (s.IsNotFound()) return std::optional<TxLocation>();
  if (!s.ok()) return FromRocks(s, "read the tx index");
  if (v.size() != 12) return Status::Corruption("tx index entry is not 12 bytes");
  TxLocation loc;
  loc.height = GetU64BE(reinterpret_cast<const uint8_t*>(v.data()));
  loc.index = GetU32LE(reinterpret_cast<const uint8_t*>(v.data() + 8));
  return std::optional<TxLocation>(loc);
}

Result<std::optional<uint64_t>> BlockStore::FindBlock(const Hash256& block_hash) const {
  std::string v;
  rocksdb::Status s =
      storage_->db()->Get(rocksdb::ReadOptions(), storage_->chain(), HashKey('H', block_hash), &v);
  if (s.IsNotFound()) return std::optional<uint64_t>();
  if (!s.ok()) return FromRocks(s, "read the block-hash index");
  if (v.size() != 8) return Status::Corruption("block-hash index entry is not 8 bytes");
  return std::optional<uint64_t>(GetU64BE(reinterpret_cast<const uint8_t*>(v.data())));
}

Status BlockStore::ScanIndex(char tag, std::string_view term, EventPosition from,
                             const std::function<bool(const EventPosition&)>& fn) const {
  std::string prefix = TermPrefix(tag, term);
  std::string start = prefix;
  AppendU64BE(&start, from.height);
  Bytes end = PrefixEnd(AsBytes(prefix));
  rocksdb::ReadOptions ro;
  rocksdb::Slice upper(reinterpret_cast<const char*>(end.data()), end.size());
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(storage_->db()->NewIterator(ro, storage_->chain()));
  for (it->Seek(start); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key(), v = it->value();
    if (k.size() != prefix.size() + 8 || v.size() % 8 != 0) {
      return Status::Corruption("event index entry has a bad size");
    }
    uint64_t height = GetU64BE(reinterpret_cast<const uint8_t*>(k.data() + prefix.size()));
    const uint8_t* p = reinterpret_cast<const uint8_t*>(v.data());
    for (size_t i = 0; i < v.size(); i += 8) {
      EventPosition pos{height, GetU32BE(p + i), GetU32BE(p + i + 4)};
      if (pos < from) continue;
      if (!fn(pos)) return Status::OK();
    }
  }
  return FromRocks(it->status(), "scan the event index");
}

Status BlockStore::ScanEventsByType(std::string_view type, EventPosition from,
                                    const std::function<bool(const EventPosition&)>& fn) const {
  return ScanIndex('E', type, from, fn);
}

Status BlockStore::ScanEventsByValue(std::string_view value, EventPosition from,
                                     const std::function<bool(const EventPosition&)>& fn) const {
  return ScanIndex('V', value, from, fn);
}

}  // namespace probity::ledger
