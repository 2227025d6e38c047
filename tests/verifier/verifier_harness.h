// TEST ONLY: `probity verifier` processes for the verifier's integration tests, on a home that
// tests/support's InitHome made (with the key HOME/keys/NAME.key) and a NodeProcess serves.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "node_harness.h"
#include "process.h"

namespace probity::verifierd::testing {

class VerifierProcess {
 public:
  // `probity verifier --home HOME --key KEY --node NODE --metrics 127.0.0.1:0 ARGS...` with the
  // harness's passphrase; waits until it writes HOME/verifier/metrics.addr (it has then bonded,
  // joined the rotation and follows the chain).
  static Result<std::unique_ptr<VerifierProcess>> Start(const std::string& home,
                                                        const std::string& key,
                                                        const std::string& node,
                                                        const std::vector<std::string>& args = {});
  // SIGTERM, then the exit status (-1 if it did not exit within `ms`).
  int Stop(int ms = 20000);

  const std::string& metrics_address() const { return metrics_; }
  ledger::testing::ChildProcess& process() { return *process_; }
  std::string Log() const { return process_->Output(); }

 private:
  std::unique_ptr<ledger::testing::ChildProcess> process_;
  std::string metrics_;
};

// One sample of a Prometheus text exposition served at `address`/metrics ("" when absent or
// unreachable): the value of the line "NAME VALUE".
std::string ScrapeMetric(const std::string& address, const std::string& name);

}  // namespace probity::verifierd::testing
