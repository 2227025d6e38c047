// `probity node`: runs a node (the solo block producer, or a follower) with its gRPC service.
#include <google/protobuf/stubs/logging.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "command.h"
#include "probity/contracts/standard_modules.h"
#include "probity/ledger/node.h"
#include "probity/ledger/node_home.h"
#include "probity/ledger/node_server.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/keystore.h"

namespace probity::cli {
namespace {

int RunNode(const Args& args) {
  // Protobuf logs every malformed string it parses to stderr; a node parses whatever anyone
  // sends it, and answers each bad transaction itself, so those logs are only noise.
  google::protobuf::SetLogHandler(nullptr);
  if (Status s = args.CheckKnown({"home", "follow", "listen", "block-interval-ms"}); !s.ok()) {
    return Fail(args, s);
  }
  ledger::NodeHome home{HomeDir(args)};
  auto config = ledger::LoadNodeConfigFile(home.config_file());
  if (!config.ok()) {
    return Fail(args,
                config.status().WithContext("run 'probity init --home " + home.root + "' first"));
  }
  if (auto listen = args.Get("listen")) config->listen = *listen;
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

  // Signals are taken synchronously by this thread; every thread started below inherits the
  // blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto node = ledger::Node::Open(home.data_dir(), options, contracts::StandardModules());
  if (!node.ok()) return Fail(args, node.status());
  auto server = ledger::NodeServer::Start(node->get(), config->listen);
  if (!server.ok()) return Fail(args, server.status());
  if (Status s = ledger::WriteFileAtomically(home.address_file(), (*server)->address() + "\n");
      !s.ok()) {
    return Fail(args, s);
  }
  if (Status s = (*node)->Start(); !s.ok()) return Fail(args, s);

  ledger::NodeStatus st = (*node)->Describe();
  if (args.json()) {
    std::cout << "{\"ok\":true,\"event\":\"started\",\"mode\":" << JsonString(st.mode)
              << ",\"chain_id\":" << JsonString(genesis->chain_id)
              << ",\"listen\":" << JsonString((*server)->address()) << ",\"height\":" << st.height
              << "}" << std::endl;
  } else {
    std::cout << "probity node: " << st.mode << " of chain " << genesis->chain_id << " at height "
              << st.height << ", gRPC on " << (*server)->address()
              << (options.follow.empty() ? "" : ", following " + options.follow) << std::endl;
  }

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
  (*server)->Shutdown();
  (*node)->Stop();
  std::error_code ec;
  std::filesystem::remove(home.address_file(), ec);
  if (!args.json()) std::cout << "probity node: stopped at height " << (*node)->height() << "\n";
  return exit_code;
}

}  // namespace

PROBITY_COMMAND({.path = "node",
                 .usage = "probity node [--home DIR] [--follow ADDR] [--listen HOST:PORT]"
                          " [--block-interval-ms N] [--json]",
                 .summary = "run a node: the block producer, or with --follow a verifying replica",
                 .bool_flags = {},
                 .run = RunNode});

}  // namespace probity::cli
