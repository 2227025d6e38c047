#include "probity/contracts/market.h"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <vector>

#include "probity/contracts/module_state.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/sha256.h"

namespace probity::contracts {
namespace {

using market::v1::HardwareConstraints;
using market::v1::KindPrice;
using market::v1::Offer;
using market::v1::Order;

constexpr std::string_view kMsgPostOffer = "probity.market.v1.MsgPostOffer";
constexpr std::string_view kMsgUpdateOffer = "probity.market.v1.MsgUpdateOffer";
constexpr std::string_view kMsgCancelOffer = "probity.market.v1.MsgCancelOffer";
constexpr std::string_view kMsgPlaceOrder = "probity.market.v1.MsgPlaceOrder";
constexpr std::string_view kMsgCancelOrder = "probity.market.v1.MsgCancelOrder";

constexpr std::string_view kParamsKey = "params";
constexpr std::string_view kSeqKey = "seq";
constexpr uint8_t kExpireOrder = 1;
constexpr uint8_t kExpireOffer = 2;
constexpr size_t kMaxEndpointBytes = 256;
constexpr size_t kMaxClassBytes = 32;
constexpr uint32_t kMaxGpuCount = 1024;
constexpr uint32_t kQueryScanLimit = 10'000;

// Fixed part of the book entries' values: provider or buyer (32) and expires_at (8).
constexpr size_t kAskFixed = 32 + 8;
constexpr size_t kBidFixed = 32 + 8 + 8;  // + units

Bytes OrderKey(const Hash256& id) { return KeyBuilder("o/").Bytes32(id).Take(); }
Bytes OfferKey(const Hash256& id) { return KeyBuilder("f/").Bytes32(id).Take(); }
Bytes AskPrefix(int kind) { return KeyBuilder("ask/").U8(static_cast<uint8_t>(kind)).Take(); }
Bytes BidPrefix(int kind) { return KeyBuilder("bid/").U8(static_cast<uint8_t>(kind)).Take(); }
Bytes AskKey(int kind, uint64_t price, uint64_t seq, const Hash256& offer_id) {
  return KeyBuilder("ask/")
      .U8(static_cast<uint8_t>(kind))
      .U64(price)
      .U64(seq)
      .Bytes32(offer_id)
      .Take();
}
// Highest price first: the complement of the price sorts descending.
Bytes BidKey(int kind, uint64_t price, uint64_t seq, const Hash256& order_id) {
  return KeyBuilder("bid/")
      .U8(static_cast<uint8_t>(kind))
      .U64(~price)
      .U64(seq)
      .Bytes32(order_id)
      .Take();
}
Bytes ProviderOfferKey(const XOnlyPubKey& p, const Hash256& offer_id) {
  return KeyBuilder("po/").Bytes32(p).Bytes32(offer_id).Take();
}
constexpr std::string_view kExpiryPrefix = "ex/";
Bytes ExpiryKey(uint64_t height, uint8_t type, const Hash256& id) {
  return TimerKey(kExpiryPrefix, height, type, id);
}
Bytes TradeCountKey(int kind) { return KeyBuilder("tc/").U8(static_cast<uint8_t>(kind)).Take(); }
Bytes TradeKey(int kind, uint64_t slot) {
  return KeyBuilder("tr/").U8(static_cast<uint8_t>(kind)).U64(slot).Take();
}
Bytes ProviderRecordKey(const XOnlyPubKey& p) { return KeyBuilder("pr/").Bytes32(p).Take(); }

Hash256 FieldHash(const std::string& s) {
  Hash256 h{};
  if (s.size() == 32) std::memcpy(h.data(), s.data(), 32);
  return h;
}

template <typename M>
Result<M> Decode(const types::v1::Msg& msg) {
  M m;
  if (!ledger::ParseCanonical(AsBytes(msg.value()), &m)) {
    return Status::InvalidArgument("not a canonical " + std::string(m.GetTypeName()));
  }
  return m;
}

// In HandleMsg: ValidateMsg already checked the canonical form, so parsing suffices.
template <typename M>
Result<M> DecodeValidated(const types::v1::Msg& msg) {
  M m;
  if (!m.ParseFromString(msg.value())) {
    return Status::InvalidArgument("not a " + std::string(m.GetTypeName()));
  }
  return m;
}

bool ValidKind(int kind) {
  return kind == market::v1::JOB_KIND_TRAIN_CLASSIFIER ||
         kind == market::v1::JOB_KIND_INFER_CLASSIFIER;
}

Status ValidateClass(const std::string& s, std::string_view what, bool allow_empty) {
  if (s.empty() && allow_empty) return Status::OK();
  if (s.empty() || s.size() > kMaxClassBytes) {
    return Status::InvalidArgument(std::string(what) + " must be 1 to 32 characters");
  }
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
      return Status::InvalidArgument(std::string(what) + " '" + s + "' is not [a-z0-9._-]");
    }
  }
  return Status::OK();
}

Status ValidatePrices(const google::protobuf::RepeatedPtrField<KindPrice>& prices) {
  if (prices.empty()) return Status::InvalidArgument("an offer needs at least one job kind");
  int last = 0;
  for (const auto& kp : prices) {
    if (!ValidKind(kp.kind())) {
      return Status::InvalidArgument("unknown job kind " + std::to_string(kp.kind()));
    }
    if (kp.kind() <= last) {
      return Status::InvalidArgument("job kinds must be listed once each, in increasing order");
    }
    if (kp.price_per_unit() == 0) return Status::OutOfRange("a price must be positive");
    last = kp.kind();
  }
  return Status::OK();
}

bool Meets(const market::v1::Hardware& hw, const HardwareConstraints& c) {
  return (c.gpu_model().empty() || c.gpu_model() == hw.gpu_model()) &&
         hw.gpu_count() >= c.min_gpu_count() && hw.memory_mib() >= c.min_memory_mib() &&
         hw.compute_capability() >= c.min_compute_capability() &&
         hw.throughput() >= c.min_throughput();
}

Status CheckPriceRange(uint64_t price, const market::v1::Params& p) {
  if (price == 0 || price > p.max_price_per_unit()) {
    return Status::OutOfRange("price " + std::to_string(price) + " per unit is outside 1.." +
                              std::to_string(p.max_price_per_unit()));
  }
  return Status::OK();
}

Status CheckExpiry(uint64_t expires_at, uint64_t height, uint64_t max_lifetime,
                   std::string_view what) {
  if (expires_at <= height || expires_at - height > max_lifetime) {
    return Status::OutOfRange(std::string(what) + " expires_at " + std::to_string(expires_at) +
                              " must be in (" + std::to_string(height) + ", " +
                              std::to_string(height + max_lifetime) + "]");
  }
  return Status::OK();
}

Result<market::v1::Params> LoadParams(const ledger::KvReader& store) {
  market::v1::Params p;
  PROBITY_ASSIGN_OR_RETURN(bool found, GetRecord(store, AsBytes(kParamsKey), &p));
  if (!found) return Status::Corruption("market params missing from state");
  return p;
}

