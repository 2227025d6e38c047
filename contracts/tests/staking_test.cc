// The staking module: bonding, unbonding, slashing (redistributed, never burnt), jailing and
// the stake-weighted verifier rotation; through the chain and through the module API.
#include "probity/contracts/staking.h"

#include <doctest/doctest.h>

#include <cmath>
#include <map>

#include "marketplace_harness.h"
#include "mem_context.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/sha256.h"

using namespace probity;
using namespace probity::contracts;
using namespace probity::contracts::testing;

namespace {

constexpr std::string_view kBond = "probity.staking.v1.MsgBond";
constexpr std::string_view kUnbond = "probity.staking.v1.MsgUnbond";
constexpr std::string_view kSetVerifier = "probity.staking.v1.MsgSetVerifier";
constexpr std::string_view kUnjail = "probity.staking.v1.MsgUnjail";

staking::v1::MsgBond Bond(uint64_t amount) {
  staking::v1::MsgBond m;
  m.set_amount(amount);
  return m;
}
staking::v1::MsgUnbond Unbond(uint64_t amount) {
  staking::v1::MsgUnbond m;
  m.set_amount(amount);
  return m;
}
staking::v1::MsgSetVerifier Verifier(bool on) {
  staking::v1::MsgSetVerifier m;
  m.set_enabled(on);
  return m;
}

const char* kSmallStaking =
    R"({"params":{"min_provider_stake":"1000","min_verifier_stake":"500","unbonding_blocks":"5",
        "jail_after_faults":3,"fault_window_blocks":"100","jail_blocks":"10",
        "max_unbonding_entries":2}})";

// Bank + staking over an in-memory store, for the module API.
struct Direct {
  Bank bank;
  Staking staking{&bank};
  MemContext ctx;
  explicit Direct(int accounts = 12, uint64_t each = 1'000'000) {
    std::string g = "{\"balances\":[";
    for (int i = 1; i <= accounts; ++i) {
      if (i > 1) g += ",";
      g += "{\"address\":\"" + EncodeAddress(Marketplace::Account(i)) + "\",\"amount\":\"" +
           std::to_string(each) + "\"}";
    }
    REQUIRE(bank.InitGenesis(ctx, g + "]}").ok());
    REQUIRE(staking.InitGenesis(ctx, kSmallStaking).ok());
    ctx.mutable_block().height = 1;
  }
  void Handle(int signer, std::string_view type, const google::protobuf::Message& m) {
    types::v1::Msg msg;
    msg.set_type_url(std::string(type));
    msg.set_value(m.SerializeAsString());
    REQUIRE(staking.ValidateMsg(msg).ok());
    ledger::TxInfo tx;
    tx.signer = Marketplace::Account(signer);
    Status st = staking.HandleMsg(ctx, tx, msg);
    REQUIRE_MESSAGE(st.ok(), st.ToString());
  }
  uint64_t Balance(const XOnlyPubKey& a) { return bank.Balance(ctx, a).value(); }
};

}  // namespace

TEST_CASE("bond and unbond: stake moves into the module account and back after the delay") {
  HarnessOptions o;
  o.staking_json = kSmallStaking;
  Marketplace m(o);
  const uint64_t before = m.Balance(Marketplace::Account(1));
  auto r = m.Run(1, kBond, Bond(5000));
  REQUIRE(r.code() == 0);
  CHECK(m.Balance(Marketplace::Account(1)) == before - 5000 - 1);
  CHECK(m.Balance(Staking::ModuleAccount()) == 5000);
  CHECK(m.Stake(1).stake().bonded() == 5000);
  CHECK(m.Stake(1).eligible_provider());

  r = m.Run(1, kUnbond, Unbond(2000));
  REQUIRE(r.code() == 0);
  const uint64_t unbond_height = m.height();
  auto s = m.Stake(1);
  CHECK(s.stake().bonded() == 3000);
  CHECK(s.stake().unbonding() == 2000);
  REQUIRE(s.unbonding_size() == 1);
  CHECK(s.unbonding(0).complete_height() == unbond_height + 5);
  m.AdvanceTo(unbond_height + 4);
  CHECK(m.Stake(1).stake().unbonding() == 2000);
  m.AdvanceTo(unbond_height + 5);
  CHECK(m.Stake(1).stake().unbonding() == 0);
  CHECK(m.Balance(Marketplace::Account(1)) == before - 3000 - 2);
  bool paid = false;
  for (const auto& e : m.last_events()) paid = paid || e.type() == "staking.unbonded";
  CHECK(paid);
}

