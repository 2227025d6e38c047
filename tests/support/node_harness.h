// TEST ONLY: node homes and `probity node` processes for the ledger's integration tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "probity/ledger/genesis.h"
#include "probity/ledger/node_client.h"
#include "process.h"
#include "test_chain.h"

namespace probity::ledger::testing {

// Children get this passphrase for node keys (PROBITY_PASSPHRASE).
inline const std::string kPassphraseEnv = "PROBITY_PASSPHRASE=test-passphrase";
inline const std::string kChainId = "probity-local";

// "--fund" value giving TestKey(1..accounts) `amount` each.
std::string FundFlag(int accounts, uint64_t amount);

// A signed bank transfer from TestKey(from).
Bytes Transfer(int from, const XOnlyPubKey& to, uint64_t amount, uint64_t nonce, uint64_t fee = 1,
               const std::string& chain = kChainId);

// `probity init --home HOME EXTRA...`; the output on failure.
Status InitHome(const std::string& home, const std::vector<std::string>& extra);

// A `probity node` process on HOME, listening on a free loopback port.
class NodeProcess {
 public:
  static Result<std::unique_ptr<NodeProcess>> Start(const std::string& home,
                                                    const std::vector<std::string>& extra = {},
                                                    const std::vector<std::string>& env = {});
  const std::string& address() const { return address_; }
  ChildProcess& process() { return *process_; }
  // A verifying client with the home's genesis as trust anchor.
  std::unique_ptr<NodeClient> Client() const;
  // Waits until the node reports at least `height` (false after `ms`).
  bool WaitForHeight(uint64_t height, int ms) const;
  uint64_t Height() const;  // 0 when it does not answer

 private:
  std::unique_ptr<ChildProcess> process_;
  std::string address_;
  Genesis genesis_;
};

}  // namespace probity::ledger::testing