Result<uint64_t> NextSeq(ledger::KvStore& store) {
  PROBITY_ASSIGN_OR_RETURN(uint64_t seq, GetCounter(store, AsBytes(kSeqKey)));
  PutCounter(store, AsBytes(kSeqKey), seq + 1);
  return seq + 1;
}

Bytes AskValue(const Offer& offer) {
  std::string hw = ledger::SerializeCanonical(offer.hardware());
  Bytes v(kAskFixed + hw.size());
  std::memcpy(v.data(), offer.provider().data(), 32);
  PutU64LE(v.data() + 32, offer.expires_at());
  if (!hw.empty()) std::memcpy(v.data() + kAskFixed, hw.data(), hw.size());
  return v;
}

Bytes BidValue(const Order& order) {
  std::string c = ledger::SerializeCanonical(order.constraints());
  Bytes v(kBidFixed + c.size());
  std::memcpy(v.data(), order.buyer().data(), 32);
  PutU64LE(v.data() + 32, order.expires_at());
  PutU64LE(v.data() + 40, order.units());
  if (!c.empty()) std::memcpy(v.data() + kBidFixed, c.data(), c.size());
  return v;
}

// Each side of each kind's book keeps its best entry (key, then value) under
// "top/" + side + kind, so that an order usually matches with one read instead of an iterator,
// and a walk over the book starts at the best entry. Kept exact by every change of the book
// (AddEntry, RemoveEntry; an entry's value never changes in place).
enum class Side : uint8_t { kAsk = 'a', kBid = 'b' };
constexpr size_t kBookKeyBytes = 4 + 1 + 8 + 8 + 32;  // "ask/" | "bid/", kind, two u64, id

Bytes TopKey(Side side, int kind) {
  return KeyBuilder("top/").U8(static_cast<uint8_t>(side)).U8(static_cast<uint8_t>(kind)).Take();
}
Bytes SidePrefix(Side side, int kind) {
  return side == Side::kAsk ? AskPrefix(kind) : BidPrefix(kind);
}

Bytes TopRecord(ByteView key, ByteView value) {
  Bytes r(key.begin(), key.end());
  r.insert(r.end(), value.begin(), value.end());
  return r;
}

// The key part of a top record (kCorruption when it is too short).
Result<ByteView> TopEntryKey(const Bytes& top) {
  if (top.size() < kBookKeyBytes) return Status::Corruption("malformed top of the book");
  return ByteView(top.data(), kBookKeyBytes);
}

