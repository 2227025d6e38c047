// The marketplace modules' genesis sections: the defaults survive genesis.json's round trip,
// parameters out of range and unknown fields are refused, and an absent section means the
// defaults.
#include <doctest/doctest.h>

#include "mem_context.h"
#include "probity/contracts/jobs.h"
#include "probity/contracts/market.h"
#include "probity/contracts/marketplace.h"
#include "probity/contracts/staking.h"
#include "probity/ledger/genesis.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/sha256.h"

using namespace probity;
using namespace probity::contracts;
using namespace probity::contracts::testing;

namespace {

struct Modules {
  Bank bank;
  Staking staking{&bank};
  Market market{&bank, &staking};
  Jobs jobs{&bank, &staking, &market,
            std::make_unique<verifier::Referee>(&workloads::DataCatalog::Default())};
};

}  // namespace

TEST_CASE("the default sections round-trip through genesis.json and are accepted") {
  ledger::Genesis g;
  g.chain_id = "probity-local";
  g.time_unix_ms = 1767225600000;
  g.proposer = SecretKey::FromBytes(Sha256("p")).value().PublicKey();
  g.modules = MarketplaceDefaultGenesis();
  REQUIRE(g.modules.size() == 3);
  auto parsed = ledger::ParseGenesis(ledger::GenesisToJson(g));
  REQUIRE_MESSAGE(parsed.ok(), parsed.status().ToString());
  Modules m;
  MemContext ctx;
  CHECK(m.staking.InitGenesis(ctx, parsed->modules.at("staking")).ok());
  CHECK(m.market.InitGenesis(ctx, parsed->modules.at("market")).ok());
  CHECK(m.jobs.InitGenesis(ctx, parsed->modules.at("jobs")).ok());
  CHECK(m.market.Params(ctx).value()->min_verification_level() ==
        Market::DefaultParams().min_verification_level());
  CHECK(m.staking.Params(ctx).value()->min_provider_stake() ==
        Staking::DefaultParams().min_provider_stake());
}

TEST_CASE("an absent section means the defaults, bad ones are refused with the field named") {
  Modules m;
  MemContext ctx;
  CHECK(m.staking.InitGenesis(ctx, "{}").ok());
  CHECK(m.market.InitGenesis(ctx, "{}").ok());
  CHECK(m.jobs.InitGenesis(ctx, "{}").ok());
  CHECK(m.market.InitGenesis(ctx, R"({"prams":{}})").message().find("market genesis") !=
        std::string::npos);
  auto market = Market::DefaultParams();
  market.set_min_verification_level(0);
  CHECK(Market::ValidateParams(market).message().find("min_verification_level") !=
        std::string::npos);
  market = Market::DefaultParams();
  market.set_max_price_per_unit(uint64_t{1} << 63);
  CHECK(!Market::ValidateParams(market).ok());
  auto jobs = Jobs::DefaultParams();
  jobs.set_cheat_slash_ppm(0);
  CHECK(Jobs::ValidateParams(jobs).message().find("cheating") != std::string::npos);
  jobs = Jobs::DefaultParams();
  jobs.set_challenger_reward_ppm(1'000'001);
  CHECK(!Jobs::ValidateParams(jobs).ok());
  jobs = Jobs::DefaultParams();
  jobs.set_max_opening_bytes((4u << 20) + 1);
  CHECK(!Jobs::ValidateParams(jobs).ok());
  jobs = Jobs::DefaultParams();
  jobs.set_reveal_window_blocks(0);
  CHECK(!Jobs::ValidateParams(jobs).ok());
  auto staking = Staking::DefaultParams();
  staking.set_min_provider_stake(0);
  CHECK(!Staking::ValidateParams(staking).ok());
  CHECK(m.jobs.InitGenesis(ctx, R"({"params":{"reveal_window_blocks":"0"}})").code() ==
        Code::kInvalidArgument);
}
