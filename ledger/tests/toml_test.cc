// The strict TOML subset and the node config built on it.
#include "probity/ledger/toml.h"

#include <doctest/doctest.h>

#include "probity/ledger/node_config.h"

using namespace probity;
using namespace probity::ledger;

TEST_CASE("TOML: tables, strings, integers, booleans, comments") {
  auto doc = ParseToml(
      "# a comment\n"
      "top = 1\n"
      "[node]\n"
      "listen = \"127.0.0.1:1\"  # trailing\n"
      "n = -1_000\n"
      "flag = true\n"
      "esc = \"a\\\"b\\\\c\\u00e9\"\n");
  REQUIRE(doc.ok());
  CHECK(std::get<int64_t>((*doc)[""]["top"]) == 1);
  CHECK(std::get<std::string>((*doc)["node"]["listen"]) == "127.0.0.1:1");
  CHECK(std::get<int64_t>((*doc)["node"]["n"]) == -1000);
  CHECK(std::get<bool>((*doc)["node"]["flag"]));
  CHECK(std::get<std::string>((*doc)["node"]["esc"]) == "a\"b\\c\xc3\xa9");
}

TEST_CASE("TOML: everything outside the subset is an error naming the line") {
  for (const char* bad : {"x = [1, 2]", "x = 1.5", "x = 'lit'", "a.b = 1", "[a.b]", "[[t]]",
                          "x = 1\nx = 2", "[t]\n[t]", "x = \"open", "x = 01", "x = 1__0",
                          "x = 9223372036854775808", "x 1", "x = 1 y", "= 1", "x = \"\\q\""}) {
    auto doc = ParseToml(bad);
    INFO(bad);
    CHECK_FALSE(doc.ok());
    CHECK(doc.status().message().find("line") != std::string::npos);
  }
  auto min = ParseToml("x = -9223372036854775808");
  REQUIRE(min.ok());
  CHECK(std::get<int64_t>((*min)[""]["x"]) == INT64_MIN);
}

TEST_CASE("node config: defaults round-trip, unknown keys and bad ranges are refused") {
  auto c = ParseNodeConfig(DefaultNodeConfigToml());
  REQUIRE(c.ok());
  CHECK(c->listen == std::string(kDefaultListen));
  CHECK(c->block_interval_ms == 100);
  CHECK(c->max_streams == 1024);
  CHECK(c->max_streams_per_client == 64);
  auto streams = ParseNodeConfig("[node]\nmax_streams = 3\n");
  REQUIRE(streams.ok());
  CHECK(streams->max_streams == 3);
  CHECK_FALSE(ParseNodeConfig("[node]\nmax_streams = 0\n").ok());
  auto custom = ParseNodeConfig("[node]\nblock_interval_ms = 250\n[mempool]\nmax_txs = 10\n");
  REQUIRE(custom.ok());
  CHECK(custom->block_interval_ms == 250);
  CHECK(custom->mempool.max_txs == 10);
  CHECK_FALSE(ParseNodeConfig("[node]\nblok_interval_ms = 1\n").ok());
  CHECK_FALSE(ParseNodeConfig("[nodes]\n").ok());
  CHECK_FALSE(ParseNodeConfig("[node]\nblock_interval_ms = 0\n").ok());
  CHECK_FALSE(ParseNodeConfig("[node]\nblock_interval_ms = \"100\"\n").ok());
  CHECK_FALSE(ParseNodeConfig("[node]\nlisten = \"nowhere\"\n").ok());
}

TEST_CASE("node config: metrics address and TLS files") {
  auto d = ParseNodeConfig(DefaultNodeConfigToml());
  REQUIRE(d.ok());
  CHECK(d->metrics_listen.empty());
  CHECK(d->tls_cert_file.empty());
  CHECK(d->tls_key_file.empty());
  auto c = ParseNodeConfig(
      "[node]\nmetrics_listen = \"127.0.0.1:9420\"\ntls_cert_file = \"tls/node.crt\"\n"
      "tls_key_file = \"/etc/probity/node.key\"\n");
  REQUIRE_MESSAGE(c.ok(), c.status().ToString());
  CHECK(c->metrics_listen == "127.0.0.1:9420");
  CHECK(c->tls_cert_file == "tls/node.crt");
  CHECK(c->tls_key_file == "/etc/probity/node.key");
  CHECK_FALSE(ParseNodeConfig("[node]\nmetrics_listen = \"9420\"\n").ok());
  CHECK_FALSE(ParseNodeConfig("[node]\nmetrics_listen = 9420\n").ok());
  CHECK_FALSE(ParseNodeConfig("[node]\ntls_cert_file = 1\ntls_key_file = \"k\"\n").ok());
  // One without the other is a mistake, not plaintext.
  auto half = ParseNodeConfig("[node]\ntls_cert_file = \"c.pem\"\n");
  CHECK(half.status().code() == Code::kInvalidArgument);
  CHECK(half.status().message().find("together") != std::string::npos);
}