bool KeyLess(ByteView a, ByteView b) {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

Status AddEntry(ledger::KvStore& s, Side side, int kind, const Bytes& key, const Bytes& value) {
  s.Set(key, value);
  const Bytes top_key = TopKey(side, kind);
  PROBITY_ASSIGN_OR_RETURN(auto top, s.Get(top_key));
  bool better = !top;
  if (top) {
    PROBITY_ASSIGN_OR_RETURN(ByteView top_entry, TopEntryKey(*top));
    better = KeyLess(key, top_entry);
  }
  if (better) s.Set(top_key, TopRecord(key, value));
  return Status::OK();
}

// Removes an entry if present. When it was the best one, the next entry becomes the top: the
// walk for it starts at the removed key, not at the start of the book, because entries removed
// earlier in the block still sit in committed state below it and would all be stepped over.
Status RemoveEntry(ledger::KvStore& s, Side side, int kind, const Bytes& key) {
  PROBITY_ASSIGN_OR_RETURN(auto present, s.Get(key));
  if (!present) return Status::OK();
  s.Delete(key);
  const Bytes top_key = TopKey(side, kind);
  PROBITY_ASSIGN_OR_RETURN(auto top, s.Get(top_key));
  if (!top) return Status::Corruption("a book side without a top");
  PROBITY_ASSIGN_OR_RETURN(ByteView top_entry, TopEntryKey(*top));
  if (!std::equal(top_entry.begin(), top_entry.end(), key.begin(), key.end())) {
    return Status::OK();
  }
  std::optional<Bytes> next;
  PROBITY_RETURN_IF_ERROR(
      s.Scan(key, PrefixSuccessor(SidePrefix(side, kind)), [&](ByteView k, ByteView v) {
        next = TopRecord(k, v);
        return false;
      }));
  if (next) {
    s.Set(top_key, *next);
  } else {
    s.Delete(top_key);
  }
  return Status::OK();
}

Status AddAsks(ledger::KvStore& s, const Offer& offer) {
  const Bytes v = AskValue(offer);
  for (const auto& kp : offer.prices()) {
    PROBITY_RETURN_IF_ERROR(
        AddEntry(s, Side::kAsk, kp.kind(),
                 AskKey(kp.kind(), kp.price_per_unit(), offer.seq(), FieldHash(offer.id())), v));
  }
  return Status::OK();
}

Status RemoveAsks(ledger::KvStore& s, const Offer& offer) {
  for (const auto& kp : offer.prices()) {
    PROBITY_RETURN_IF_ERROR(
        RemoveEntry(s, Side::kAsk, kp.kind(),
                    AskKey(kp.kind(), kp.price_per_unit(), offer.seq(), FieldHash(offer.id()))));
  }
  return Status::OK();
}

Bytes BidKeyOf(const Order& o) {
  return BidKey(o.kind(), o.max_price_per_unit(), o.seq(), FieldHash(o.id()));
}
Status AddBid(ledger::KvStore& s, const Order& o) {
  return AddEntry(s, Side::kBid, o.kind(), BidKeyOf(o), BidValue(o));
}
Status RemoveBid(ledger::KvStore& s, const Order& o) {
  return RemoveEntry(s, Side::kBid, o.kind(), BidKeyOf(o));
}

Status CorruptEntry() { return Status::Corruption("malformed order book entry"); }

// A provider that already missed this order's commit deadline never gets it again.
bool Excluded(const Order& order, ByteView provider) {
  for (const auto& p : order.excluded_providers()) {
    if (AsBytes(p).size() == provider.size() &&
        std::memcmp(p.data(), provider.data(), provider.size()) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Parameters and genesis

market::v1::Params Market::DefaultParams() {
  market::v1::Params p;
  p.set_max_price_per_unit(1'000'000'000);
  p.set_max_units(1'000'000'000);
  p.set_min_verification_level(4);
  p.set_max_verification_level(64);
  p.set_verify_fee_per_sample(1'000);
  p.set_max_capacity(1024);
  p.set_max_order_lifetime_blocks(50'000);
  p.set_max_offer_lifetime_blocks(1'000'000);
  p.set_min_deadline_blocks(10);
  p.set_max_deadline_blocks(20'000);
  p.set_recent_trades(256);
  p.set_max_match_scan(1'000);
  return p;
}

std::string Market::DefaultGenesisJson() {
  market::v1::GenesisState g;
  *g.mutable_params() = DefaultParams();
  return ToGenesisJson(g);
}

Status Market::ValidateParams(const market::v1::Params& p) {
  auto bad = [](std::string m) { return Status::InvalidArgument("market params: " + m); };
  if (p.max_price_per_unit() == 0 || p.max_units() == 0) {
    return bad("max_price_per_unit and max_units must be positive");
  }
  if (p.max_price_per_unit() >= (uint64_t{1} << 63)) return bad("max_price_per_unit >= 2^63");
  if (p.min_verification_level() == 0 || p.max_verification_level() < p.min_verification_level()) {
    return bad("need 1 <= min_verification_level <= max_verification_level");
  }
  if (p.max_capacity() == 0) return bad("max_capacity must be positive");
  if (p.max_order_lifetime_blocks() == 0 || p.max_offer_lifetime_blocks() == 0) {
    return bad("lifetimes must be at least one block");
  }
  if (p.min_deadline_blocks() == 0 || p.max_deadline_blocks() < p.min_deadline_blocks()) {
    return bad("need 1 <= min_deadline_blocks <= max_deadline_blocks");
  }
  if (p.recent_trades() == 0 || p.recent_trades() > 4096) return bad("recent_trades: 1..4096");
  if (p.max_match_scan() == 0) return bad("max_match_scan must be positive");
  return Status::OK();
}

Hash256 Market::OrderId(const Hash256& tx_id) { return TaggedHash("probity/order", tx_id); }
Hash256 Market::OfferId(const Hash256& tx_id) { return TaggedHash("probity/offer", tx_id); }

std::vector<std::string> Market::MessageTypes() const {
  return {std::string(kMsgPostOffer), std::string(kMsgUpdateOffer), std::string(kMsgCancelOffer),
          std::string(kMsgPlaceOrder), std::string(kMsgCancelOrder)};
}

Status Market::InitGenesis(ledger::Context& ctx, std::string_view section_json) {
  params_.reset();
  market::v1::GenesisState g;
  PROBITY_RETURN_IF_ERROR(ParseGenesisJson(kName, section_json, &g));
  market::v1::Params p = g.has_params() ? g.params() : DefaultParams();
  PROBITY_RETURN_IF_ERROR(ValidateParams(p));
  PutRecord(ctx.Store(*this), AsBytes(kParamsKey), p);
  return Status::OK();
}

Result<const market::v1::Params*> Market::Params(ledger::Context& ctx) {
  if (!params_) {
    PROBITY_ASSIGN_OR_RETURN(params_, LoadParams(ctx.Store(*this)));
  }
  return &*params_;
}

// ---------------------------------------------------------------------------------------------
// The book

// Matching over one Context: the order book's reads and writes, and assignments.
class Market::Book {
 public:
  Book(Market* m, ledger::Context& ctx, const market::v1::Params& p)
      : m_(m), ctx_(ctx), s_(ctx.Store(*m)), p_(p), height_(ctx.block().height) {}

  Result<std::optional<Offer>> LoadOffer(const Hash256& id) {
    Offer o;
    PROBITY_ASSIGN_OR_RETURN(bool found, GetRecord(s_, OfferKey(id), &o));
    if (!found) return std::optional<Offer>();
    return std::optional<Offer>(std::move(o));
  }

  // A new or re-opened order (status open, not yet written) takes the cheapest eligible offer;
  // otherwise it rests in the bid book. Writes the order either way.
  Status PlaceInBook(Order& order) {
    const Bytes prefix = AskPrefix(order.kind());
    const Bytes end = KeyBuilder("ask/")
                          .U8(static_cast<uint8_t>(order.kind()))
                          .U64(order.max_price_per_unit() + 1)
                          .Take();
    const XOnlyPubKey buyer = FieldHash(order.buyer());
    std::optional<Hash256> chosen;
    uint64_t chosen_price = 0;
    std::vector<Hash256> parked;  // offers whose provider lost its eligibility
    uint32_t scanned = 0;
    Status bad;
    // Looks at one ask entry; false stops the walk (a match, the price limit, or an error).
    auto consider = [&](ByteView k, ByteView v) {
      if (k.size() != prefix.size() + 16 + 32 || v.size() < kAskFixed) {
        bad = CorruptEntry();
        return false;
      }
      if (++scanned > p_.max_match_scan()) return false;
      const uint64_t price = GetU64BE(k.data() + prefix.size());
      if (price > order.max_price_per_unit()) return false;
      if (std::memcmp(v.data(), buyer.data(), 32) == 0) return true;  // no self-trade
      if (GetU64LE(v.data() + 32) <= height_) return true;            // expired
      if (Excluded(order, v.first(32))) return true;
      market::v1::Hardware hw;
      if (!hw.ParseFromArray(v.data() + kAskFixed, static_cast<int>(v.size() - kAskFixed))) {
        bad = CorruptEntry();
        return false;
      }
      if (!Meets(hw, order.constraints())) return true;
      Hash256 offer_id;
      std::memcpy(offer_id.data(), k.data() + prefix.size() + 16, 32);
      XOnlyPubKey provider;
      std::memcpy(provider.data(), v.data(), 32);
      auto eligible = m_->staking_->EligibleProvider(ctx_, provider);
      if (!eligible.ok()) {
        bad = eligible.status();
        return false;
      }
      if (!*eligible) {
        if (std::find(parked.begin(), parked.end(), offer_id) == parked.end()) {
          parked.push_back(offer_id);
        }
        return true;
      }
      chosen = offer_id;
      chosen_price = price;
      return false;
    };
    // The best ask first; the walk over the book only when it does not fit.
    PROBITY_ASSIGN_OR_RETURN(auto top, s_.Get(TopKey(Side::kAsk, order.kind())));
    bool walk = top.has_value();
    if (top) {
      PROBITY_ASSIGN_OR_RETURN(ByteView top_entry, TopEntryKey(*top));
      walk = consider(top_entry, ByteView(*top).subspan(kBookKeyBytes)) && bad.ok();
      scanned = 0;
    }
    // Nothing sorts below the top: the walk starts there.
    if (walk) PROBITY_RETURN_IF_ERROR(s_.Scan(*TopEntryKey(*top), end, consider));
    PROBITY_RETURN_IF_ERROR(bad);
    for (const Hash256& id : parked) {
      PROBITY_ASSIGN_OR_RETURN(auto offer, LoadOffer(id));
      if (offer) PROBITY_RETURN_IF_ERROR(RemoveAsks(s_, *offer));
    }
    if (!chosen) {
      PROBITY_RETURN_IF_ERROR(AddBid(s_, order));
      PutRecord(s_, OrderKey(FieldHash(order.id())), order);
      return Status::OK();
    }
    PROBITY_ASSIGN_OR_RETURN(auto offer, LoadOffer(*chosen));
    if (!offer) return Status::Corruption("the ask book names a missing offer");
    PROBITY_RETURN_IF_ERROR(Assign(order, *offer, chosen_price));
    PutRecord(s_, OfferKey(*chosen), *offer);
    return Status::OK();
  }

  // The offer takes waiting orders (price, then time, across its kinds) up to its free
  // capacity, then rests in the ask book if capacity is left. Writes the offer.
  Status TakeWaitingOrders(Offer& offer) {
    const Hash256 offer_id = FieldHash(offer.id());
    const XOnlyPubKey provider = FieldHash(offer.provider());
    bool listable =
        !offer.closed() && offer.expires_at() > height_ && offer.active() < offer.capacity();
    if (listable) {
      PROBITY_ASSIGN_OR_RETURN(listable, m_->staking_->EligibleProvider(ctx_, provider));
    }
    if (listable) {
      struct Candidate {
        uint64_t price;
        uint64_t seq;
        Hash256 order_id;
      };
      std::vector<Candidate> found;
      const uint32_t free = offer.capacity() - offer.active();
      uint32_t scanned = 0;
      Status bad;
      for (const auto& kp : offer.prices()) {
        const Bytes prefix = BidPrefix(kp.kind());
        const Bytes end = KeyBuilder("bid/")
                              .U8(static_cast<uint8_t>(kp.kind()))
                              .U64(~kp.price_per_unit() + 1)
                              .Take();
        // The walk starts at the best bid (nothing sorts below it); none at all, or a best bid
        // under the offer's price, means nothing to take.
        PROBITY_ASSIGN_OR_RETURN(auto top, s_.Get(TopKey(Side::kBid, kp.kind())));
        if (!top) continue;
        PROBITY_ASSIGN_OR_RETURN(ByteView top_entry, TopEntryKey(*top));
        if (!KeyLess(top_entry, end)) continue;
        uint32_t taken = 0;
        PROBITY_RETURN_IF_ERROR(s_.Scan(top_entry, end, [&](ByteView k, ByteView v) {
          if (k.size() != prefix.size() + 16 + 32 || v.size() < kBidFixed) {
            bad = CorruptEntry();
            return false;
          }
          if (++scanned > p_.max_match_scan()) return false;
          if (std::memcmp(v.data(), provider.data(), 32) == 0) return true;  // no self-trade
          if (GetU64LE(v.data() + 32) <= height_) return true;               // expired
          HardwareConstraints c;
          if (!c.ParseFromArray(v.data() + kBidFixed, static_cast<int>(v.size() - kBidFixed))) {
            bad = CorruptEntry();
            return false;
          }
          if (!Meets(offer.hardware(), c)) return true;
          Candidate cand;
          cand.price = ~GetU64BE(k.data() + prefix.size());
          cand.seq = GetU64BE(k.data() + prefix.size() + 8);
          std::memcpy(cand.order_id.data(), k.data() + prefix.size() + 16, 32);
          found.push_back(cand);
          return ++taken < free;
        }));
        PROBITY_RETURN_IF_ERROR(bad);
      }
      std::stable_sort(found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
        return a.price != b.price ? a.price > b.price : a.seq < b.seq;
      });
      if (found.size() > free) found.resize(free);
      for (const Candidate& c : found) {
        Order order;
        PROBITY_ASSIGN_OR_RETURN(bool exists, GetRecord(s_, OrderKey(c.order_id), &order));
        if (!exists || order.status() != market::v1::ORDER_STATUS_OPEN) {
          return Status::Corruption("the bid book names an order that is not open");
        }
        if (Excluded(order, AsBytes(offer.provider()))) continue;
        PROBITY_RETURN_IF_ERROR(RemoveBid(s_, order));
        PROBITY_RETURN_IF_ERROR(Assign(order, offer, order.max_price_per_unit()));
      }
    }
    if (listable && offer.active() < offer.capacity()) {
      PROBITY_RETURN_IF_ERROR(AddAsks(s_, offer));
    } else {
      PROBITY_RETURN_IF_ERROR(RemoveAsks(s_, offer));
    }
    PutRecord(s_, OfferKey(offer_id), offer);
    return Status::OK();
  }

  // Records the trade and tells the jobs module. Writes the order, not the offer.
  Status Assign(Order& order, Offer& offer, uint64_t price) {
    offer.set_active(offer.active() + 1);
    if (offer.active() >= offer.capacity()) PROBITY_RETURN_IF_ERROR(RemoveAsks(s_, offer));
    order.set_status(market::v1::ORDER_STATUS_ASSIGNED);
    order.set_offer_id(offer.id());
    order.set_price_per_unit(price);
    order.set_attempts(order.attempts() + 1);
    PutRecord(s_, OrderKey(FieldHash(order.id())), order);

    const Bytes count_key = TradeCountKey(order.kind());
    PROBITY_ASSIGN_OR_RETURN(uint64_t n, GetCounter(s_, count_key));
    market::v1::Trade t;
    t.set_order_id(order.id());
    t.set_offer_id(offer.id());
    t.set_kind(order.kind());
    t.set_price_per_unit(price);
    t.set_units(order.units());
    t.set_height(height_);
    t.set_hardware_class(offer.hardware().gpu_model());
    PutRecord(s_, TradeKey(order.kind(), n % p_.recent_trades()), t);
    PutCounter(s_, count_key, n + 1);

    const XOnlyPubKey provider = FieldHash(offer.provider());
    EventBuilder("market.match")
        .Id("order_id", FieldHash(order.id()))
        .Id("offer_id", FieldHash(offer.id()))
        .Account("buyer", FieldHash(order.buyer()))
        .Account("provider", provider)
        .Number("price_per_unit", price)
        .Number("units", order.units())
        .EmitTo(ctx_);
    if (m_->listener_ == nullptr) return Status::Internal("market has no assignment listener");
    return m_->listener_->OnAssigned(ctx_, order, offer);
  }

  // Closes an offer (cancel or expiry): out of the book; deleted once no job uses it.
  Status CloseOffer(Offer& offer) {
    PROBITY_RETURN_IF_ERROR(RemoveAsks(s_, offer));
    offer.set_closed(true);
    const Hash256 id = FieldHash(offer.id());
    if (offer.active() == 0) {
      s_.Delete(OfferKey(id));
      s_.Delete(ProviderOfferKey(FieldHash(offer.provider()), id));
    } else {
      PutRecord(s_, OfferKey(id), offer);
    }
    return Status::OK();
  }

  Status Refund(Order& order) {
    if (order.escrow() > 0) {
      PROBITY_RETURN_IF_ERROR(
          m_->bank_->Transfer(ctx_, ModuleAccount(), FieldHash(order.buyer()), order.escrow()));
    }
    order.set_escrow(0);
    order.set_verification_fee(0);
    order.set_status(market::v1::ORDER_STATUS_CLOSED);
    order.clear_offer_id();
    PutRecord(s_, OrderKey(FieldHash(order.id())), order);
    return Status::OK();
  }

  ledger::KvStore& store() { return s_; }

 private:
  Market* m_;
  ledger::Context& ctx_;
  ledger::KvStore& s_;
  const market::v1::Params& p_;
  uint64_t height_;
};

// ---------------------------------------------------------------------------------------------
// Messages

Status Market::ValidateMsg(const types::v1::Msg& msg) const {
  const std::string& t = msg.type_url();
  if (t == kMsgPostOffer) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<market::v1::MsgPostOffer>(msg));
    PROBITY_RETURN_IF_ERROR(ValidateClass(m.hardware().gpu_model(), "gpu_model", false));
    if (m.hardware().gpu_count() == 0 || m.hardware().gpu_count() > kMaxGpuCount) {
      return Status::OutOfRange("gpu_count must be 1.." + std::to_string(kMaxGpuCount));
    }
    PROBITY_RETURN_IF_ERROR(ValidatePrices(m.prices()));
    if (m.capacity() == 0) return Status::OutOfRange("capacity must be positive");
    if (m.endpoint().empty() || m.endpoint().size() > kMaxEndpointBytes) {
      return Status::InvalidArgument("endpoint must be 1 to 256 characters");
    }
    for (char c : m.endpoint()) {
      if (c <= ' ' || c > '~') {
        return Status::InvalidArgument("endpoint has a character outside printable ASCII");
      }
    }
    return Status::OK();
  }
  if (t == kMsgUpdateOffer) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<market::v1::MsgUpdateOffer>(msg));
    PROBITY_RETURN_IF_ERROR(ParseHash(m.offer_id(), "offer_id").status());
    PROBITY_RETURN_IF_ERROR(ValidatePrices(m.prices()));
    if (m.capacity() == 0) return Status::OutOfRange("capacity must be positive");
    return Status::OK();
  }
  if (t == kMsgCancelOffer) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<market::v1::MsgCancelOffer>(msg));
    return ParseHash(m.offer_id(), "offer_id").status();
  }
  if (t == kMsgPlaceOrder) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<market::v1::MsgPlaceOrder>(msg));
    if (!ValidKind(m.kind())) {
      return Status::InvalidArgument("unknown job kind " + std::to_string(m.kind()));
    }
    PROBITY_RETURN_IF_ERROR(ParseHash(m.input_hash(), "input_hash").status());
    PROBITY_RETURN_IF_ERROR(ParseHash(m.secret_commitment(), "secret_commitment").status());
    if (m.units() == 0) return Status::OutOfRange("units must be positive");
    if (m.max_price_per_unit() == 0)
      return Status::OutOfRange("max_price_per_unit must be positive");
    if (m.verification_level() == 0) return Status::OutOfRange("verification_level must be >= 1");
    if (m.on_timeout() != market::v1::TIMEOUT_ACTION_REOPEN &&
        m.on_timeout() != market::v1::TIMEOUT_ACTION_REFUND) {
      return Status::InvalidArgument("on_timeout must be REOPEN or REFUND");
    }
    return ValidateClass(m.constraints().gpu_model(), "constraints.gpu_model", true);
  }
  if (t == kMsgCancelOrder) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<market::v1::MsgCancelOrder>(msg));
    return ParseHash(m.order_id(), "order_id").status();
  }
  return Status::InvalidArgument("market does not handle " + t);
}

