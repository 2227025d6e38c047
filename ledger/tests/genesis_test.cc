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

// Found by fuzz/config_fuzzer: module sections pass through google.protobuf.Value (doubles), so
// 9007199254740993 written as a number used to become 9007199254740992 without a word.
TEST_CASE("genesis: a module section's number that a double cannot hold is refused") {
  std::string proposer = EncodeAddress(testing::TestKey(0).PublicKey());
  auto make = [&](const std::string& amount) {
    return "{\"chain_id\":\"c\",\"proposer\":\"" + proposer +
           "\",\"params\":{\"min_fee\":1,\"max_tx_bytes\":4096,\"max_block_txs\":100,"
           "\"max_block_bytes\":100000},\"modules\":{\"bank\":{\"balances\":[{\"address\":\"" +
           proposer + "\",\"amount\":" + amount + "}]}}}";
  };
  auto refused = ParseGenesis(make("9007199254740993"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().message().find("bank") != std::string::npos);
  CHECK(refused.status().message().find("9007199254740993") != std::string::npos);
  CHECK_FALSE(ParseGenesis(make("18446744073709551615")).ok());
  CHECK_FALSE(ParseGenesis(make("-9007199254740993")).ok());
  // Exact ones pass: up to 2^53, anything as a string, and non-integers (left to the module).
  for (const char* ok : {"9007199254740992", "\"9007199254740993\"", "\"18446744073709551615\"",
                         "1000", "0", "1.5", "1e3"}) {
    CAPTURE(ok);
    auto g = ParseGenesis(make(ok));
    REQUIRE_MESSAGE(g.ok(), g.status().ToString());
  }
  auto exact = ParseGenesis(make("9007199254740992"));
  REQUIRE(exact.ok());
  CHECK(exact->modules.at("bank").find("9007199254740992") != std::string::npos);
  // Outside the module sections the typed fields read 64-bit numbers exactly, as before.
  auto params =
      ParseGenesis("{\"chain_id\":\"c\",\"proposer\":\"" + proposer +
                   "\",\"genesis_time_unix_ms\":9007199254740993,\"params\":{\"min_fee\":1,"
                   "\"max_tx_bytes\":4096,\"max_block_txs\":100,\"max_block_bytes\":100000}}");
  REQUIRE_MESSAGE(params.ok(), params.status().ToString());
  CHECK(params->time_unix_ms == 9007199254740993);
}
