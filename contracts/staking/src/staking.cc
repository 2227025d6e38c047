#include "probity/contracts/staking.h"

#include <algorithm>
#include <vector>

#include "probity/contracts/module_state.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/sha256.h"

namespace probity::contracts {
namespace {

using staking::v1::Stake;

constexpr std::string_view kMsgBond = "probity.staking.v1.MsgBond";
constexpr std::string_view kMsgUnbond = "probity.staking.v1.MsgUnbond";
constexpr std::string_view kMsgSetVerifier = "probity.staking.v1.MsgSetVerifier";
constexpr std::string_view kMsgUnjail = "probity.staking.v1.MsgUnjail";

constexpr std::string_view kParamsKey = "params";
constexpr std::string_view kVerifierWeightKey = "vw";
constexpr std::string_view kTotalKey = "total";

Bytes StakeKey(const XOnlyPubKey& a) { return KeyBuilder("s/").Bytes32(a).Take(); }
Bytes QueueKey(uint64_t height, const XOnlyPubKey& a) {
  return KeyBuilder("uq/").U64(height).Bytes32(a).Take();
}
Bytes AccountEntryKey(const XOnlyPubKey& a, uint64_t height) {
  return KeyBuilder("ua/").Bytes32(a).U64(height).Take();
}
Bytes VerifierKey(const XOnlyPubKey& a) { return KeyBuilder("v/").Bytes32(a).Take(); }
Bytes LockKey(const XOnlyPubKey& a) { return KeyBuilder("l/").Bytes32(a).Take(); }

template <typename M>
Result<M> Decode(const types::v1::Msg& msg) {
  M m;
  if (!ledger::ParseCanonical(AsBytes(msg.value()), &m)) {
    return Status::InvalidArgument("not a canonical " + std::string(m.GetTypeName()));
  }
  return m;
}

uint64_t VerifierWeight(const Stake& s, const staking::v1::Params& p) {
  return s.verifier() && !s.jailed() && s.bonded() >= p.min_verifier_stake() ? s.bonded() : 0;
}

struct Entry {
  uint64_t height;
  uint64_t amount;
};

// The account's unbonding entries, oldest first.
Result<std::vector<Entry>> Entries(const ledger::KvReader& store, const XOnlyPubKey& a) {
  Bytes begin = KeyBuilder("ua/").Bytes32(a).Take();
  Bytes end = PrefixSuccessor(begin);
  std::vector<Entry> out;
  Status bad;
  PROBITY_RETURN_IF_ERROR(store.Scan(begin, end, [&](ByteView k, ByteView v) {
    if (k.size() != begin.size() + 8 || v.size() != 8) {
      bad = Status::Corruption("malformed unbonding entry");
      return false;
    }
    out.push_back({GetU64BE(k.data() + begin.size()), GetU64LE(v.data())});
    return true;
  }));
  PROBITY_RETURN_IF_ERROR(bad);
  return out;
}

Result<staking::v1::Params> LoadParams(const ledger::KvReader& store) {
  staking::v1::Params p;
  PROBITY_ASSIGN_OR_RETURN(bool found, GetRecord(store, AsBytes(kParamsKey), &p));
  if (!found) return Status::Corruption("staking params missing from state");
  return p;
}

}  // namespace

staking::v1::Params Staking::DefaultParams() {
  staking::v1::Params p;
  p.set_min_provider_stake(1'000'000);
  p.set_min_verifier_stake(500'000);
  // Longer than any job can stay open (commit deadline + reveal + attest rounds + challenge
  // window + disputes under the market and jobs defaults), so stake behind a job is still
  // there when its dispute ends.
  p.set_unbonding_blocks(100'000);
  p.set_jail_after_faults(3);
  p.set_fault_window_blocks(50'000);
  p.set_jail_blocks(20'000);
  p.set_max_unbonding_entries(8);
  return p;
}

std::string Staking::DefaultGenesisJson() {
  staking::v1::GenesisState g;
  *g.mutable_params() = DefaultParams();
  return ToGenesisJson(g);
}

Status Staking::ValidateParams(const staking::v1::Params& p) {
  if (p.min_provider_stake() == 0 || p.min_verifier_stake() == 0) {
    return Status::InvalidArgument("staking params: minimum stakes must be positive");
  }
  if (p.unbonding_blocks() == 0 || p.fault_window_blocks() == 0 || p.jail_blocks() == 0) {
    return Status::InvalidArgument("staking params: durations must be at least one block");
  }
  if (p.jail_after_faults() == 0) {
    return Status::InvalidArgument("staking params: jail_after_faults must be at least 1");
  }
  if (p.max_unbonding_entries() == 0 || p.max_unbonding_entries() > 64) {
    return Status::InvalidArgument("staking params: max_unbonding_entries must be 1..64");
  }
  return Status::OK();
}

std::vector<std::string> Staking::MessageTypes() const {
  return {std::string(kMsgBond), std::string(kMsgUnbond), std::string(kMsgSetVerifier),
          std::string(kMsgUnjail)};
}

Result<const staking::v1::Params*> Staking::Params(ledger::Context& ctx) {
  if (!params_) {
    PROBITY_ASSIGN_OR_RETURN(params_, LoadParams(ctx.Store(*this)));
  }
  return &*params_;
}

Status Staking::InitGenesis(ledger::Context& ctx, std::string_view section_json) {
  params_.reset();
  staking::v1::GenesisState g;
  PROBITY_RETURN_IF_ERROR(ParseGenesisJson(kName, section_json, &g));
  staking::v1::Params p = g.has_params() ? g.params() : DefaultParams();
  PROBITY_RETURN_IF_ERROR(ValidateParams(p));
  PutRecord(ctx.Store(*this), AsBytes(kParamsKey), p);
  return Status::OK();
}

Result<Stake> Staking::GetStake(ledger::Context& ctx, const XOnlyPubKey& account) {
  Stake s;
  PROBITY_RETURN_IF_ERROR(GetRecord(ctx.Store(*this), StakeKey(account), &s).status());
  return s;
}

Result<bool> Staking::EligibleProvider(ledger::Context& ctx, const XOnlyPubKey& account) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  PROBITY_ASSIGN_OR_RETURN(Stake s, GetStake(ctx, account));
  return !s.jailed() && s.bonded() >= p.min_provider_stake();
}

Status Staking::PutStake(ledger::Context& ctx, const XOnlyPubKey& account, const Stake& stake) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  ledger::KvStore& s = ctx.Store(*this);
  PutRecord(s, StakeKey(account), stake);
  // Keep the rotation index in step with the stake.
  const Bytes vkey = VerifierKey(account);
  PROBITY_ASSIGN_OR_RETURN(uint64_t old_weight, GetCounter(s, vkey));
  uint64_t new_weight = VerifierWeight(stake, p);
  if (old_weight != new_weight) {
    PROBITY_ASSIGN_OR_RETURN(uint64_t total, GetCounter(s, AsBytes(kVerifierWeightKey)));
    if (total < old_weight) return Status::Corruption("verifier weights exceed their sum");
    PutCounter(s, vkey, new_weight);
    PutCounter(s, AsBytes(kVerifierWeightKey), total - old_weight + new_weight);
  }
  return Status::OK();
}

Status Staking::AddTotal(ledger::Context& ctx, uint64_t add, uint64_t sub) {
  ledger::KvStore& s = ctx.Store(*this);
  PROBITY_ASSIGN_OR_RETURN(uint64_t total, GetCounter(s, AsBytes(kTotalKey)));
  if (total + add < sub) return Status::Corruption("staking total would go negative");
  PutCounter(s, AsBytes(kTotalKey), total + add - sub);
  return Status::OK();
}

Status Staking::Bond(ledger::Context& ctx, const XOnlyPubKey& account, uint64_t amount) {
  PROBITY_ASSIGN_OR_RETURN(Stake s, GetStake(ctx, account));
  PROBITY_ASSIGN_OR_RETURN(uint64_t bonded, CheckedAdd(s.bonded(), amount, "bonded stake"));
  PROBITY_RETURN_IF_ERROR(bank_->Transfer(ctx, account, ModuleAccount(), amount));
  s.set_bonded(bonded);
  PROBITY_RETURN_IF_ERROR(PutStake(ctx, account, s));
  PROBITY_RETURN_IF_ERROR(AddTotal(ctx, amount, 0));
  EventBuilder("staking.bond")
      .Account("account", account)
      .Number("amount", amount)
      .Number("bonded", bonded)
      .EmitTo(ctx);
  return Status::OK();
}

Status Staking::Unbond(ledger::Context& ctx, const XOnlyPubKey& account, uint64_t amount) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  PROBITY_ASSIGN_OR_RETURN(Stake s, GetStake(ctx, account));
  if (amount > s.bonded()) {
    return Status::FailedPrecondition("cannot unbond " + std::to_string(amount) + ": only " +
                                      std::to_string(s.bonded()) + " is bonded");
  }
  ledger::KvStore& store = ctx.Store(*this);
  PROBITY_ASSIGN_OR_RETURN(uint64_t locks, GetCounter(store, LockKey(account)));
  if (locks > 0 && s.bonded() - amount < p.min_provider_stake()) {
    return Status::FailedPrecondition(
        std::to_string(locks) + " unsettled jobs or attestations hold the stake: at least " +
        std::to_string(p.min_provider_stake()) + " stays bonded until they settle");
  }
  const uint64_t complete = ctx.block().height + p.unbonding_blocks();
  PROBITY_ASSIGN_OR_RETURN(auto entries, Entries(store, account));
  const bool merge = !entries.empty() && entries.back().height == complete;
  if (!merge && entries.size() >= p.max_unbonding_entries()) {
    return Status::ResourceExhausted("already " + std::to_string(entries.size()) +
                                     " unbonding entries; wait for one to complete");
  }
  const uint64_t entry_amount = (merge ? entries.back().amount : 0) + amount;
  PutCounter(store, QueueKey(complete, account), entry_amount);
  PutCounter(store, AccountEntryKey(account, complete), entry_amount);
  s.set_bonded(s.bonded() - amount);
  s.set_unbonding(s.unbonding() + amount);
  PROBITY_RETURN_IF_ERROR(PutStake(ctx, account, s));
  EventBuilder("staking.unbond")
      .Account("account", account)
      .Number("amount", amount)
      .Number("complete_height", complete)
      .EmitTo(ctx);
  return Status::OK();
}

Status Staking::SetVerifier(ledger::Context& ctx, const XOnlyPubKey& account, bool enabled) {
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  PROBITY_ASSIGN_OR_RETURN(Stake s, GetStake(ctx, account));
  if (enabled && s.bonded() < p.min_verifier_stake()) {
    return Status::FailedPrecondition("a verifier needs " + std::to_string(p.min_verifier_stake()) +
                                      " bonded; the account has " + std::to_string(s.bonded()));
  }
  if (s.verifier() == enabled) {
    return Status::FailedPrecondition(enabled ? "already a verifier" : "not a verifier");
  }
  s.set_verifier(enabled);
  PROBITY_RETURN_IF_ERROR(PutStake(ctx, account, s));
  EventBuilder("staking.verifier")
      .Account("account", account)
      .Attr("enabled", enabled ? "true" : "false")
      .EmitTo(ctx);
  return Status::OK();
}

Status Staking::Unjail(ledger::Context& ctx, const XOnlyPubKey& account) {
  PROBITY_ASSIGN_OR_RETURN(Stake s, GetStake(ctx, account));
  if (!s.jailed()) return Status::FailedPrecondition("the account is not jailed");
  if (ctx.block().height < s.jailed_until()) {
    return Status::FailedPrecondition("jailed until height " + std::to_string(s.jailed_until()));
  }
  s.set_jailed(false);
  s.set_jailed_until(0);
  PROBITY_RETURN_IF_ERROR(PutStake(ctx, account, s));
  EventBuilder("staking.unjail").Account("account", account).EmitTo(ctx);
  return Status::OK();
}

Result<uint64_t> Staking::Slash(ledger::Context& ctx, const XOnlyPubKey& offender,
                                uint32_t fraction_ppm, std::string_view reason,
                                std::span<const SlashShare> shares) {
  uint64_t share_sum = 0;
  for (const auto& sh : shares) share_sum += sh.ppm;
  if (fraction_ppm > kMillion || share_sum > kMillion) {
    return Status::InvalidArgument("slash fractions above one million ppm");
  }
  PROBITY_ASSIGN_OR_RETURN(const auto* params, Params(ctx));
  const auto& p = *params;
  PROBITY_ASSIGN_OR_RETURN(Stake s, GetStake(ctx, offender));
  ledger::KvStore& store = ctx.Store(*this);
  const uint64_t amount = PartPerMillion(s.bonded() + s.unbonding(), fraction_ppm);
  const uint64_t from_bonded = std::min(amount, s.bonded());
  uint64_t rest = amount - from_bonded;
  s.set_bonded(s.bonded() - from_bonded);
  if (rest > 0) {
    PROBITY_ASSIGN_OR_RETURN(auto entries, Entries(store, offender));
    for (auto it = entries.rbegin(); it != entries.rend() && rest > 0; ++it) {
      uint64_t take = std::min(rest, it->amount);
      PutCounter(store, QueueKey(it->height, offender), it->amount - take);
      PutCounter(store, AccountEntryKey(offender, it->height), it->amount - take);
      rest -= take;
    }
    if (rest != 0) return Status::Corruption("unbonding entries do not add up to the stake");
    s.set_unbonding(s.unbonding() - (amount - from_bonded));
  }
  s.set_slashed_total(s.slashed_total() + amount);

  const uint64_t height = ctx.block().height;
  if (s.faults() == 0 || height >= s.fault_window_start() + p.fault_window_blocks()) {
    s.set_faults(0);
    s.set_fault_window_start(height);
  }
  s.set_faults(s.faults() + 1);
  bool jailed_now = false;
  if (s.faults() >= p.jail_after_faults() && !s.jailed()) {
    s.set_jailed(true);
    s.set_jailed_until(height + p.jail_blocks());
    s.set_faults(0);
    jailed_now = true;
  }
  PROBITY_RETURN_IF_ERROR(PutStake(ctx, offender, s));
  PROBITY_RETURN_IF_ERROR(AddTotal(ctx, 0, amount));

  uint64_t paid = 0;
  for (const auto& sh : shares) {
    uint64_t part = PartPerMillion(amount, sh.ppm);
    if (part == 0) continue;
    PROBITY_RETURN_IF_ERROR(bank_->Transfer(ctx, ModuleAccount(), sh.to, part));
    paid += part;
  }
  if (amount > paid) {
    PROBITY_RETURN_IF_ERROR(bank_->Transfer(ctx, ModuleAccount(), CommunityPool(), amount - paid));
  }
  EventBuilder("staking.slash")
      .Account("account", offender)
      .Number("amount", amount)
      .Attr("reason", std::string(reason))
      .EmitTo(ctx);
  if (jailed_now) {
    EventBuilder("staking.jail")
        .Account("account", offender)
        .Number("until", s.jailed_until())
        .EmitTo(ctx);
  }
  return amount;
}

Status Staking::Lock(ledger::Context& ctx, const XOnlyPubKey& account) {
  ledger::KvStore& store = ctx.Store(*this);
  const Bytes key = LockKey(account);
  PROBITY_ASSIGN_OR_RETURN(uint64_t locks, GetCounter(store, key));
  PutCounter(store, key, locks + 1);
  return Status::OK();
}

Status Staking::Unlock(ledger::Context& ctx, const XOnlyPubKey& account) {
  ledger::KvStore& store = ctx.Store(*this);
  const Bytes key = LockKey(account);
  PROBITY_ASSIGN_OR_RETURN(uint64_t locks, GetCounter(store, key));
  if (locks == 0) return Status::Corruption("unlocking an account without locks");
  PutCounter(store, key, locks - 1);
  return Status::OK();
}

Result<std::optional<XOnlyPubKey>> Staking::PickVerifier(ledger::Context& ctx, const Hash256& seed,
                                                         std::span<const XOnlyPubKey> exclude) {
  ledger::KvStore& store = ctx.Store(*this);
  PROBITY_ASSIGN_OR_RETURN(uint64_t total, GetCounter(store, AsBytes(kVerifierWeightKey)));
  for (const auto& x : exclude) {
    PROBITY_ASSIGN_OR_RETURN(uint64_t w, GetCounter(store, VerifierKey(x)));
    if (w > total) return Status::Corruption("verifier weight exceeds the total");
    total -= w;
  }
  if (total == 0) return std::optional<XOnlyPubKey>();
  Hash256 r = TaggedHash("probity/verifier", seed);
  const uint64_t target =
      static_cast<uint64_t>((static_cast<unsigned __int128>(GetU64LE(r.data())) * total) >> 64);
  const Bytes begin = KeyBuilder("v/").Take();
  uint64_t acc = 0;
  std::optional<XOnlyPubKey> chosen;
  Status bad;
  PROBITY_RETURN_IF_ERROR(store.Scan(begin, PrefixSuccessor(begin), [&](ByteView k, ByteView v) {
    if (k.size() != 2 + 32 || v.size() != 8) {
      bad = Status::Corruption("malformed verifier entry");
      return false;
    }
    XOnlyPubKey a;
    std::copy(k.begin() + 2, k.end(), a.begin());
    if (std::find(exclude.begin(), exclude.end(), a) != exclude.end()) return true;
    acc += GetU64LE(v.data());
    if (acc > target) {
      chosen = a;
      return false;
    }
    return true;
  }));
  PROBITY_RETURN_IF_ERROR(bad);
  if (!chosen) return Status::Corruption("verifier weights do not add up to their sum");
  return chosen;
}

Status Staking::ValidateMsg(const types::v1::Msg& msg) const {
  const std::string& t = msg.type_url();
  if (t == kMsgBond) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<staking::v1::MsgBond>(msg));
    if (m.amount() == 0) return Status::InvalidArgument("bond amount must be positive");
    return Status::OK();
  }
  if (t == kMsgUnbond) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<staking::v1::MsgUnbond>(msg));
    if (m.amount() == 0) return Status::InvalidArgument("unbond amount must be positive");
    return Status::OK();
  }
  if (t == kMsgSetVerifier) return Decode<staking::v1::MsgSetVerifier>(msg).status();
  if (t == kMsgUnjail) return Decode<staking::v1::MsgUnjail>(msg).status();
  return Status::InvalidArgument("staking does not handle " + t);
}

