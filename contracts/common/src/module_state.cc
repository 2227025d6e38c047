#include "probity/contracts/module_state.h"

#include <google/protobuf/util/json_util.h>

#include <cstring>
#include <unordered_map>

#include "probity/ledger/canonical_proto.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"

namespace probity::contracts {
namespace {

struct KeyHash {
  size_t operator()(const XOnlyPubKey& k) const {
    size_t v;
    std::memcpy(&v, k.data(), sizeof(v));
    return v;
  }
};

}  // namespace

KeyBuilder::KeyBuilder(std::string_view prefix) : key_(prefix.begin(), prefix.end()) {
  key_.reserve(prefix.size() + 80);
}

KeyBuilder& KeyBuilder::Bytes32(const Hash256& h) { return Raw(h); }

KeyBuilder& KeyBuilder::Raw(ByteView b) {
  size_t at = key_.size();
  key_.resize(at + b.size());
  if (!b.empty()) std::memcpy(key_.data() + at, b.data(), b.size());
  return *this;
}

KeyBuilder& KeyBuilder::U64(uint64_t v) {
  uint8_t b[8];
  PutU64BE(b, v);
  return Raw(ByteView(b, 8));
}

KeyBuilder& KeyBuilder::U8(uint8_t v) {
  key_.push_back(v);
  return *this;
}

Bytes TimerKey(std::string_view prefix, uint64_t height, uint8_t kind, const Hash256& id) {
  return KeyBuilder(prefix).U64(height).U8(kind).Bytes32(id).Take();
}

Result<std::vector<DueTimer>> DueTimers(const ledger::KvReader& store, std::string_view prefix,
                                        uint64_t height) {
  const Bytes begin = KeyBuilder(prefix).Take();
  const Bytes end = KeyBuilder(prefix).U64(height + 1).Take();
  const size_t n = prefix.size();
  std::vector<DueTimer> due;
  Status bad;
  PROBITY_RETURN_IF_ERROR(store.Scan(begin, end, [&](ByteView k, ByteView) {
    if (k.size() != n + 8 + 1 + 32) {
      bad = Status::Corruption("malformed timer under '" + std::string(prefix) + "'");
      return false;
    }
    DueTimer d{ToBytes(k), GetU64BE(k.data() + n), k[n + 8], {}};
    std::memcpy(d.id.data(), k.data() + n + 9, 32);
    due.push_back(std::move(d));
    return true;
  }));
  PROBITY_RETURN_IF_ERROR(bad);
  return due;
}

Bytes PrefixSuccessor(ByteView prefix) {
  Bytes end(prefix.begin(), prefix.end());
  while (!end.empty()) {
    if (end.back() != 0xff) {
      ++end.back();
      return end;
    }
    end.pop_back();
  }
  return end;
}

Result<bool> GetRecord(const ledger::KvReader& store, ByteView key,
                       google::protobuf::Message* record) {
  PROBITY_ASSIGN_OR_RETURN(auto v, store.Get(key));
  if (!v) return false;
  if (!record->ParseFromArray(v->data(), static_cast<int>(v->size()))) {
    return Status::Corruption("stored " + std::string(record->GetTypeName()) + " does not parse");
  }
  return true;
}

void PutRecord(ledger::KvStore& store, ByteView key, const google::protobuf::Message& record) {
  store.Set(key, AsBytes(ledger::SerializeCanonical(record)));
}

Result<uint64_t> GetCounter(const ledger::KvReader& store, ByteView key) {
  PROBITY_ASSIGN_OR_RETURN(auto v, store.Get(key));
  if (!v) return uint64_t{0};
  if (v->size() != 8) return Status::Corruption("stored counter is not 8 bytes");
  return GetU64LE(v->data());
}

void PutCounter(ledger::KvStore& store, ByteView key, uint64_t value) {
  if (value == 0) {
    store.Delete(key);
    return;
  }
  uint8_t b[8];
  PutU64LE(b, value);
  store.Set(key, ByteView(b, 8));
}

Result<Hash256> ParseHash(const std::string& field, std::string_view what) {
  if (field.size() != 32) {
    return Status::InvalidArgument(std::string(what) + " must be 32 bytes, got " +
                                   std::to_string(field.size()));
  }
  Hash256 h;
  std::memcpy(h.data(), field.data(), 32);
  return h;
}

Result<XOnlyPubKey> ParseAccount(const std::string& field, std::string_view what) {
  PROBITY_ASSIGN_OR_RETURN(Hash256 h, ParseHash(field, what));
  XOnlyPubKey k = h;
  if (!ValidateXOnlyPubKey(k).ok()) {
    return Status::InvalidArgument(std::string(what) + " is not a valid public key");
  }
  return k;
}

uint64_t PartPerMillion(uint64_t amount, uint32_t ppm) {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(amount) * ppm / kMillion);
}

Result<uint64_t> CheckedMul(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) {
    return Status::OutOfRange(std::string(what) + " overflows 2^64-1");
  }
  return r;
}

Result<uint64_t> CheckedAdd(uint64_t a, uint64_t b, std::string_view what) {
  uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    return Status::OutOfRange(std::string(what) + " overflows 2^64-1");
  }
  return r;
}

Status ParseGenesisJson(std::string_view module, std::string_view json,
                        google::protobuf::Message* out) {
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(std::string(json), out, opts);
  if (!st.ok()) {
    return Status::InvalidArgument(std::string(module) + " genesis: " + std::string(st.message()));
  }
  return Status::OK();
}

std::string ToGenesisJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, opts);
  return out;
}

namespace {

// bech32m encoding costs about a microsecond and the same few accounts (providers, verifiers,
// busy buyers) appear in most events, so encodings are remembered, per thread, up to a bound.
const std::string& CachedAddress(const XOnlyPubKey& account) {
  constexpr size_t kMaxEntries = 1 << 14;
  thread_local std::unordered_map<XOnlyPubKey, std::string, KeyHash> cache;
  auto it = cache.find(account);
  if (it != cache.end()) return it->second;
  if (cache.size() >= kMaxEntries) cache.clear();
  return cache.emplace(account, EncodeAddress(account)).first->second;
}

}  // namespace

EventBuilder::EventBuilder(std::string type) { event_.set_type(std::move(type)); }

EventBuilder& EventBuilder::Account(std::string key, const XOnlyPubKey& account) {
  auto* a = event_.add_attributes();
  a->set_key(std::move(key));
  a->set_value(CachedAddress(account));
  a->set_index(true);
  return *this;
}

EventBuilder& EventBuilder::Id(std::string key, const Hash256& id) {
  auto* a = event_.add_attributes();
  a->set_key(std::move(key));
  a->set_value(ToHex(id));
  a->set_index(true);
  return *this;
}

EventBuilder& EventBuilder::Attr(std::string key, std::string value) {
  auto* a = event_.add_attributes();
  a->set_key(std::move(key));
  a->set_value(std::move(value));
  return *this;
}

EventBuilder& EventBuilder::Number(std::string key, uint64_t value) {
  return Attr(std::move(key), std::to_string(value));
}

void EventBuilder::EmitTo(ledger::Context& ctx) { ctx.Emit(std::move(event_)); }

}  // namespace probity::contracts
