// `probity query account|tx|block`: reads from a node, verified against signed headers.
#include <google/protobuf/util/json_util.h>

#include <ctime>
#include <iostream>

#include "command.h"
#include "probity/contracts/bank.h"
#include "probity/ledger/chain_app.h"
#include "probity/ledger/node_client.h"
#include "probity/ledger/tx.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/keystore.h"
#include "probity/primitives/sha256.h"
#include "probity/types/v1/tx.pb.h"

namespace probity::cli {
namespace {

const std::vector<std::string> kClientFlags = {"home", "node", "genesis", "tls", "tls-ca"};

Result<ledger::ClientSetup> Connect(const Args& args) {
  return ledger::ConnectFromHome(ledger::NodeHome{HomeDir(args)}, args.GetOr("node", ""),
                                 args.GetOr("genesis", ""),
                                 {.enabled = args.Has("tls"), .ca_file = args.GetOr("tls-ca", "")});
}

std::string Hex(const std::string& bytes) { return ToHex(AsBytes(bytes)); }

std::string ResultJson(const types::v1::TxResult& r) {
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(r, &out, o);
  return out;
}

std::string Time(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf) + "." + std::to_string(1000 + ms % 1000).substr(1) + "Z";
}

void PrintEvents(const types::v1::TxResult& r) {
  for (const auto& e : r.events()) {
    std::cout << "    " << e.type();
    for (const auto& a : e.attributes()) std::cout << " " << a.key() << "=" << a.value();
    std::cout << "\n";
  }
}

Result<uint64_t> DecodeU64(const std::optional<Bytes>& v) {
  if (!v) return uint64_t{0};
  if (v->size() != 8) return Status::Corruption("stored value is not 8 bytes");
  return GetU64LE(v->data());
}

int RunAccount(const Args& args) {
  std::vector<std::string> known = kClientFlags;
  known.push_back("height");
  if (Status s = args.CheckKnown(known); !s.ok()) return Fail(args, s);
  if (args.positional().size() != 1) {
    return Fail(args, Status::InvalidArgument("usage: probity query account ADDRESS_OR_NAME"));
  }
  const std::string& who = args.positional()[0];
  Result<XOnlyPubKey> account =
      who.rfind("prb1", 0) == 0
          ? DecodeAddress(who)
          : ReadKeyFilePublicKey(ledger::NodeHome{HomeDir(args)}.key_file(who));
  if (!account.ok()) return Fail(args, account.status());
  auto height = args.GetU64("height", 0);
  if (!height.ok()) return Fail(args, height.status());
  auto setup = Connect(args);
  if (!setup.ok()) return Fail(args, setup.status());
  auto balance = setup->client->QueryStore(contracts::Bank::BalanceKey(*account), *height);
  if (!balance.ok()) return Fail(args, balance.status());
  auto nonce = setup->client->QueryStore(ledger::NonceKey(*account), balance->first);
  if (!nonce.ok()) return Fail(args, nonce.status());
  auto amount = DecodeU64(balance->second);
  auto last_nonce = DecodeU64(nonce->second);
  if (!amount.ok()) return Fail(args, amount.status());
  if (!last_nonce.ok()) return Fail(args, last_nonce.status());
  std::string addr = EncodeAddress(*account);
  if (args.json()) {
    std::cout << "{\"ok\":true,\"address\":" << JsonString(addr) << ",\"balance\":" << *amount
              << ",\"next_nonce\":" << *last_nonce + 1 << ",\"height\":" << balance->first
              << ",\"verified\":true}\n";
  } else {
    std::cout << "account  " << addr << "\n"
              << "balance  " << *amount << "\n"
              << "nonce    " << *last_nonce + 1 << " (next)\n"
              << "height   " << balance->first
              << " (state proofs checked against the header signed by "
              << EncodeAddress(setup->genesis.proposer) << ")\n";
  }
  return 0;
}

int RunTx(const Args& args) {
  if (Status s = args.CheckKnown(kClientFlags); !s.ok()) return Fail(args, s);
  if (args.positional().size() != 1) {
    return Fail(args, Status::InvalidArgument("usage: probity query tx TX_ID (64 hex digits)"));
  }
  auto id = Hash256FromHex(args.positional()[0]);
  if (!id.ok()) return Fail(args, id.status().WithContext("transaction id"));
  auto setup = Connect(args);
  if (!setup.ok()) return Fail(args, setup.status());
  auto tx = setup->client->GetTx(*id);
  if (!tx.ok()) return Fail(args, tx.status());
  ledger::DecodedTx d;
  ledger::TxVerdict v = ledger::DecodeTx(AsBytes(tx->tx()), SIZE_MAX, &d);
  std::string signer = v.ok() ? EncodeAddress(d.signer) : "";
  const auto& r = tx->result();
  if (args.json()) {
    std::cout << "{\"ok\":true,\"tx_id\":" << JsonString(ToHex(*id))
              << ",\"height\":" << tx->height() << ",\"index\":" << tx->index()
              << ",\"signer\":" << JsonString(signer) << ",\"nonce\":" << d.nonce
              << ",\"fee_offered\":" << d.fee << ",\"type_url\":" << JsonString(d.msg_type_url)
              << ",\"memo\":" << JsonString(d.memo) << ",\"result\":" << ResultJson(r)
              << ",\"verified\":true}\n";
  } else {
    std::cout << "tx       " << ToHex(*id) << "\n"
              << "block    " << tx->height() << " (index " << tx->index()
              << "), inclusion and result proven against the signed header\n"
              << "signer   " << signer << " (nonce " << d.nonce << ")\n"
              << "message  " << d.msg_type_url << "\n";
    if (!d.memo.empty()) std::cout << "memo     " << d.memo << "\n";
    std::cout << "result   "
              << (r.code() == 0
                      ? std::string("ok")
                      : r.codespace() + " code " + std::to_string(r.code()) + ": " + r.log())
              << "\nfee      " << r.fee() << "\n";
    if (r.events_size() > 0) std::cout << "events\n";
    PrintEvents(r);
  }
  return 0;
}

int RunBlock(const Args& args) {
  if (Status s = args.CheckKnown(kClientFlags); !s.ok()) return Fail(args, s);
  if (args.positional().size() != 1) {
    return Fail(args, Status::InvalidArgument("usage: probity query block HEIGHT|latest"));
  }
  uint64_t height = 0;
  const std::string& h = args.positional()[0];
  if (h != "latest") {
    if (h.empty() || h.size() > 20 || h.find_first_not_of("0123456789") != std::string::npos) {
      return Fail(args, Status::InvalidArgument("block height must be a number or 'latest'"));
    }
    height = std::stoull(h);
    if (height == 0) {
      return Fail(args,
                  Status::InvalidArgument("height 0 is the genesis state; blocks start at 1"));
    }
  }
  auto setup = Connect(args);
  if (!setup.ok()) return Fail(args, setup.status());
  auto block = setup->client->GetBlock(height);
  if (!block.ok()) return Fail(args, block.status());
  types::v1::BlockHeader hdr;
  hdr.ParseFromString(block->block().header());
  const auto& results = block->results();
  if (args.json()) {
    std::cout << "{\"ok\":true,\"height\":" << hdr.height()
              << ",\"hash\":" << JsonString(Hex(block->block_hash()))
              << ",\"chain_id\":" << JsonString(hdr.chain_id())
              << ",\"time_unix_ms\":" << hdr.time_unix_ms()
              << ",\"prev_block_hash\":" << JsonString(Hex(hdr.prev_block_hash()))
              << ",\"app_hash\":" << JsonString(Hex(hdr.app_hash()))
              << ",\"tx_root\":" << JsonString(Hex(hdr.tx_root()))
              << ",\"results_root\":" << JsonString(Hex(hdr.results_root()))
              << ",\"proposer\":" << JsonString(EncodeAddress(setup->genesis.proposer))
              << ",\"tx_count\":" << hdr.tx_count() << ",\"txs\":[";
    for (int i = 0; i < block->block().txs_size(); ++i) {
      std::cout << (i ? "," : "")
                << "{\"tx_id\":" << JsonString(ToHex(Sha256(AsBytes(block->block().txs(i)))))
                << ",\"result\":" << ResultJson(results.tx_results(i)) << "}";
    }
    std::cout << "],\"verified\":true}\n";
  } else {
    std::cout << "block    " << hdr.height() << "  " << Hex(block->block_hash()) << "\n"
              << "time     " << Time(hdr.time_unix_ms()) << "\n"
              << "previous " << Hex(hdr.prev_block_hash()) << "\n"
              << "app hash " << Hex(hdr.app_hash()) << "\n"
              << "tx root  " << Hex(hdr.tx_root()) << "\n"
              << "proposer " << EncodeAddress(setup->genesis.proposer)
              << " (signature, tx root and results root checked)\n"
              << "txs      " << hdr.tx_count() << "\n";
    for (int i = 0; i < block->block().txs_size(); ++i) {
      const auto& r = results.tx_results(i);
      std::cout << "  " << ToHex(Sha256(AsBytes(block->block().txs(i)))) << "  "
                << (r.code() == 0 ? std::string("ok")
                                  : r.codespace() + "/" + std::to_string(r.code()))
                << "\n";
    }
  }
  return 0;
}

}  // namespace

PROBITY_COMMAND({.path = "query account",
                 .usage = "probity query account ADDRESS_OR_NAME [--height H] [--node HOST:PORT]"
                          " [--home DIR] [--genesis FILE] [--tls | --tls-ca FILE] [--json]",
                 .summary = "an account's balance and next nonce, proven against a signed header",
                 .bool_flags = {"tls"},
                 .run = RunAccount});
PROBITY_COMMAND({.path = "query tx",
                 .usage = "probity query tx TX_ID [--node HOST:PORT] [--home DIR] [--genesis FILE]"
                          " [--tls | --tls-ca FILE] [--json]",
                 .summary = "a committed transaction and its result, with inclusion proofs",
                 .bool_flags = {"tls"},
                 .run = RunTx});
PROBITY_COMMAND({.path = "query block",
                 .usage = "probity query block HEIGHT|latest [--node HOST:PORT] [--home DIR]"
                          " [--genesis FILE] [--tls | --tls-ca FILE] [--json]",
                 .summary = "a block's header and transactions, signature and roots checked",
                 .bool_flags = {"tls"},
                 .run = RunBlock});

}  // namespace probity::cli
