// genesis.json parsing: round trip, strictness, numbers as strings or numbers.
#include "probity/ledger/genesis.h"

#include <doctest/doctest.h>

#include "probity/primitives/bech32m.h"
#include "test_chain.h"

using namespace probity;
using namespace probity::ledger;

TEST_CASE("genesis round-trips through JSON and its hash pins it") {
  Genesis g = testing::TestGenesis({{"bank", "{\"balances\":[]}"}});
  g.params.min_fee = 5;
  std::string json = GenesisToJson(g);
  auto back = ParseGenesis(json);
  REQUIRE(back.ok());
  CHECK(back->chain_id == g.chain_id);
  CHECK(back->proposer == g.proposer);
  CHECK(back->params.min_fee == 5);
  CHECK(back->modules.count("bank") == 1);
  CHECK(GenesisHash(*back) == GenesisHash(g));
  Genesis other = g;
  other.params.min_fee = 6;
  CHECK(GenesisHash(other) != GenesisHash(g));
}

TEST_CASE("genesis: unknown fields, bad addresses and bad limits are refused") {
  std::string proposer = EncodeAddress(testing::TestKey(0).PublicKey());
  auto make = [&](const std::string& extra, const std::string& params) {
    return "{\"chain_id\":\"c\",\"proposer\":\"" + proposer + "\",\"params\":" + params + extra +
           "}";
  };
  const std::string ok_params =
      "{\"min_fee\":1,\"max_tx_bytes\":\"4096\",\"max_block_txs\":100,\"max_block_bytes\":100000}";
  REQUIRE(ParseGenesis(make("", ok_params)).ok());
  CHECK_FALSE(ParseGenesis(make(",\"surprise\":1", ok_params)).ok());
  CHECK_FALSE(ParseGenesis("{not json").ok());
  CHECK_FALSE(ParseGenesis(make("",
                                "{\"min_fee\":1,\"max_tx_bytes\":1,\"max_block_txs\":1,"
                                "\"max_block_bytes\":1}"))
                  .ok());
  std::string bad_proposer = make("", ok_params);
  bad_proposer.replace(bad_proposer.find(proposer), proposer.size(), "prb1nothing");
  auto r = ParseGenesis(bad_proposer);
  CHECK_FALSE(r.ok());
  CHECK(r.status().message().find("proposer") != std::string::npos);
  std::string bad_chain = make("", ok_params);
  bad_chain.replace(bad_chain.find("\"c\""), 3, "\"a b\"");
  CHECK_FALSE(ParseGenesis(bad_chain).ok());
}