namespace {
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
}  // namespace

Status Market::HandleMsg(ledger::Context& ctx, const ledger::TxInfo& tx,
                         const types::v1::Msg& msg) {
  if (!collect_stats_) return Dispatch(ctx, tx, msg);
  const auto wall0 = std::chrono::steady_clock::now();
  const double cpu0 = ThreadCpuSeconds();
  Status st = Dispatch(ctx, tx, msg);
  stats_.cpu_seconds += ThreadCpuSeconds() - cpu0;
  stats_.wall_seconds +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  ++stats_.messages;
  return st;
}

Status Market::Dispatch(ledger::Context& ctx, const ledger::TxInfo& tx, const types::v1::Msg& msg) {
  const std::string& t = msg.type_url();
  if (t == kMsgPlaceOrder) {
    PROBITY_ASSIGN_OR_RETURN(auto m, DecodeValidated<market::v1::MsgPlaceOrder>(msg));
    return PlaceOrder(ctx, tx, m);
  }
  if (t == kMsgPostOffer) {
    PROBITY_ASSIGN_OR_RETURN(auto m, DecodeValidated<market::v1::MsgPostOffer>(msg));
    return PostOffer(ctx, tx, m);
  }
  if (t == kMsgUpdateOffer) {
    PROBITY_ASSIGN_OR_RETURN(auto m, DecodeValidated<market::v1::MsgUpdateOffer>(msg));
    return UpdateOffer(ctx, tx, m);
  }
  if (t == kMsgCancelOffer) {
    PROBITY_ASSIGN_OR_RETURN(auto m, DecodeValidated<market::v1::MsgCancelOffer>(msg));
    return CancelOffer(ctx, tx, m);
  }
  if (t == kMsgCancelOrder) {
    PROBITY_ASSIGN_OR_RETURN(auto m, DecodeValidated<market::v1::MsgCancelOrder>(msg));
    return CancelOrder(ctx, tx, m);
  }
  return Status::InvalidArgument("market does not handle " + t);
}

