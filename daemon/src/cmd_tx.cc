// `probity tx transfer`: signs a bank transfer with a local key and submits it to a node.
#include <google/protobuf/util/json_util.h>

#include <iostream>

#include "command.h"
#include "probity/bank/v1/bank.pb.h"
#include "probity/contracts/bank.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/chain_app.h"
#include "probity/ledger/node_client.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/keystore.h"

namespace probity::cli {
namespace {

Result<XOnlyPubKey> ResolveRecipient(const ledger::NodeHome& home, const std::string& to) {
  if (to.rfind("prb1", 0) == 0) return DecodeAddress(to);
  auto pub = ReadKeyFilePublicKey(home.key_file(to));
  if (!pub.ok()) {
    return Status::InvalidArgument("--to '" + to + "' is neither a prb1... address nor a key in " +
                                   home.keys_dir());
  }
  return pub;
}

int RunTransfer(const Args& args) {
  if (Status s = args.CheckKnown({"home", "node", "genesis", "tls", "tls-ca", "from", "to",
                                  "amount", "fee", "nonce", "memo", "no-wait"});
      !s.ok()) {
    return Fail(args, s);
  }
  ledger::NodeHome home{HomeDir(args)};
  auto from = args.Require("from");
  auto to_arg = args.Require("to");
  if (!from.ok()) return Fail(args, from.status());
  if (!to_arg.ok()) return Fail(args, to_arg.status());
  auto amount = args.GetU64("amount", 0);
  if (!amount.ok()) return Fail(args, amount.status());
  if (*amount == 0)
    return Fail(args, Status::InvalidArgument("--amount must be a positive integer"));
  auto to = ResolveRecipient(home, *to_arg);
  if (!to.ok()) return Fail(args, to.status());

  auto setup =
      ledger::ConnectFromHome(home, args.GetOr("node", ""), args.GetOr("genesis", ""),
                              {.enabled = args.Has("tls"), .ca_file = args.GetOr("tls-ca", "")});
  if (!setup.ok()) return Fail(args, setup.status());
  const ledger::NodeClient& client = *setup->client;
  auto fee = args.GetU64("fee", setup->genesis.params.min_fee);
  if (!fee.ok()) return Fail(args, fee.status());

  std::string key_path = home.key_file(*from);
  auto pass = ReadPassphrase("Passphrase for " + key_path + ": ", false);
  if (!pass.ok()) return Fail(args, pass.status());
  auto key = ReadKeyFile(key_path, *pass);
  if (!key.ok()) return Fail(args, key.status());

  uint64_t nonce;
  if (args.Has("nonce")) {
    auto n = args.GetU64("nonce", 0);
    if (!n.ok()) return Fail(args, n.status());
    nonce = *n;
  } else {
    // The next nonce, from state proven against a signed header.
    auto last = client.QueryStore(ledger::NonceKey(key->PublicKey()));
    if (!last.ok()) return Fail(args, last.status());
    const auto& v = last->second;
    if (v && v->size() != 8) return Fail(args, Status::Corruption("stored nonce is not 8 bytes"));
    nonce = (v ? GetU64LE(v->data()) : 0) + 1;
  }

  bank::v1::MsgSend msg;
  msg.set_to(to->data(), 32);
  msg.set_amount(*amount);
  ledger::TxFields f;
  f.chain_id = setup->genesis.chain_id;
  f.nonce = nonce;
  f.fee = *fee;
  f.msg_type_url = std::string(contracts::Bank::kMsgSend);
  std::string value = ledger::SerializeCanonical(msg);
  f.msg_value.assign(value.begin(), value.end());
  f.memo = args.GetOr("memo", "");
  auto tx = ledger::BuildSignedTx(*key, f);
  if (!tx.ok()) return Fail(args, tx.status());

  bool wait = !args.Has("no-wait");
  auto resp = client.Submit(*tx, wait, std::chrono::seconds(30));
  if (!resp.ok()) return Fail(args, resp.status());
  std::string id = ToHex(AsBytes(resp->tx_id()));
  bool accepted = resp->code() == 0;
  bool succeeded = accepted && (!resp->committed() || resp->result().code() == 0);
  if (args.json()) {
    std::string result_json = "null";
    if (resp->committed()) {
      google::protobuf::util::JsonPrintOptions o;
      o.preserve_proto_field_names = true;
      o.always_print_primitive_fields = true;
      (void)google::protobuf::util::MessageToJsonString(resp->result(), &result_json, o);
    }
    std::cout << "{\"ok\":" << (succeeded ? "true" : "false") << ",\"tx_id\":" << JsonString(id)
              << ",\"from\":" << JsonString(EncodeAddress(key->PublicKey()))
              << ",\"to\":" << JsonString(EncodeAddress(*to)) << ",\"amount\":" << *amount
              << ",\"fee\":" << *fee << ",\"nonce\":" << nonce << ",\"code\":" << resp->code()
              << ",\"codespace\":" << JsonString(resp->codespace())
              << ",\"log\":" << JsonString(resp->log())
              << ",\"committed\":" << (resp->committed() ? "true" : "false")
              << ",\"height\":" << resp->height() << ",\"index\":" << resp->index()
              << ",\"result\":" << result_json
              << ",\"verified\":" << (resp->committed() ? "true" : "false") << "}\n";
  } else if (!accepted) {
    std::cerr << "error: the node refused the transaction (" << resp->codespace() << " code "
              << resp->code() << "): " << resp->log() << "\n";
  } else if (!resp->committed()) {
    std::cout << "submitted " << id << (wait ? " (not committed within 30 s)" : "") << "\n";
  } else if (resp->result().code() != 0) {
    std::cerr << "error: transaction " << id << " failed in block " << resp->height() << " ("
              << resp->result().codespace() << " code " << resp->result().code()
              << "): " << resp->result().log() << "; fee " << resp->result().fee()
              << " was charged\n";
  } else {
    std::cout << "transferred " << *amount << " to " << EncodeAddress(*to) << "\n"
              << "  tx      " << id << "\n"
              << "  block   " << resp->height() << " (index " << resp->index()
              << "), verified against the signed header\n"
              << "  fee     " << resp->result().fee() << "\n"
              << "  nonce   " << nonce << "\n";
  }
  return succeeded && (resp->committed() || !wait) ? 0 : 1;
}

}  // namespace

PROBITY_COMMAND({.path = "tx transfer",
                 .usage = "probity tx transfer --from NAME --to ADDR_OR_NAME --amount N [--fee N]"
                          " [--nonce N] [--memo TEXT] [--no-wait] [--node HOST:PORT] [--home DIR]"
                          " [--genesis FILE] [--tls | --tls-ca FILE] [--json]",
                 .summary = "send funds from a local key (signed here, verified commit)",
                 .bool_flags = {"no-wait", "tls"},
                 .run = RunTransfer});

}  // namespace probity::cli