TEST_CASE("bad staking messages are rejected with a reason and change nothing") {
  HarnessOptions o;
  o.staking_json = kSmallStaking;
  Marketplace m(o);
  REQUIRE(m.Run(1, kBond, Bond(1000)).code() == 0);
  const uint64_t staked = m.Balance(Staking::ModuleAccount());

  auto r = m.Run(1, kUnbond, Unbond(1001));  // more than bonded
  CHECK(r.code() == static_cast<uint32_t>(Code::kFailedPrecondition));
  CHECK(r.codespace() == "staking");
  CHECK(r.log().find("only 1000 is bonded") != std::string::npos);
  r = m.Run(2, kUnbond, Unbond(1));  // never bonded
  CHECK(r.code() == static_cast<uint32_t>(Code::kFailedPrecondition));
  r = m.Run(1, kBond, Bond(0));  // stateless check: refused before execution
  CHECK(r.codespace() == "ledger");
  r = m.Run(3, kBond, Bond(2'000'000'000'000));  // more than the balance
  CHECK(r.log().find("insufficient funds") != std::string::npos);
  r = m.Run(1, kUnjail, staking::v1::MsgUnjail());
  CHECK(r.log().find("not jailed") != std::string::npos);
  r = m.Run(2, kSetVerifier, Verifier(true));  // no stake
  CHECK(r.log().find("a verifier needs 500 bonded") != std::string::npos);
  r = m.Run(1, kSetVerifier, Verifier(false));
  CHECK(r.log().find("not a verifier") != std::string::npos);
  // Two entries at most; a third (at another height) is refused.
  REQUIRE(m.Run(1, kUnbond, Unbond(1)).code() == 0);
  REQUIRE(m.Run(1, kUnbond, Unbond(1)).code() == 0);
  r = m.Run(1, kUnbond, Unbond(1));
  CHECK(r.code() == static_cast<uint32_t>(Code::kResourceExhausted));
  CHECK(m.Balance(Staking::ModuleAccount()) == staked);
  CHECK(m.Stake(1).stake().bonded() == 998);
}