// The terms a provider sets when it posts or updates an offer: prices in range, capacity
// within the limit, an expiry within the offer lifetime.
template <typename OfferMsg>
Status CheckOfferTerms(const OfferMsg& m, uint64_t height, const market::v1::Params& p) {
  for (const auto& kp : m.prices())
    PROBITY_RETURN_IF_ERROR(CheckPriceRange(kp.price_per_unit(), p));
  if (m.capacity() > p.max_capacity()) {
    return Status::OutOfRange("capacity " + std::to_string(m.capacity()) + " exceeds " +
                              std::to_string(p.max_capacity()));
  }
  return CheckExpiry(m.expires_at(), height, p.max_offer_lifetime_blocks(), "offer");
}

Status Market::PostOffer(ledger::Context& ctx, const ledger::TxInfo& tx,
                         const market::v1::MsgPostOffer& m) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  PROBITY_RETURN_IF_ERROR(CheckOfferTerms(m, ctx.block().height, p));
  PROBITY_ASSIGN_OR_RETURN(bool eligible, staking_->EligibleProvider(ctx, tx.signer));
  if (!eligible) {
    PROBITY_ASSIGN_OR_RETURN(const auto* sp, staking_->Params(ctx));
    return Status::FailedPrecondition("a provider needs " +
                                      std::to_string(sp->min_provider_stake()) +
                                      " bonded and must not be jailed");
  }
  ledger::KvStore& s = ctx.Store(*this);
  const Hash256 id = OfferId(tx.id);  // fresh: transaction ids never repeat
  Offer offer;
  offer.set_id(HashField(id));
  offer.set_provider(HashField(tx.signer));
  *offer.mutable_hardware() = m.hardware();
  *offer.mutable_prices() = m.prices();
  offer.set_capacity(m.capacity());
  offer.set_endpoint(m.endpoint());
  offer.set_expires_at(m.expires_at());
  PROBITY_ASSIGN_OR_RETURN(uint64_t seq, NextSeq(s));
  offer.set_seq(seq);
  s.Set(ProviderOfferKey(tx.signer, id), {});
  s.Set(ExpiryKey(m.expires_at(), kExpireOffer, id), {});
  EventBuilder("market.offer_posted")
      .Id("offer_id", id)
      .Account("provider", tx.signer)
      .Attr("hardware_class", m.hardware().gpu_model())
      .Number("capacity", m.capacity())
      .EmitTo(ctx);
  Book book(this, ctx, p);
  return book.TakeWaitingOrders(offer);
}

