// The block store, tx index and event index, in the "chain" column family.
//
// Keys (heights and positions big-endian, so that RocksDB's order is numeric order):
//   "B" height:u64                               -> serialised types.v1.Block
//   "R" height:u64                               -> serialised types.v1.BlockResults
//   "H" block_hash[32]                           -> height:u64
//   "T" tx_id[32]                                -> height:u64 index:u32
//   "E" len:u16 type  height:u64                 -> (slot:u32 ev:u32)*  events of that type
//   "V" len:u16 value height:u64                 -> (slot:u32 ev:u32)*  events carrying that
//                                                    value in an indexed attribute
// A position's slot is 0 for begin-block events, i+1 for transaction i, tx_count+1 for
// end-block events; positions in an entry are in order. One entry per term and block keeps a
// block of 5,000 transfers at one "E" key instead of 5,000. Nothing is ever overwritten: a
// block is written once, in the same batch as its state (ChainApp::Commit).
//
// Thread-safety: reads are safe from any thread; AddBlock only builds a batch.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "probity/ledger/storage.h"
#include "probity/primitives/bytes.h"
#include "probity/primitives/status.h"
#include "probity/types/v1/result.pb.h"

namespace probity::ledger {

struct TxLocation {
  uint64_t height = 0;
  uint32_t index = 0;
};

struct EventPosition {
  uint64_t height = 0;
  uint32_t slot = 0;
  uint32_t event_index = 0;
  bool operator<(const EventPosition& o) const {
    if (height != o.height) return height < o.height;
    if (slot != o.slot) return slot < o.slot;
    return event_index < o.event_index;
  }
  bool operator==(const EventPosition& o) const = default;
};

class BlockStore {
 public:
  explicit BlockStore(Storage* storage) : storage_(storage) {}

  // Adds everything about one block to `batch`.
  void AddBlock(rocksdb::WriteBatch* batch, uint64_t height, ByteView block_bytes,
                const Hash256& block_hash, std::span<const Hash256> tx_ids,
                const types::v1::BlockResults& results) const;

  // The highest stored block (0 when none).
  Result<uint64_t> LastHeight() const;
  Result<std::optional<Bytes>> GetBlock(uint64_t height) const;
  Result<std::optional<types::v1::BlockResults>> GetResults(uint64_t height) const;
  Result<std::optional<TxLocation>> FindTx(const Hash256& tx_id) const;
  Result<std::optional<uint64_t>> FindBlock(const Hash256& block_hash) const;

  // Visits indexed event positions >= `from` whose type is `type` (ByType) or that carry an
  // indexed attribute with value `value` (ByValue), in order, until fn returns false.
  Status ScanEventsByType(std::string_view type, EventPosition from,
                          const std::function<bool(const EventPosition&)>& fn) const;
  Status ScanEventsByValue(std::string_view value, EventPosition from,
                           const std::function<bool(const EventPosition&)>& fn) const;

 private:
  Status ScanIndex(char tag, std::string_view term, EventPosition from,
                   const std::function<bool(const EventPosition&)>& fn) const;
  Storage* storage_;
};

}  // namespace probity::ledger
