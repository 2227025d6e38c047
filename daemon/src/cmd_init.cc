// `probity init`: creates a node's home directory (config, genesis, node key).

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "command.h"
#include "probity/contracts/bank.h"
#include "probity/contracts/marketplace.h"
#include "probity/ledger/genesis.h"
#include "probity/ledger/node_config.h"
#include "probity/ledger/node_home.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/keystore.h"
#include "probity/workloads/job_spec.h"

namespace probity::cli {
namespace {

// "NAME" (a key in DIR/keys) or "prb1..." -> the account's key.
Result<XOnlyPubKey> ResolveAccount(const ledger::NodeHome& home, const std::string& who) {
  if (who.rfind("prb1", 0) == 0) return DecodeAddress(who);
  auto pub = ReadKeyFilePublicKey(home.key_file(who));
  if (!pub.ok()) {
    return Status::NotFound("'" + who + "' is neither a prb1... address nor a key in " +
                            home.keys_dir() + " (create it with: probity keys new " + who + ")");
  }
  return pub;
}

// --fund "alice=1000,prb1...=5" -> bank genesis section.
Result<std::string> BankSection(const ledger::NodeHome& home, const std::string& fund) {
  std::ostringstream o;
  o << "{\"balances\":[";
  std::stringstream in(fund);
  std::string item;
  bool first = true;
  while (std::getline(in, item, ',')) {
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return Status::InvalidArgument("--fund takes NAME_OR_ADDRESS=AMOUNT[,...], got '" + item +
                                     "'");
    }
    std::string amount = item.substr(eq + 1);
    if (amount.size() > 20 || amount.find_first_not_of("0123456789") != std::string::npos) {
      return Status::InvalidArgument("amount '" + amount + "' is not a whole number");
    }
    PROBITY_ASSIGN_OR_RETURN(XOnlyPubKey who, ResolveAccount(home, item.substr(0, eq)));
    o << (first ? "" : ",") << "{\"address\":\"" << EncodeAddress(who) << "\",\"amount\":\""
      << amount << "\"}";
    first = false;
  }
  o << "]}";
  return o.str();
}

int RunInit(const Args& args) {
  if (Status s = args.CheckKnown({"home", "chain-id", "genesis", "fund", "min-fee", "force"});
      !s.ok()) {
    return Fail(args, s);
  }
  ledger::NodeHome home{HomeDir(args)};
  std::error_code ec;
  for (const auto& d : {home.config_dir(), home.data_dir(), home.keys_dir()}) {
    std::filesystem::create_directories(d, ec);
    if (ec) return Fail(args, Status::IOError("cannot create " + d + ": " + ec.message()));
  }
  if (std::filesystem::exists(home.genesis_file()) && !args.Has("force")) {
    return Fail(args, Status::AlreadyExists(home.genesis_file() +
                                            " exists; this home is initialised (--force replaces "
                                            "the genesis, which an existing database refuses)"));
  }

  // The node key: kept if present, else created.
  XOnlyPubKey node_pub;
  bool created_key = false;
  if (auto existing = ReadKeyFilePublicKey(home.node_key_file()); existing.ok()) {
    node_pub = *existing;
  } else {
    auto pass = ReadPassphrase("Passphrase for the node key: ", true);
    if (!pass.ok()) return Fail(args, pass.status());
    auto key = SecretKey::Generate();
    if (!key.ok()) return Fail(args, key.status());
    if (Status s = WriteKeyFile(home.node_key_file(), *key, *pass); !s.ok()) return Fail(args, s);
    node_pub = key->PublicKey();
    created_key = true;
  }

  ledger::Genesis genesis;
  if (auto from = args.Get("genesis")) {
    if (args.Has("fund") || args.Has("chain-id") || args.Has("min-fee")) {
      return Fail(args, Status::InvalidArgument(
                            "--genesis copies an existing chain; --fund, --chain-id and "
                            "--min-fee only apply to a new one"));
    }
    auto g = ledger::LoadGenesisFile(*from);
    if (!g.ok()) return Fail(args, g.status());
    genesis = *g;
  } else {
    genesis.chain_id = args.GetOr("chain-id", "probity-local");
    genesis.time_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    genesis.proposer = node_pub;
    auto min_fee = args.GetU64("min-fee", genesis.params.min_fee);
    if (!min_fee.ok()) return Fail(args, min_fee.status());
    genesis.params.min_fee = *min_fee;
    auto bank = BankSection(home, args.GetOr("fund", ""));
    if (!bank.ok()) return Fail(args, bank.status());
    genesis.modules[std::string(contracts::Bank::kName)] = *bank;
    // The marketplace modules' parameters, written out so that an operator sees and can edit
    // them (a missing section means the same defaults).
    for (auto& [name, json] : contracts::MarketplaceDefaultGenesis()) genesis.modules[name] = json;
    // A dispute posts a segment's opening on-chain (MsgPostOpening, up to 4 MiB): a
    // transaction must be able to carry it, or no dispute could ever be settled.
    genesis.params.max_tx_bytes =
        std::max<uint64_t>(genesis.params.max_tx_bytes, workloads::kMaxOpeningBytes + (64u << 10));
    // Round-trip through the parser: what we write is what a node will accept.
    auto checked = ledger::ParseGenesis(ledger::GenesisToJson(genesis));
    if (!checked.ok()) return Fail(args, checked.status());
  }
  if (Status s = ledger::WriteFileAtomically(home.genesis_file(), ledger::GenesisToJson(genesis));
      !s.ok()) {
    return Fail(args, s);
  }
  if (!std::filesystem::exists(home.config_file())) {
    if (Status s = ledger::WriteFileAtomically(home.config_file(), ledger::DefaultNodeConfigToml());
        !s.ok()) {
      return Fail(args, s);
    }
  }
  bool producer = genesis.proposer == node_pub;
  if (args.json()) {
    std::cout << "{\"ok\":true,\"home\":" << JsonString(home.root)
              << ",\"chain_id\":" << JsonString(genesis.chain_id)
              << ",\"node_address\":" << JsonString(EncodeAddress(node_pub))
              << ",\"proposer\":" << JsonString(EncodeAddress(genesis.proposer))
              << ",\"role\":" << JsonString(producer ? "producer" : "follower")
              << ",\"created_node_key\":" << (created_key ? "true" : "false") << "}\n";
  } else {
    std::cout << "initialised " << home.root << "\n"
              << "  chain     " << genesis.chain_id << "\n"
              << "  node key  " << home.node_key_file() << " (" << EncodeAddress(node_pub)
              << (created_key ? ", new" : ", kept") << ")\n"
              << "  role      "
              << (producer ? "producer (this node signs the blocks)"
                           : "follower (run: probity node --follow ADDR)")
              << "\n  genesis   " << home.genesis_file() << "\n  config    " << home.config_file()
              << "\n";
  }
  return 0;
}

}  // namespace

PROBITY_COMMAND(
    {.path = "init",
     .usage = "probity init [--home DIR] [--chain-id ID] [--fund NAME_OR_ADDR=AMOUNT,...]"
              " [--min-fee N] [--genesis FILE] [--force] [--json]",
     .summary = "create a node's home: config.toml, genesis.json and a node key",
     .bool_flags = {"force"},
     .run = RunInit});

}  // namespace probity::cli