Status Market::UpdateOffer(ledger::Context& ctx, const ledger::TxInfo& tx,
                           const market::v1::MsgUpdateOffer& m) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  PROBITY_RETURN_IF_ERROR(CheckOfferTerms(m, ctx.block().height, p));
  Book book(this, ctx, p);
  const Hash256 id = FieldHash(m.offer_id());
  PROBITY_ASSIGN_OR_RETURN(auto offer, book.LoadOffer(id));
  if (!offer) return Status::NotFound("no offer " + ToHex(id));
  if (offer->provider() != HashField(tx.signer)) {
    return Status::PermissionDenied("only the offer's provider may update it");
  }
  if (offer->closed()) return Status::FailedPrecondition("the offer is closed");
  PROBITY_ASSIGN_OR_RETURN(bool eligible, staking_->EligibleProvider(ctx, tx.signer));
  if (!eligible) {
    return Status::FailedPrecondition("the provider is jailed or below the minimum stake");
  }
  ledger::KvStore& s = ctx.Store(*this);
  PROBITY_RETURN_IF_ERROR(RemoveAsks(s, *offer));
  *offer->mutable_prices() = m.prices();
  offer->set_capacity(m.capacity());
  if (offer->expires_at() != m.expires_at()) {
    offer->set_expires_at(m.expires_at());
    s.Set(ExpiryKey(m.expires_at(), kExpireOffer, id), {});
  }
  PROBITY_ASSIGN_OR_RETURN(uint64_t seq, NextSeq(s));
  offer->set_seq(seq);
  EventBuilder("market.offer_updated")
      .Id("offer_id", id)
      .Account("provider", tx.signer)
      .Number("capacity", m.capacity())
      .EmitTo(ctx);
  return book.TakeWaitingOrders(*offer);
}

Status Market::CancelOffer(ledger::Context& ctx, const ledger::TxInfo& tx,
                           const market::v1::MsgCancelOffer& m) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  Book book(this, ctx, p);
  const Hash256 id = FieldHash(m.offer_id());
  PROBITY_ASSIGN_OR_RETURN(auto offer, book.LoadOffer(id));
  if (!offer) return Status::NotFound("no offer " + ToHex(id));
  if (offer->provider() != HashField(tx.signer)) {
    return Status::PermissionDenied("only the offer's provider may cancel it");
  }
  if (offer->closed()) return Status::FailedPrecondition("the offer is already closed");
  PROBITY_RETURN_IF_ERROR(book.CloseOffer(*offer));
  EventBuilder("market.offer_closed")
      .Id("offer_id", id)
      .Account("provider", tx.signer)
      .Attr("reason", "cancelled")
      .EmitTo(ctx);
  return Status::OK();
}

Status Market::PlaceOrder(ledger::Context& ctx, const ledger::TxInfo& tx,
                          const market::v1::MsgPlaceOrder& m) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  const uint64_t height = ctx.block().height;
  PROBITY_RETURN_IF_ERROR(CheckPriceRange(m.max_price_per_unit(), p));
  if (m.units() > p.max_units()) {
    return Status::OutOfRange("units " + std::to_string(m.units()) + " exceed " +
                              std::to_string(p.max_units()));
  }
  if (m.verification_level() < p.min_verification_level() ||
      m.verification_level() > p.max_verification_level()) {
    return Status::OutOfRange("verification_level " + std::to_string(m.verification_level()) +
                              " is outside " + std::to_string(p.min_verification_level()) + ".." +
                              std::to_string(p.max_verification_level()));
  }
  if (m.deadline_blocks() < p.min_deadline_blocks() ||
      m.deadline_blocks() > p.max_deadline_blocks()) {
    return Status::OutOfRange("deadline_blocks " + std::to_string(m.deadline_blocks()) +
                              " is outside " + std::to_string(p.min_deadline_blocks()) + ".." +
                              std::to_string(p.max_deadline_blocks()));
  }
  PROBITY_RETURN_IF_ERROR(
      CheckExpiry(m.expires_at(), height, p.max_order_lifetime_blocks(), "order"));
  PROBITY_ASSIGN_OR_RETURN(uint64_t cost,
                           CheckedMul(m.units(), m.max_price_per_unit(), "the order's cost"));
  const uint64_t fee =
      m.self_verify() ? 0 : uint64_t{m.verification_level()} * p.verify_fee_per_sample();
  PROBITY_ASSIGN_OR_RETURN(uint64_t escrow, CheckedAdd(cost, fee, "the order's escrow"));

  ledger::KvStore& s = ctx.Store(*this);
  const Hash256 id = OrderId(tx.id);  // fresh: transaction ids never repeat
  PROBITY_RETURN_IF_ERROR(bank_->Transfer(ctx, tx.signer, ModuleAccount(), escrow));

  Order order;
  order.set_id(HashField(id));
  order.set_buyer(HashField(tx.signer));
  order.set_kind(m.kind());
  order.set_input_hash(m.input_hash());
  order.set_units(m.units());
  order.set_max_price_per_unit(m.max_price_per_unit());
  order.set_verification_level(m.verification_level());
  *order.mutable_constraints() = m.constraints();
  order.set_deadline_blocks(m.deadline_blocks());
  order.set_secret_commitment(m.secret_commitment());
  order.set_self_verify(m.self_verify());
  order.set_on_timeout(m.on_timeout());
  order.set_expires_at(m.expires_at());
  order.set_status(market::v1::ORDER_STATUS_OPEN);
  PROBITY_ASSIGN_OR_RETURN(uint64_t seq, NextSeq(s));
  order.set_seq(seq);
  order.set_escrow(escrow);
  order.set_verification_fee(fee);
  s.Set(ExpiryKey(m.expires_at(), kExpireOrder, id), {});
  EventBuilder("market.order_placed")
      .Id("order_id", id)
      .Account("buyer", tx.signer)
      .Number("units", m.units())
      .Number("max_price_per_unit", m.max_price_per_unit())
      .Number("escrow", escrow)
      .EmitTo(ctx);
  Book book(this, ctx, p);
  return book.PlaceInBook(order);
}

