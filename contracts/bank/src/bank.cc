#include "probity/contracts/bank.h"

#include <google/protobuf/util/json_util.h>

#include <cstring>
#include <set>

#include "probity/bank/v1/bank.pb.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/sha256.h"

namespace probity::contracts {
namespace {

constexpr std::string_view kBalancePrefix = "b/";
constexpr std::string_view kSupply = "supply";

// prefix || bytes (built with memcpy: GCC 12 misreports vector::insert here).
Bytes Concat(std::string_view prefix, ByteView b) {
  Bytes k(prefix.size() + b.size());
  std::memcpy(k.data(), prefix.data(), prefix.size());
  if (!b.empty()) std::memcpy(k.data() + prefix.size(), b.data(), b.size());
  return k;
}

Bytes RelBalanceKey(const XOnlyPubKey& a) { return Concat(kBalancePrefix, a); }

Bytes EncodeAmount(uint64_t v) {
  Bytes b(8);
  PutU64LE(b.data(), v);
  return b;
}

void SetAmount(ledger::KvStore& s, ByteView key, uint64_t v) {
  if (v == 0) {
    s.Delete(key);
  } else {
    s.Set(key, EncodeAmount(v));
  }
}

types::v1::EventAttribute* Attr(types::v1::Event* e, std::string key, std::string value,
                                bool index) {
  auto* a = e->add_attributes();
  a->set_key(std::move(key));
  a->set_value(std::move(value));
  a->set_index(index);
  return a;
}

}  // namespace

Bytes Bank::BalanceKey(const XOnlyPubKey& account) {
  return Concat(std::string(kName) + "/" + std::string(kBalancePrefix), account);
}

Bytes Bank::SupplyKey() {
  std::string k = std::string(kName) + "/" + std::string(kSupply);
  return Bytes(k.begin(), k.end());
}

Result<uint64_t> Bank::DecodeAmount(const std::optional<Bytes>& value) {
  if (!value) return uint64_t{0};
  if (value->size() != 8) return Status::Corruption("stored amount is not 8 bytes");
  return GetU64LE(value->data());
}

XOnlyPubKey Bank::ModuleAccount(std::string_view module_name) {
  for (uint32_t counter = 0;; ++counter) {
    uint8_t c[4];
    PutU32LE(c, counter);
    Bytes msg = Concat(module_name, ByteView(c, 4));
    XOnlyPubKey k = TaggedHash("probity/module-account", msg);
    if (ValidateXOnlyPubKey(k).ok()) return k;
  }
}

Result<uint64_t> Bank::Balance(ledger::Context& ctx, const XOnlyPubKey& account) {
  PROBITY_ASSIGN_OR_RETURN(auto v, ctx.Store(*this).Get(RelBalanceKey(account)));
  return DecodeAmount(v);
}

Result<uint64_t> Bank::Balance(const ledger::QueryContext& ctx, const XOnlyPubKey& account) const {
  PROBITY_ASSIGN_OR_RETURN(auto v, ctx.Store(*this).Get(RelBalanceKey(account)));
  return DecodeAmount(v);
}

Result<uint64_t> Bank::Supply(ledger::Context& ctx) {
  PROBITY_ASSIGN_OR_RETURN(auto v, ctx.Store(*this).Get(AsBytes(kSupply)));
  return DecodeAmount(v);
}

Status Bank::Move(ledger::Context& ctx, const XOnlyPubKey& from, const XOnlyPubKey& to,
                  uint64_t amount, std::string_view what) {
  ledger::KvStore& s = ctx.Store(*this);
  Bytes from_key = RelBalanceKey(from);
  PROBITY_ASSIGN_OR_RETURN(auto fv, s.Get(from_key));
  PROBITY_ASSIGN_OR_RETURN(uint64_t from_balance, DecodeAmount(fv));
  if (from_balance < amount) {
    return Status::FailedPrecondition("insufficient funds: " + EncodeAddress(from) + " holds " +
                                      std::to_string(from_balance) + ", " + std::string(what) +
                                      " needs " + std::to_string(amount));
  }
  if (from == to || amount == 0) return Status::OK();
  Bytes to_key = RelBalanceKey(to);
  PROBITY_ASSIGN_OR_RETURN(auto tv, s.Get(to_key));
  PROBITY_ASSIGN_OR_RETURN(uint64_t to_balance, DecodeAmount(tv));
  if (to_balance > UINT64_MAX - amount) {
    // Impossible while balances sum to a u64 supply; a broken invariant, not user error.
    return Status::Internal("balance overflow: the supply invariant is broken");
  }
  SetAmount(s, from_key, from_balance - amount);
  SetAmount(s, to_key, to_balance + amount);
  return Status::OK();
}

Status Bank::Transfer(ledger::Context& ctx, const XOnlyPubKey& from, const XOnlyPubKey& to,
                      uint64_t amount) {
  if (amount == 0) return Status::InvalidArgument("transfer amount must be positive");
  PROBITY_RETURN_IF_ERROR(Move(ctx, from, to, amount, "the transfer"));
  types::v1::Event e;
  e.set_type(std::string(kTransferEvent));
  Attr(&e, "sender", EncodeAddress(from), true);
  Attr(&e, "recipient", EncodeAddress(to), true);
  Attr(&e, "amount", std::to_string(amount), false);
  ctx.Emit(std::move(e));
  return Status::OK();
}

Status Bank::InitGenesis(ledger::Context& ctx, std::string_view section_json) {
  bank::v1::GenesisState g;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(std::string(section_json), &g, opts);
  if (!st.ok()) return Status::InvalidArgument("bank genesis: " + std::string(st.message()));
  ledger::KvStore& s = ctx.Store(*this);
  std::set<XOnlyPubKey> seen;
  uint64_t supply = 0;
  for (const auto& b : g.balances()) {
    auto addr = DecodeAddress(b.address());
    if (!addr.ok()) return Status::InvalidArgument("bank genesis: " + addr.status().message());
    if (!seen.insert(*addr).second) {
      return Status::InvalidArgument("bank genesis: " + b.address() + " is listed twice");
    }
    if (b.amount() == 0) {
      return Status::InvalidArgument("bank genesis: " + b.address() + " has a zero balance");
    }
    if (supply > UINT64_MAX - b.amount()) {
      return Status::InvalidArgument("bank genesis: the balances add up to more than 2^64-1");
    }
    supply += b.amount();
    s.Set(RelBalanceKey(*addr), EncodeAmount(b.amount()));
  }
  s.Set(AsBytes(kSupply), EncodeAmount(supply));
  return Status::OK();
}

Status Bank::ValidateMsg(const types::v1::Msg& msg) const {
  if (msg.type_url() != kMsgSend) {
    return Status::InvalidArgument("bank does not handle " + msg.type_url());
  }
  bank::v1::MsgSend m;
  if (!ledger::ParseCanonical(AsBytes(msg.value()), &m)) {
    return Status::InvalidArgument("not a canonical MsgSend");
  }
  if (m.to().size() != 32) {
    return Status::InvalidArgument("recipient must be a 32-byte key, got " +
                                   std::to_string(m.to().size()) + " bytes");
  }
  if (m.amount() == 0) return Status::InvalidArgument("amount must be positive");
  return Status::OK();
}

Status Bank::HandleMsg(ledger::Context& ctx, const ledger::TxInfo& tx, const types::v1::Msg& msg) {
  bank::v1::MsgSend m;
  if (!m.ParseFromString(msg.value()) || m.to().size() != 32) {
    return Status::InvalidArgument("not a MsgSend");  // ValidateMsg ran first; defensive
  }
  XOnlyPubKey to;
  std::memcpy(to.data(), m.to().data(), 32);
  return Transfer(ctx, tx.signer, to, m.amount());
}

Result<Bytes> Bank::Query(const ledger::QueryContext& ctx, std::string_view path,
                          ByteView request) const {
  if (path == "balance") {
    bank::v1::QueryBalanceRequest req;
    if (!req.ParseFromArray(request.data(), static_cast<int>(request.size())) ||
        req.address().size() != 32) {
      return Status::InvalidArgument(
          "bank/balance needs a QueryBalanceRequest with a 32-byte address");
    }
    XOnlyPubKey a;
    std::memcpy(a.data(), req.address().data(), 32);
    PROBITY_ASSIGN_OR_RETURN(uint64_t amount, Balance(ctx, a));
    bank::v1::QueryBalanceResponse resp;
    resp.set_amount(amount);
    return ToBytes(AsBytes(ledger::SerializeCanonical(resp)));
  }
  if (path == "supply") {
    PROBITY_ASSIGN_OR_RETURN(auto v, ctx.Store(*this).Get(AsBytes(kSupply)));
    PROBITY_ASSIGN_OR_RETURN(uint64_t amount, DecodeAmount(v));
    bank::v1::QuerySupplyResponse resp;
    resp.set_amount(amount);
    return ToBytes(AsBytes(ledger::SerializeCanonical(resp)));
  }
  return Status::NotFound("no query 'bank/" + std::string(path) + "'");
}

Result<uint64_t> Bank::FeeBalance(const ledger::QueryContext& ctx,
                                  const XOnlyPubKey& account) const {
  return Balance(ctx, account);
}

Status Bank::ChargeFee(ledger::Context& ctx, const XOnlyPubKey& payer, uint64_t fee) {
  if (fee == 0) return Status::OK();
  static const XOnlyPubKey collector = ModuleAccount(kFeeCollector);
  return Move(ctx, payer, collector, fee, "the fee");
}

}  // namespace probity::contracts
