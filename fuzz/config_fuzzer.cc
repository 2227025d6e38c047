// Configuration files an operator writes or is handed: the node config (ledger::ParseToml,
// ParseNodeConfig) and the genesis file (ParseGenesis). Input: a selector byte (even: TOML,
// odd: genesis JSON), then the text. A genesis that parses must render (GenesisToJson) and
// parse back to the same genesis (GenesisHash).
#include <cstdlib>
#include <string_view>

#include "probity/ledger/genesis.h"
#include "probity/ledger/node_config.h"
#include "probity/ledger/toml.h"
#include "quiet_protobuf.h"

using namespace probity;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    (void)ledger::ParseToml(text);
    (void)ledger::ParseNodeConfig(text);
  } else {
    auto g = ledger::ParseGenesis(text);
    if (!g.ok()) return 0;
    // What parses renders and parses back to the same genesis.
    auto again = ledger::ParseGenesis(ledger::GenesisToJson(*g));
    // (The same hash, not the same text: a module section's members may come back in another
    // order. Comparing the text found that numbers above 2^53 in module sections were read
    // inexactly: ledger/tests/genesis_test.cc now refuses them.)
    if (!again.ok() || ledger::GenesisHash(*again) != ledger::GenesisHash(*g)) {
      std::abort();
    }
  }
  return 0;
}