Status Market::CancelOrder(ledger::Context& ctx, const ledger::TxInfo& tx,
                           const market::v1::MsgCancelOrder& m) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  const Hash256 id = FieldHash(m.order_id());
  PROBITY_ASSIGN_OR_RETURN(Order order, GetOrder(ctx, id));
  if (order.buyer() != HashField(tx.signer)) {
    return Status::PermissionDenied("only the order's buyer may cancel it");
  }
  if (order.status() != market::v1::ORDER_STATUS_OPEN) {
    return Status::FailedPrecondition("only an open order can be cancelled (this one is " +
                                      market::v1::OrderStatus_Name(order.status()) + ")");
  }
  Book book(this, ctx, p);
  PROBITY_RETURN_IF_ERROR(RemoveBid(book.store(), order));
  const uint64_t refund = order.escrow();
  PROBITY_RETURN_IF_ERROR(book.Refund(order));
  EventBuilder("market.order_cancelled")
      .Id("order_id", id)
      .Account("buyer", tx.signer)
      .Number("refund", refund)
      .EmitTo(ctx);
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// The API of the jobs module

Result<Order> Market::GetOrder(ledger::Context& ctx, const Hash256& order_id) {
  Order order;
  PROBITY_ASSIGN_OR_RETURN(bool found, GetRecord(ctx.Store(*this), OrderKey(order_id), &order));
  if (!found) return Status::NotFound("no order " + ToHex(order_id));
  return order;
}

Status Market::Pay(ledger::Context& ctx, const Hash256& order_id, const XOnlyPubKey& to,
                   uint64_t amount) {
  PROBITY_ASSIGN_OR_RETURN(Order order, GetOrder(ctx, order_id));
  if (amount > order.escrow()) {
    return Status::FailedPrecondition("order " + ToHex(order_id) + " holds " +
                                      std::to_string(order.escrow()) + " in escrow, not " +
                                      std::to_string(amount));
  }
  if (amount == 0) return Status::OK();
  PROBITY_RETURN_IF_ERROR(bank_->Transfer(ctx, ModuleAccount(), to, amount));
  order.set_escrow(order.escrow() - amount);
  PutRecord(ctx.Store(*this), OrderKey(order_id), order);
  return Status::OK();
}

Status Market::CloseOrder(ledger::Context& ctx, const Hash256& order_id) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  PROBITY_ASSIGN_OR_RETURN(Order order, GetOrder(ctx, order_id));
  Book book(this, ctx, p);
  if (order.status() == market::v1::ORDER_STATUS_OPEN) {
    PROBITY_RETURN_IF_ERROR(RemoveBid(book.store(), order));
  }
  return book.Refund(order);
}

Result<std::optional<Order>> Market::FindOrder(const ledger::QueryContext& ctx,
                                               const Hash256& order_id) const {
  Order order;
  PROBITY_ASSIGN_OR_RETURN(bool found, GetRecord(ctx.Store(*this), OrderKey(order_id), &order));
  if (!found) return std::optional<Order>();
  return std::optional<Order>(std::move(order));
}

Result<bool> Market::ReopenOrder(ledger::Context& ctx, const Hash256& order_id,
                                 const XOnlyPubKey& failed_provider) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  PROBITY_ASSIGN_OR_RETURN(Order order, GetOrder(ctx, order_id));
  if (order.status() != market::v1::ORDER_STATUS_ASSIGNED) {
    return Status::FailedPrecondition("only an assigned order can re-open");
  }
  Book book(this, ctx, p);
  if (order.expires_at() <= ctx.block().height) {
    PROBITY_RETURN_IF_ERROR(book.Refund(order));
    return false;
  }
  order.set_status(market::v1::ORDER_STATUS_OPEN);
  order.clear_offer_id();
  order.set_price_per_unit(0);
  order.add_excluded_providers(HashField(failed_provider));
  PROBITY_ASSIGN_OR_RETURN(uint64_t seq, NextSeq(book.store()));
  order.set_seq(seq);
  PROBITY_RETURN_IF_ERROR(book.PlaceInBook(order));
  return true;
}

Status Market::ReleaseCapacity(ledger::Context& ctx, const Hash256& offer_id) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  Book book(this, ctx, p);
  PROBITY_ASSIGN_OR_RETURN(auto offer, book.LoadOffer(offer_id));
  if (!offer || offer->active() == 0) {
    return Status::Corruption("capacity released on an offer without active jobs");
  }
  offer->set_active(offer->active() - 1);
  if (offer->closed()) {
    PROBITY_RETURN_IF_ERROR(book.CloseOffer(*offer));
    return Status::OK();
  }
  return book.TakeWaitingOrders(*offer);
}

