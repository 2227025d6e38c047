// `probity verifier`: the verifier daemon (daemon/verifierd). Bonds and joins the rotation,
// then checks and attests every job the chain assigns to its key until SIGINT or SIGTERM.
#include <signal.h>

#include <iostream>

#include "command.h"
#include "key_names.h"
#include "probity/ledger/node_client.h"
#include "probity/observe/observe.h"
#include "probity/primitives/bech32m.h"
#include "probity/verifierd/verifierd.h"

namespace probity::cli {
namespace {

int RunVerifier(const Args& args) {
  if (Status s = args.CheckKnown({"node-tls", "node-tls-ca", "home", "key", "node", "genesis",
                                  "bond", "backend", "metrics", "log-level", "log-format",
                                  "parallel", "provider-ca", "attest-margin-blocks"});
      !s.ok()) {
    return Fail(args, s);
  }
  if (Status s = observe::ConfigureLogsFromEnv(); !s.ok()) return Fail(args, s);
  if (auto level = args.Get("log-level")) {
    if (Status s = observe::SetLogLevel(*level); !s.ok()) return Fail(args, s);
  }
  if (auto format = args.Get("log-format")) {
    if (Status s = observe::SetLogFormat(*format); !s.ok()) return Fail(args, s);
  }
  auto key_name = args.Require("key");
  if (!key_name.ok()) return Fail(args, key_name.status());

  verifierd::VerifierOptions options;
  if (auto bond = args.Get("bond")) {
    auto n = args.GetU64("bond", 0);
    if (!n.ok()) return Fail(args, n.status());
    options.bond = *n;
  }
  options.backend = args.GetOr("backend", "cpu");
  if (options.backend != "cpu" && options.backend != "cuda" && options.backend != "auto") {
    return Fail(args, Status::InvalidArgument("--backend must be cpu, cuda or auto"));
  }
  auto parallel = args.GetU64("parallel", 2);
  if (!parallel.ok()) return Fail(args, parallel.status());
  if (*parallel < 1 || *parallel > 64) {
    return Fail(args, Status::InvalidArgument("--parallel must be within 1..64"));
  }
  options.parallel_jobs = static_cast<int>(*parallel);
  auto margin = args.GetU64("attest-margin-blocks", options.attest_margin_blocks);
  if (!margin.ok()) return Fail(args, margin.status());
  options.attest_margin_blocks = *margin;
  options.metrics_address = args.GetOr("metrics", "");
  if (auto ca = args.Get("provider-ca")) {
    options.provider_security.use_tls = true;
    options.provider_security.ca_file = *ca;
  }

  const std::string home_dir = HomeDir(args);
  ledger::NodeHome home{home_dir};
  auto setup = ledger::ConnectFromHome(
      home, args.GetOr("node", ""), args.GetOr("genesis", ""),
      {.enabled = args.Has("node-tls"), .ca_file = args.GetOr("node-tls-ca", "")});
  if (!setup.ok()) return Fail(args, setup.status());
  auto key = LoadNamedKey(home_dir, *key_name);
  if (!key.ok()) return Fail(args, key.status());
  options.node = std::shared_ptr<const ledger::NodeClient>(std::move(setup->client));
  options.genesis = setup->genesis;
  options.state_dir = home_dir + "/verifier";

  // Signals are taken synchronously by this thread; every thread started below inherits the
  // blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto daemon = verifierd::VerifierDaemon::Start(std::move(options), std::move(*key));
  if (!daemon.ok()) return Fail(args, daemon.status());
  const std::string account = EncodeAddress((*daemon)->account());
  if (args.json()) {
    std::cout << "{\"ok\":true,\"event\":\"started\",\"account\":" << JsonString(account)
              << ",\"backend\":" << JsonString((*daemon)->backend_name())
              << ",\"metrics\":" << JsonString((*daemon)->metrics_address())
              << ",\"state\":" << JsonString(home_dir + "/verifier") << "}" << std::endl;
  } else {
    std::cout << "probity verifier: " << account << " on the " << (*daemon)->backend_name()
              << " backend"
              << ((*daemon)->metrics_address().empty()
                      ? std::string()
                      : ", metrics on http://" + (*daemon)->metrics_address() + "/metrics")
              << std::endl;
  }
  int sig = 0;
  while (sig != SIGINT && sig != SIGTERM) sig = sigwaitinfo(&signals, nullptr);
  (*daemon)->Stop();
  const uint64_t sent = (*daemon)->attestations_sent();
  if (args.json()) {
    std::cout << "{\"ok\":true,\"event\":\"stopped\",\"attestations\":" << sent << "}" << std::endl;
  } else {
    std::cout << "probity verifier: stopped after " << sent << " attestation"
              << (sent == 1 ? "" : "s") << std::endl;
  }
  return 0;
}

}  // namespace

PROBITY_COMMAND(
    {.path = "verifier",
     .usage = "probity verifier --key NAME [--home DIR] [--node HOST:PORT] [--genesis FILE]"
              " [--node-tls | --node-tls-ca FILE]"
              " [--bond N] [--backend cpu|cuda|auto] [--parallel N] [--metrics HOST:PORT]"
              " [--provider-ca FILE] [--attest-margin-blocks N] [--log-level L]"
              " [--log-format text|json] [--json]",
     .summary = "run a verifier: bond, join the rotation, check and attest assigned jobs",
     .bool_flags = {"node-tls"},
     .run = RunVerifier});

}  // namespace probity::cli