Status Staking::HandleMsg(ledger::Context& ctx, const ledger::TxInfo& tx,
                          const types::v1::Msg& msg) {
  // ValidateMsg ran before; decoding again only recovers the fields.
  const std::string& t = msg.type_url();
  if (t == kMsgBond) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<staking::v1::MsgBond>(msg));
    return Bond(ctx, tx.signer, m.amount());
  }
  if (t == kMsgUnbond) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<staking::v1::MsgUnbond>(msg));
    return Unbond(ctx, tx.signer, m.amount());
  }
  if (t == kMsgSetVerifier) {
    PROBITY_ASSIGN_OR_RETURN(auto m, Decode<staking::v1::MsgSetVerifier>(msg));
    return SetVerifier(ctx, tx.signer, m.enabled());
  }
  if (t == kMsgUnjail) return Unjail(ctx, tx.signer);
  return Status::InvalidArgument("staking does not handle " + t);
}

Status Staking::EndBlock(ledger::Context& ctx) {
  ledger::KvStore& store = ctx.Store(*this);
  const uint64_t height = ctx.block().height;
  const Bytes begin = KeyBuilder("uq/").Take();
  const Bytes end = KeyBuilder("uq/").U64(height + 1).Take();
  struct Due {
    uint64_t height;
    XOnlyPubKey account;
    uint64_t amount;
  };
  std::vector<Due> due;
  Status bad;
  PROBITY_RETURN_IF_ERROR(store.Scan(begin, end, [&](ByteView k, ByteView v) {
    if (k.size() != 3 + 8 + 32 || v.size() != 8) {
      bad = Status::Corruption("malformed unbonding queue entry");
      return false;
    }
    Due d;
    d.height = GetU64BE(k.data() + 3);
    std::copy(k.begin() + 11, k.end(), d.account.begin());
    d.amount = GetU64LE(v.data());
    due.push_back(d);
    return true;
  }));
  PROBITY_RETURN_IF_ERROR(bad);
  for (const Due& d : due) {
    store.Delete(QueueKey(d.height, d.account));
    store.Delete(AccountEntryKey(d.account, d.height));
    PROBITY_ASSIGN_OR_RETURN(Stake s, GetStake(ctx, d.account));
    if (s.unbonding() < d.amount) return Status::Corruption("unbonding entry exceeds the stake");
    s.set_unbonding(s.unbonding() - d.amount);
    PROBITY_RETURN_IF_ERROR(PutStake(ctx, d.account, s));
    PROBITY_RETURN_IF_ERROR(AddTotal(ctx, 0, d.amount));
    PROBITY_RETURN_IF_ERROR(bank_->Transfer(ctx, ModuleAccount(), d.account, d.amount));
    EventBuilder("staking.unbonded")
        .Account("account", d.account)
        .Number("amount", d.amount)
        .EmitTo(ctx);
  }
  return Status::OK();
}