Status Market::UpdateProviderRecord(
    ledger::Context& ctx, const XOnlyPubKey& provider,
    const std::function<void(market::v1::ProviderRecord&)>& update) {
  ledger::KvStore& s = ctx.Store(*this);
  market::v1::ProviderRecord r;
  const Bytes key = ProviderRecordKey(provider);
  PROBITY_RETURN_IF_ERROR(GetRecord(s, key, &r).status());
  update(r);
  PutRecord(s, key, r);
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Expiries

Status Market::EndBlock(ledger::Context& ctx) {
  ledger::KvStore& s = ctx.Store(*this);
  const uint64_t height = ctx.block().height;
  PROBITY_ASSIGN_OR_RETURN(std::vector<DueTimer> due, DueTimers(s, kExpiryPrefix, height));
  if (due.empty()) return Status::OK();
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  Book book(this, ctx, p);
  for (const DueTimer& d : due) {
    s.Delete(d.key);
    if (d.kind == kExpireOrder) {
      Order order;
      PROBITY_ASSIGN_OR_RETURN(bool found, GetRecord(s, OrderKey(d.id), &order));
      // Assigned, closed, or re-listed with a later expiry: nothing to do.
      if (!found || order.status() != market::v1::ORDER_STATUS_OPEN ||
          order.expires_at() != d.height) {
        continue;
      }
      PROBITY_RETURN_IF_ERROR(RemoveBid(s, order));
      const uint64_t refund = order.escrow();
      PROBITY_RETURN_IF_ERROR(book.Refund(order));
      EventBuilder("market.order_expired")
          .Id("order_id", d.id)
          .Account("buyer", FieldHash(order.buyer()))
          .Number("refund", refund)
          .EmitTo(ctx);
    } else {
      PROBITY_ASSIGN_OR_RETURN(auto offer, book.LoadOffer(d.id));
      if (!offer || offer->closed() || offer->expires_at() != d.height) continue;
      PROBITY_RETURN_IF_ERROR(book.CloseOffer(*offer));
      EventBuilder("market.offer_closed")
          .Id("offer_id", d.id)
          .Account("provider", FieldHash(offer->provider()))
          .Attr("reason", "expired")
          .EmitTo(ctx);
    }
  }
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Queries

Result<Bytes> Market::Query(const ledger::QueryContext& ctx, std::string_view path,
                            ByteView request) const {
  const ledger::KvReader& s = ctx.Store(*this);
  auto reply = [](const google::protobuf::Message& m) {
    return ToBytes(AsBytes(ledger::SerializeCanonical(m)));
  };
  auto parse = [&](google::protobuf::Message* m) -> Status {
    if (!m->ParseFromArray(request.data(), static_cast<int>(request.size()))) {
      return Status::InvalidArgument("market/" + std::string(path) + " needs a " +
                                     std::string(m->GetTypeName()));
    }
    return Status::OK();
  };
  if (path == "params") {
    PROBITY_ASSIGN_OR_RETURN(auto p, LoadParams(s));
    return reply(p);
  }
  if (path == "order" || path == "offer") {
    market::v1::QueryByIdRequest req;
    PROBITY_RETURN_IF_ERROR(parse(&req));
    PROBITY_ASSIGN_OR_RETURN(Hash256 id, ParseHash(req.id(), "id"));
    if (path == "order") {
      Order o;
      PROBITY_ASSIGN_OR_RETURN(bool found, GetRecord(s, OrderKey(id), &o));
      if (!found) return Status::NotFound("no order " + ToHex(id));
      return reply(o);
    }
    Offer o;
    PROBITY_ASSIGN_OR_RETURN(bool found, GetRecord(s, OfferKey(id), &o));
    if (!found) return Status::NotFound("no offer " + ToHex(id));
    return reply(o);
  }
  if (path == "depth") {
    market::v1::QueryDepthRequest req;
    PROBITY_RETURN_IF_ERROR(parse(&req));
    if (!ValidKind(req.kind())) return Status::InvalidArgument("unknown job kind");
    const uint32_t levels = req.levels() == 0 ? 20 : std::min<uint32_t>(req.levels(), 1000);
    const uint64_t next_height = ctx.height() + 1;
    market::v1::QueryDepthResponse resp;
    Status bad;
    uint32_t scanned = 0;
    auto add = [&](google::protobuf::RepeatedPtrField<market::v1::DepthLevel>* side, uint64_t price,
                   uint64_t qty) {
      if (side->empty() || side->rbegin()->price_per_unit() != price) {
        if (static_cast<uint32_t>(side->size()) == levels) return false;
        side->Add()->set_price_per_unit(price);
      }
      auto& l = *side->rbegin();
      l.set_quantity(l.quantity() + qty);
      l.set_count(l.count() + 1);
      return true;
    };
    const Bytes ask_prefix = AskPrefix(req.kind());
    PROBITY_RETURN_IF_ERROR(
        s.Scan(ask_prefix, PrefixSuccessor(ask_prefix), [&](ByteView k, ByteView v) {
          if (++scanned > kQueryScanLimit) return false;
          if (k.size() != ask_prefix.size() + 48 || v.size() < kAskFixed) {
            bad = CorruptEntry();
            return false;
          }
          if (GetU64LE(v.data() + 32) <= next_height) return true;
          market::v1::Hardware hw;
          hw.ParseFromArray(v.data() + kAskFixed, static_cast<int>(v.size() - kAskFixed));
          if (!req.hardware_class().empty() && hw.gpu_model() != req.hardware_class()) return true;
          Hash256 id;
          std::memcpy(id.data(), k.data() + ask_prefix.size() + 16, 32);
          Offer o;
          auto found = GetRecord(s, OfferKey(id), &o);
          if (!found.ok() || !*found) {
            bad = found.ok() ? CorruptEntry() : found.status();
            return false;
          }
          return add(resp.mutable_asks(), GetU64BE(k.data() + ask_prefix.size()),
                     o.capacity() > o.active() ? o.capacity() - o.active() : 0);
        }));
    PROBITY_RETURN_IF_ERROR(bad);
    const Bytes bid_prefix = BidPrefix(req.kind());
    PROBITY_RETURN_IF_ERROR(
        s.Scan(bid_prefix, PrefixSuccessor(bid_prefix), [&](ByteView k, ByteView v) {
          if (++scanned > 2 * kQueryScanLimit) return false;
          if (k.size() != bid_prefix.size() + 48 || v.size() < kBidFixed) {
            bad = CorruptEntry();
            return false;
          }
          if (GetU64LE(v.data() + 32) <= next_height) return true;
          if (!req.hardware_class().empty()) {
            HardwareConstraints c;
            c.ParseFromArray(v.data() + kBidFixed, static_cast<int>(v.size() - kBidFixed));
            if (!c.gpu_model().empty() && c.gpu_model() != req.hardware_class()) return true;
          }
          return add(resp.mutable_bids(), ~GetU64BE(k.data() + bid_prefix.size()),
                     GetU64LE(v.data() + 40));
        }));
    PROBITY_RETURN_IF_ERROR(bad);
    return reply(resp);
  }
  if (path == "trades") {
    market::v1::QueryTradesRequest req;
    PROBITY_RETURN_IF_ERROR(parse(&req));
    if (!ValidKind(req.kind())) return Status::InvalidArgument("unknown job kind");
    PROBITY_ASSIGN_OR_RETURN(auto p, LoadParams(s));
    PROBITY_ASSIGN_OR_RETURN(uint64_t n, GetCounter(s, TradeCountKey(req.kind())));
    uint64_t kept = std::min<uint64_t>(n, p.recent_trades());
    if (req.limit() != 0) kept = std::min<uint64_t>(kept, req.limit());
    market::v1::QueryTradesResponse resp;
    for (uint64_t i = 0; i < kept; ++i) {
      const uint64_t index = n - 1 - i;
      PROBITY_ASSIGN_OR_RETURN(
          bool found,
          GetRecord(s, TradeKey(req.kind(), index % p.recent_trades()), resp.add_trades()));
      if (!found) return Status::Corruption("trade ring has a hole");
    }
    return reply(resp);
  }
  if (path == "provider") {
    market::v1::QueryProviderRequest req;
    PROBITY_RETURN_IF_ERROR(parse(&req));
    PROBITY_ASSIGN_OR_RETURN(XOnlyPubKey a, ParseAccount(req.address(), "address"));
    market::v1::QueryProviderResponse resp;
    PROBITY_RETURN_IF_ERROR(GetRecord(s, ProviderRecordKey(a), resp.mutable_record()).status());
    const Bytes prefix = KeyBuilder("po/").Bytes32(a).Take();
    std::vector<Hash256> ids;
    PROBITY_RETURN_IF_ERROR(s.Scan(prefix, PrefixSuccessor(prefix), [&](ByteView k, ByteView) {
      if (k.size() == prefix.size() + 32) {
        Hash256 id;
        std::memcpy(id.data(), k.data() + prefix.size(), 32);
        ids.push_back(id);
      }
      return ids.size() < kQueryScanLimit;
    }));
    for (const Hash256& id : ids) {
      PROBITY_RETURN_IF_ERROR(GetRecord(s, OfferKey(id), resp.add_offers()).status());
    }
    return reply(resp);
  }
  return Status::NotFound("no query 'market/" + std::string(path) + "'");
}

}  // namespace probity::contracts