TEST_CASE("slash: bonded first, then unbonding entries newest first, shares and pool") {
  Direct d;
  d.Handle(1, kBond, Bond(10'000));
  d.Handle(1, kUnbond, Unbond(3'000));  // completes at 6
  d.ctx.mutable_block().height = 2;
  d.Handle(1, kUnbond, Unbond(5'000));  // completes at 7
  // bonded 2000, unbonding 8000: slash 50% = 5000: 2000 bonded + 3000 of the newest entry.
  const XOnlyPubKey challenger = Marketplace::Account(2);
  const uint64_t c0 = d.Balance(challenger);
  Staking::SlashShare shares[] = {{challenger, 400'000}};
  auto amount = d.staking.Slash(d.ctx, Marketplace::Account(1), 500'000, "test", shares);
  REQUIRE(amount.ok());
  CHECK(*amount == 5'000);
  auto s = d.staking.GetStake(d.ctx, Marketplace::Account(1)).value();
  CHECK(s.bonded() == 0);
  CHECK(s.unbonding() == 5'000);
  CHECK(s.slashed_total() == 5'000);
  CHECK(s.faults() == 1);
  CHECK(d.Balance(challenger) == c0 + 2'000);
  CHECK(d.Balance(Staking::CommunityPool()) == 3'000);
  CHECK(d.Balance(Staking::ModuleAccount()) == 5'000);
  // The entries: 3000 at height 6 untouched, 2000 left at height 7.
  d.ctx.mutable_block().height = 6;
  const uint64_t b0 = d.Balance(Marketplace::Account(1));
  REQUIRE(d.staking.EndBlock(d.ctx).ok());
  CHECK(d.Balance(Marketplace::Account(1)) == b0 + 3'000);
  d.ctx.mutable_block().height = 7;
  REQUIRE(d.staking.EndBlock(d.ctx).ok());
  CHECK(d.Balance(Marketplace::Account(1)) == b0 + 5'000);
  CHECK(d.Balance(Staking::ModuleAccount()) == 0);

  // Bad fractions are refused and change nothing.
  Staking::SlashShare too_much[] = {{challenger, 600'000}, {challenger, 500'000}};
  CHECK(!d.staking.Slash(d.ctx, Marketplace::Account(1), 1, "x", too_much).ok());
  CHECK(!d.staking.Slash(d.ctx, Marketplace::Account(1), 1'000'001, "x", {}).ok());
  // Slashing an account without stake takes nothing but counts the fault.
  CHECK(d.staking.Slash(d.ctx, Marketplace::Account(5), 500'000, "x", {}).value() == 0);
  CHECK(d.staking.GetStake(d.ctx, Marketplace::Account(5)).value().faults() == 1);
}

TEST_CASE("repeated faults jail: no provider eligibility, out of the rotation, unjail later") {
  Direct d;
  d.Handle(1, kBond, Bond(10'000));
  d.Handle(1, kSetVerifier, Verifier(true));
  const XOnlyPubKey a = Marketplace::Account(1);
  CHECK(d.staking.EligibleProvider(d.ctx, a).value());
  Hash256 seed{};
  CHECK(d.staking.PickVerifier(d.ctx, seed, {}).value() == a);
  for (int i = 0; i < 2; ++i) {
    REQUIRE(d.staking.Slash(d.ctx, a, 1'000, "fault", {}).ok());
  }
  CHECK(!d.staking.GetStake(d.ctx, a).value().jailed());
  REQUIRE(d.staking.Slash(d.ctx, a, 1'000, "fault", {}).ok());
  auto s = d.staking.GetStake(d.ctx, a).value();
  CHECK(s.jailed());
  CHECK(s.jailed_until() == 11);
  CHECK(!d.staking.EligibleProvider(d.ctx, a).value());
  CHECK(!d.staking.PickVerifier(d.ctx, seed, {}).value().has_value());
  bool jail_event = false;
  for (const auto& e : d.ctx.events) jail_event = jail_event || e.type() == "staking.jail";
  CHECK(jail_event);

  types::v1::Msg msg;
  msg.set_type_url(std::string(kUnjail));
  ledger::TxInfo tx;
  tx.signer = a;
  d.ctx.mutable_block().height = 10;
  CHECK(d.staking.HandleMsg(d.ctx, tx, msg).message().find("jailed until height 11") !=
        std::string::npos);
  d.ctx.mutable_block().height = 11;
  REQUIRE(d.staking.HandleMsg(d.ctx, tx, msg).ok());
  CHECK(d.staking.EligibleProvider(d.ctx, a).value());
  CHECK(d.staking.PickVerifier(d.ctx, seed, {}).value() == a);

  // Faults outside the window do not add up.
  d.ctx.mutable_block().height = 20;
  REQUIRE(d.staking.Slash(d.ctx, a, 1, "fault", {}).ok());
  REQUIRE(d.staking.Slash(d.ctx, a, 1, "fault", {}).ok());
  d.ctx.mutable_block().height = 200;
  REQUIRE(d.staking.Slash(d.ctx, a, 1, "fault", {}).ok());
  CHECK(!d.staking.GetStake(d.ctx, a).value().jailed());
}

TEST_CASE("verifier rotation: deterministic, stake-weighted, excludes whom it is told") {
  Direct d;
  const uint64_t stakes[] = {1'000, 2'000, 3'000, 4'000};
  for (int i = 0; i < 4; ++i) {
    d.Handle(i + 1, kBond, Bond(stakes[i]));
    d.Handle(i + 1, kSetVerifier, Verifier(true));
  }
  d.Handle(5, kBond, Bond(400));  // below min_verifier_stake: cannot join
  std::map<XOnlyPubKey, int> hits;
  const int kDraws = 20'000;
  for (int n = 0; n < kDraws; ++n) {
    Hash256 seed = Sha256("seed " + std::to_string(n));
    auto v = d.staking.PickVerifier(d.ctx, seed, {}).value();
    REQUIRE(v.has_value());
    CHECK(d.staking.PickVerifier(d.ctx, seed, {}).value() == v);  // deterministic
    hits[*v]++;
  }
  for (int i = 0; i < 4; ++i) {
    const double expected = kDraws * stakes[i] / 10'000.0;
    const double sd = std::sqrt(expected * (1 - stakes[i] / 10'000.0));
    CHECK(std::abs(hits[Marketplace::Account(i + 1)] - expected) < 5 * sd);
  }
  // Excluding the heaviest: never picked; the others share its weight.
  const XOnlyPubKey heavy[] = {Marketplace::Account(4)};
  for (int n = 0; n < 500; ++n) {
    auto v = d.staking.PickVerifier(d.ctx, Sha256("x" + std::to_string(n)), heavy).value();
    REQUIRE(v.has_value());
    CHECK(*v != Marketplace::Account(4));
  }
  const XOnlyPubKey all[] = {Marketplace::Account(1), Marketplace::Account(2),
                             Marketplace::Account(3), Marketplace::Account(4)};
  CHECK(!d.staking.PickVerifier(d.ctx, Hash256{}, all).value().has_value());
  // Unbonding below the minimum leaves the rotation; leaving it on request too.
  d.Handle(1, kUnbond, Unbond(600));
  d.Handle(2, kSetVerifier, Verifier(false));
  const XOnlyPubKey rest[] = {Marketplace::Account(3), Marketplace::Account(4)};
  CHECK(!d.staking.PickVerifier(d.ctx, Hash256{}, rest).value().has_value());
}
