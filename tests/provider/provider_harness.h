// TEST ONLY: `probity provider` processes for the provider's integration tests, on a home that
// tests/support's InitHome made and a NodeProcess serves.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "node_harness.h"
#include "process.h"

namespace probity::provider::testing {

// A free TCP port on 127.0.0.1 (so that a restarted provider keeps its advertised endpoint).
int FreePort();

// Writes HOME/keys/NAME.key holding `key`, under the harness's passphrase (fast scrypt).
Status WriteTestKey(const std::string& home, const std::string& name, const SecretKey& key);

class ProviderProcess {
 public:
  // `probity provider --home HOME ARGS...` with the harness's passphrase and `env`; waits
  // until it writes HOME/provider/provider.addr (it then serves and has its offer up).
  static Result<std::unique_ptr<ProviderProcess>> Start(const std::string& home,
                                                        const std::vector<std::string>& args,
                                                        const std::vector<std::string>& env = {});
  const std::string& address() const { return address_; }
  ledger::testing::ChildProcess& process() { return *process_; }
  std::string Log() const { return process_->Output(); }

 private:
  std::unique_ptr<ledger::testing::ChildProcess> process_;
  std::string address_;
};

}  // namespace probity::provider::testing
