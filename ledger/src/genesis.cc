#include "probity/ledger/genesis.h"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <sstream>

#include "probity/ledger/canonical_proto.h"
#include "probity/node/v1/genesis.pb.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/sha256.h"

namespace probity::ledger {
namespace {

bool ValidChainId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

node::v1::Genesis ToProto(const Genesis& g) {
  node::v1::Genesis p;
  p.set_chain_id(g.chain_id);
  p.set_genesis_time_unix_ms(g.time_unix_ms);
  p.set_proposer(EncodeAddress(g.proposer));
  auto* pp = p.mutable_params();
  pp->set_min_fee(g.params.min_fee);
  pp->set_max_tx_bytes(g.params.max_tx_bytes);
  pp->set_max_block_txs(g.params.max_block_txs);
  pp->set_max_block_bytes(g.params.max_block_bytes);
  for (const auto& [name, json] : g.modules) {
    google::protobuf::Value v;
    // Sections were parsed from JSON by ParseGenesis or built by our code; a section that does
    // not parse is a programming error upstream, kept out by ParseGenesis.
    (void)google::protobuf::util::JsonStringToMessage(json, &v);
    (*p.mutable_modules())[name] = v;
  }
  return p;
}

}  // namespace

Result<Genesis> ParseGenesis(std::string_view json) {
  node::v1::Genesis p;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(std::string(json), &p, opts);
  if (!st.ok()) {
    return Status::InvalidArgument("genesis is not valid: " + std::string(st.message()));
  }
  Genesis g;
  if (!ValidChainId(p.chain_id())) {
    return Status::InvalidArgument("genesis chain_id must be 1-64 characters of [A-Za-z0-9._-]");
  }
  g.chain_id = p.chain_id();
  g.time_unix_ms = p.genesis_time_unix_ms();
  if (g.time_unix_ms < 0) return Status::InvalidArgument("genesis time is negative");
  auto proposer = DecodeAddress(p.proposer());
  if (!proposer.ok()) {
    return Status::InvalidArgument("genesis proposer: " + proposer.status().message());
  }
  g.proposer = *proposer;
  if (!p.has_params()) return Status::InvalidArgument("genesis has no params");
  g.params.min_fee = p.params().min_fee();
  g.params.max_tx_bytes = p.params().max_tx_bytes();
  g.params.max_block_txs = p.params().max_block_txs();
  g.params.max_block_bytes = p.params().max_block_bytes();
  // Up to 8 MiB (the node's gRPC message limit): a dispute posts a segment's opening, up to
  // 4 MiB (DESIGN.md section 2), in one transaction.
  if (g.params.max_tx_bytes < 128 || g.params.max_tx_bytes > (8u << 20)) {
    return Status::InvalidArgument("params.max_tx_bytes must be within 128..8388608");
  }
  if (g.params.max_block_txs == 0 || g.params.max_block_txs > 1000000) {
    return Status::InvalidArgument("params.max_block_txs must be within 1..1000000");
  }
  if (g.params.max_block_bytes < g.params.max_tx_bytes || g.params.max_block_bytes > (256u << 20)) {
    return Status::InvalidArgument(
        "params.max_block_bytes must be at least max_tx_bytes and at most 256 MiB");
  }
  for (const auto& [name, value] : p.modules()) {
    std::string text;
    auto s = google::protobuf::util::MessageToJsonString(value, &text);
    if (!s.ok()) return Status::InvalidArgument("genesis module section " + name + " is invalid");
    g.modules[name] = text;
  }
  return g;
}

Result<Genesis> LoadGenesisFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read genesis file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto g = ParseGenesis(ss.str());
  if (!g.ok()) return g.status().WithContext(path);
  return g;
}

std::string GenesisToJson(const Genesis& g) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.add_whitespace = true;
  opts.preserve_proto_field_names = true;
  opts.always_print_primitive_fields = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(ToProto(g), &out, opts);
  return out;
}

Hash256 GenesisHash(const Genesis& g) {
  return TaggedHash("probity/genesis", AsBytes(SerializeCanonical(ToProto(g))));
}

}  // namespace probity::ledger
