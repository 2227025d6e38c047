// `probity node`: runs a node (the solo block producer, or a follower) with its gRPC service.
#include <google/protobuf/stubs/logging.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "command.h"
#include "node_metrics.h"
#include "probity/contracts/standard_modules.h"
#include "probity/ledger/node.h"
#include "probity/ledger/node_home.h"
#include "probity/ledger/node_server.h"
#include "probity/ledger/tls.h"
#include "probity/observe/observe.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/keystore.h"

namespace probity::cli {
namespace {

// PROBITY_LOG_LEVEL / PROBITY_LOG_FORMAT, then --log-level / --log-format over them.
Status ConfigureLogs(const Args& args) {
  PROBITY_RETURN_IF_ERROR(observe::ConfigureLogsFromEnv());
  if (auto level = args.Get("log-level")) {
    PROBITY_RETURN_IF_ERROR(observe::SetLogLevel(*level).WithContext("--log-level"));
  }
  if (auto format = args.Get("log-format")) {
    PROBITY_RETURN_IF_ERROR(observe::SetLogFormat(*format).WithContext("--log-format"));
  }
  return Status::OK();
}

// A path from config.toml is relative to the config folder, where the file itself is.
std::string ConfigPath(const ledger::NodeHome& home, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return home.config_dir() + "/" + path;
}

// The certificate and key: --tls-cert/--tls-key when given (both), else config.toml's.
Result<ledger::TlsServerFiles> ServerTlsFiles(const Args& args, const ledger::NodeHome& home,
                                              const ledger::NodeConfig& config) {
  if (args.Has("tls-cert") || args.Has("tls-key")) {
    if (!args.Has("tls-cert") || !args.Has("tls-key")) {
      return Status::InvalidArgument("--tls-cert and --tls-key go together");
    }
    return ledger::TlsServerFiles{args.GetOr("tls-cert", ""), args.GetOr("tls-key", "")};
  }
  return ledger::TlsServerFiles{ConfigPath(home, config.tls_cert_file),
                                ConfigPath(home, config.tls_key_file)};
}

int RunNode(const Args& args) {
  // Protobuf logs every malformed string it parses to stderr; a node parses whatever anyone
  // sends it, and answers each bad transaction itself, so those logs are only noise.
  google::protobuf::SetLogHandler(nullptr);
  if (Status s =
          args.CheckKnown({"home", "follow", "listen", "block-interval-ms", "metrics", "log-level",
                           "log-format", "tls-cert", "tls-key", "follow-tls", "follow-tls-ca"});
      !s.ok()) {
    return Fail(args, s);
  }
  if (Status s = ConfigureLogs(args); !s.ok()) return Fail(args, s);
  ledger::NodeHome home{HomeDir(args)};
  auto config = ledger::LoadNodeConfigFile(home.config_file());
  if (!config.ok()) {
    return Fail(args,
                config.status().WithContext("run 'probity init --home " + home.root + "' first"));
  }
  if (auto listen = args.Get("listen")) config->listen = *listen;
  if (auto metrics = args.Get("metrics")) config->metrics_listen = *metrics;
  auto tls_files = ServerTlsFiles(args, home, *config);
  if (!tls_files.ok()) return Fail(args, tls_files.status());
  // Checked before anything starts: a bad certificate is a start-up error, not a dead port.
  auto credentials = ledger::MakeServerCredentials(*tls_files);
  if (!credentials.ok()) return Fail(args, credentials.status());
  auto interval = args.GetU64("block-interval-ms", config->block_interval_ms);
  if (!interval.ok()) return Fail(args, interval.status());
  if (*interval == 0 || *interval > 60000) {
    return Fail(args, Status::InvalidArgument("--block-interval-ms must be within 1..60000"));
  }
  config->block_interval_ms = static_cast<uint32_t>(*interval);
  auto genesis = ledger::LoadGenesisFile(home.genesis_file());
  if (!genesis.ok()) return Fail(args, genesis.status());

  ledger::NodeOptions options;
  options.config = *config;
  options.genesis = *genesis;
  options.follow = args.GetOr("follow", "");
  options.follow_tls = {.enabled = args.Has("follow-tls"),
                        .ca_file = args.GetOr("follow-tls-ca", "")};
  if (options.follow.empty() && options.follow_tls.tls()) {
    return Fail(args, Status::InvalidArgument("--follow-tls and --follow-tls-ca need --follow"));
  }
  options.log = [](bool error, const std::string& message) {
    observe::Log(error ? observe::LogLevel::kError : observe::LogLevel::kInfo, "node", message);
  };
  if (options.follow.empty()) {
    auto pass = ReadPassphrase("Passphrase for " + home.node_key_file() + ": ", false);
    if (!pass.ok()) return Fail(args, pass.status());
    auto key = ReadKeyFile(home.node_key_file(), *pass);
    if (!key.ok()) return Fail(args, key.status());
    options.producer_key = std::make_shared<const SecretKey>(std::move(*key));
  }
  // TEST ONLY: makes a producer lie about one block's app hash, so that tests can check that
  // followers catch it (tests/ledger_cluster_test.cc). Documented in docs/ledger.md.
  if (const char* h = std::getenv("PROBITY_TEST_CORRUPT_APP_HASH_AT"); h && *h) {
    options.test_corrupt_app_hash_at = std::strtoull(h, nullptr, 10);
    std::cerr << "warning: PROBITY_TEST_CORRUPT_APP_HASH_AT is set: this node will sign a wrong "
                 "app hash at height "
              << options.test_corrupt_app_hash_at << " (test only)\n";
  }
  // TEST ONLY: the n-th block write of this process fails as a failing disk would make RocksDB
  // fail it, so that tests can check the node stops and restarts at its last committed block
  // (tests/faults/block_write_failure_test.cc). Documented in docs/ledger.md.
  if (const char* n = std::getenv("PROBITY_TEST_FAIL_BLOCK_WRITE_AT"); n && *n) {
    options.test_fail_block_write_at = std::strtoull(n, nullptr, 10);
    std::cerr << "warning: PROBITY_TEST_FAIL_BLOCK_WRITE_AT is set: write "
              << options.test_fail_block_write_at << " of this node will fail (test only)\n";
  }

  // Signals are taken synchronously by this thread; every thread started below inherits the
  // blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto node = ledger::Node::Open(home.data_dir(), options, contracts::StandardModules());
  if (!node.ok()) return Fail(args, node.status());
  auto server = ledger::NodeServer::Start(node->get(), config->listen, *credentials);
  if (!server.ok()) return Fail(args, server.status());
  // The metrics are published until `metrics` goes, before the node does.
  std::unique_ptr<NodeMetrics> node_metrics;
  std::unique_ptr<observe::MetricsServer> metrics;
  if (!config->metrics_listen.empty()) {
    node_metrics = std::make_unique<NodeMetrics>(observe::Registry::Default(), **node);
    auto m = observe::MetricsServer::Start(config->metrics_listen, observe::Registry::Default());
    if (!m.ok()) return Fail(args, m.status());
    metrics = std::move(*m);
  }
  if (Status s = ledger::WriteFileAtomically(home.address_file(), (*server)->address() + "\n");
      !s.ok()) {
    return Fail(args, s);
  }
  if (Status s = (*node)->Start(); !s.ok()) return Fail(args, s);

  ledger::NodeStatus st = (*node)->Describe();
  const std::string metrics_address = metrics ? metrics->address() : "";
  const bool tls = tls_files->enabled();
  if (args.json()) {
    std::cout << "{\"ok\":true,\"event\":\"started\",\"mode\":" << JsonString(st.mode)
              << ",\"chain_id\":" << JsonString(genesis->chain_id)
              << ",\"listen\":" << JsonString((*server)->address())
              << ",\"tls\":" << (tls ? "true" : "false")
              << ",\"metrics\":" << JsonString(metrics_address) << ",\"height\":" << st.height
              << "}" << std::endl;
  } else {
    std::cout << "probity node: " << st.mode << " of chain " << genesis->chain_id << " at height "
              << st.height << ", gRPC" << (tls ? " (TLS)" : "") << " on " << (*server)->address()
              << (metrics ? ", metrics on http://" + metrics_address + "/metrics" : "")
              << (options.follow.empty() ? "" : ", following " + options.follow) << std::endl;
  }
  observe::LogInfo("node", "node started",
                   {{"mode", st.mode},
                    {"chain_id", genesis->chain_id},
                    {"height", std::to_string(st.height)},
                    {"listen", (*server)->address()},
                    {"tls", tls ? "on" : "off"},
                    {"metrics", metrics_address}});

  int exit_code = 0;
  for (;;) {
    timespec wait{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) break;
    ledger::NodeStatus now = (*node)->Describe();
    if (!now.halted.empty() && !(*node)->is_follower()) {
      exit_code = 3;  // a producer that cannot commit must not pretend to be up
      break;
    }
  }
  metrics.reset();
  node_metrics.reset();
  (*server)->Shutdown();
  (*node)->Stop();
  std::error_code ec;
  std::filesystem::remove(home.address_file(), ec);
  if (!args.json()) std::cout << "probity node: stopped at height " << (*node)->height() << "\n";
  observe::Log(
      exit_code == 0 ? observe::LogLevel::kInfo : observe::LogLevel::kError, "node", "node stopped",
      {{"height", std::to_string((*node)->height())}, {"exit_code", std::to_string(exit_code)}});
  return exit_code;
}

}  // namespace

PROBITY_COMMAND({.path = "node",
                 .usage = "probity node [--home DIR] [--follow ADDR [--follow-tls |"
                          " --follow-tls-ca FILE]] [--listen HOST:PORT] [--block-interval-ms N]"
                          " [--tls-cert FILE --tls-key FILE] [--metrics HOST:PORT]"
                          " [--log-level debug|info|warn|error] [--log-format text|json] [--json]",
                 .summary = "run a node: the block producer, or with --follow a verifying replica",
                 .bool_flags = {"follow-tls"},
                 .run = RunNode});

}  // namespace probity::cli
