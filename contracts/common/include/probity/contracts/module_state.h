// Typed access to a module's slice of state, shared by the marketplace modules (staking,
// market, jobs): ordered keys, protobuf records, u64 counters, and the fixed-size ids that
// messages carry as proto `bytes`.
//
// Keys are built big-endian so that KvReader::Scan walks them in numeric order (the order
// book's price-time priority, the timers' heights). Records are stored in protobuf's
// deterministic encoding (ledger/canonical_proto.h), so two nodes write the same bytes.
//
// Thread-safety: stateless functions; the stores passed in follow ledger/module.h.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "probity/ledger/module.h"
#include "probity/primitives/bytes.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"

namespace probity::contracts {

// Builds a state key: a text prefix followed by fixed-width parts.
class KeyBuilder {
 public:
  explicit KeyBuilder(std::string_view prefix);
  KeyBuilder& Bytes32(const Hash256& h);
  KeyBuilder& Raw(ByteView b);
  KeyBuilder& U64(uint64_t v);  // big-endian: numeric order is byte order
  KeyBuilder& U8(uint8_t v);
  const Bytes& key() const { return key_; }
  Bytes Take() { return std::move(key_); }

 private:
  Bytes key_;
};

// The smallest key greater than every key that starts with `prefix` (empty if none exists).
Bytes PrefixSuccessor(ByteView prefix);

// Timers: deadlines and expiries that a module's EndBlock acts on. A timer is a key
//   prefix || u64be height || u8 kind || id(32)
// (no value), so a scan from the prefix walks timers in height order and stops at the block.
struct DueTimer {
  Bytes key;  // the full key, for deleting the timer once handled
  uint64_t height = 0;
  uint8_t kind = 0;
  Hash256 id{};
};
Bytes TimerKey(std::string_view prefix, uint64_t height, uint8_t kind, const Hash256& id);
// Every timer under `prefix` due at or before `height`, in key order. kCorruption for an entry
// that is not a timer.
Result<std::vector<DueTimer>> DueTimers(const ledger::KvReader& store, std::string_view prefix,
                                        uint64_t height);

// Reads a record: false when absent; kCorruption when the stored bytes do not parse.
Result<bool> GetRecord(const ledger::KvReader& store, ByteView key,
                       google::protobuf::Message* record);
void PutRecord(ledger::KvStore& store, ByteView key, const google::protobuf::Message& record);

// A u64 stored as 8 little-endian bytes; absent reads as 0 and PutCounter(0) deletes.
Result<uint64_t> GetCounter(const ledger::KvReader& store, ByteView key);
void PutCounter(ledger::KvStore& store, ByteView key, uint64_t value);

// A 32-byte id or key carried in a proto `bytes` field. kInvalidArgument naming `what` when the
// size is wrong.
Result<Hash256> ParseHash(const std::string& field, std::string_view what);
// As ParseHash, and the key must be a valid x-only public key.
Result<XOnlyPubKey> ParseAccount(const std::string& field, std::string_view what);
inline std::string HashField(const Hash256& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

// floor(amount * ppm / 1,000,000) without overflow. REQUIRES: ppm <= 1,000,000.
uint64_t PartPerMillion(uint64_t amount, uint32_t ppm);
inline constexpr uint32_t kMillion = 1'000'000;

// Checked arithmetic for amounts: kOutOfRange naming `what` on overflow.
Result<uint64_t> CheckedMul(uint64_t a, uint64_t b, std::string_view what);
Result<uint64_t> CheckedAdd(uint64_t a, uint64_t b, std::string_view what);

// Parses a module's genesis section (protobuf JSON mapping, unknown fields refused).
Status ParseGenesisJson(std::string_view module, std::string_view json,
                        google::protobuf::Message* out);
// The JSON mapping of `message` (64-bit numbers as strings, defaults written out).
std::string ToGenesisJson(const google::protobuf::Message& message);

// Builds an event. Accounts are indexed as bech32m addresses (so that the node's account
// filter finds them); ids are written in hex and indexed too.
class EventBuilder {
 public:
  explicit EventBuilder(std::string type);
  EventBuilder& Account(std::string key, const XOnlyPubKey& account);
  EventBuilder& Id(std::string key, const Hash256& id);
  EventBuilder& Attr(std::string key, std::string value);
  EventBuilder& Number(std::string key, uint64_t value);
  void EmitTo(ledger::Context& ctx);

 private:
  types::v1::Event event_;
};

}  // namespace probity::contracts