Result<Bytes> Staking::Query(const ledger::QueryContext& ctx, std::string_view path,
                             ByteView request) const {
  const ledger::KvReader& store = ctx.Store(*this);
  auto reply = [](const google::protobuf::Message& m) {
    return ToBytes(AsBytes(ledger::SerializeCanonical(m)));
  };
  if (path == "params") {
    PROBITY_ASSIGN_OR_RETURN(auto p, LoadParams(store));
    return reply(p);
  }
  if (path == "stake") {
    staking::v1::QueryStakeRequest req;
    if (!req.ParseFromArray(request.data(), static_cast<int>(request.size()))) {
      return Status::InvalidArgument("staking/stake needs a QueryStakeRequest");
    }
    PROBITY_ASSIGN_OR_RETURN(XOnlyPubKey a, ParseAccount(req.address(), "address"));
    PROBITY_ASSIGN_OR_RETURN(auto p, LoadParams(store));
    staking::v1::QueryStakeResponse resp;
    PROBITY_RETURN_IF_ERROR(GetRecord(store, StakeKey(a), resp.mutable_stake()).status());
    PROBITY_ASSIGN_OR_RETURN(auto entries, Entries(store, a));
    for (const auto& e : entries) {
      auto* u = resp.add_unbonding();
      u->set_amount(e.amount);
      u->set_complete_height(e.height);
    }
    const Stake& s = resp.stake();
    resp.set_eligible_provider(!s.jailed() && s.bonded() >= p.min_provider_stake());
    resp.set_eligible_verifier(VerifierWeight(s, p) > 0);
    return reply(resp);
  }
  if (path == "verifiers") {
    staking::v1::QueryVerifiersResponse resp;
    const Bytes begin = KeyBuilder("v/").Take();
    Status bad;
    PROBITY_RETURN_IF_ERROR(store.Scan(begin, PrefixSuccessor(begin), [&](ByteView k, ByteView v) {
      if (k.size() != 34 || v.size() != 8) {
        bad = Status::Corruption("malformed verifier entry");
        return false;
      }
      auto* w = resp.add_verifiers();
      w->set_address(std::string(reinterpret_cast<const char*>(k.data()) + 2, 32));
      w->set_weight(GetU64LE(v.data()));
      return true;
    }));
    PROBITY_RETURN_IF_ERROR(bad);
    PROBITY_ASSIGN_OR_RETURN(uint64_t total, GetCounter(store, AsBytes(kVerifierWeightKey)));
    resp.set_total_weight(total);
    return reply(resp);
  }
  return Status::NotFound("no query 'staking/" + std::string(path) + "'");
}

}  // namespace probity::contracts
