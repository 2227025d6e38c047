#include "probity/ledger/genesis.h"

#include <google/protobuf/util/json_util.h>

#include <charconv>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

// Module sections travel as google.protobuf.Value, whose numbers are doubles: an integer
// above 2^53 written as a JSON number would silently become another integer (9007199254740993
// reads as 9007199254740992), and the genesis would not mean what it says. Such numbers are
// refused; 64-bit amounts are written as strings, as the proto3 JSON mapping prints them.
// Runs on text that protobuf's parser accepted, so the JSON is well formed.
Status CheckModuleNumbers(std::string_view s) {
  struct Frame {
    bool object = false;
    bool expect_key = false;
    std::string key;  // the member whose value is being read (objects)
  };
  std::vector<Frame> stack;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '{' || c == '[') {
      stack.push_back({c == '{', c == '{', ""});
      ++i;
    } else if (c == '}' || c == ']') {
      if (!stack.empty()) stack.pop_back();
      ++i;
    } else if (c == ',') {
      if (!stack.empty() && stack.back().object) stack.back().expect_key = true;
      ++i;
    } else if (c == ':') {
      if (!stack.empty()) stack.back().expect_key = false;
      ++i;
    } else if (c == '"') {
      std::string text;  // unescaped enough to recognise a key (\uXXXX of ASCII included)
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] != '\\' || i + 1 >= s.size()) {
          text.push_back(s[i]);
          continue;
        }
        const char e = s[++i];
        if (e == 'u' && i + 4 < s.size()) {
          unsigned v = 0;
          std::from_chars(s.data() + i + 1, s.data() + i + 5, v, 16);
          text.push_back(v < 0x80 ? static_cast<char>(v) : '?');
          i += 4;
        } else {
          text.push_back(e);
        }
      }
      ++i;
      if (!stack.empty() && stack.back().object && stack.back().expect_key) {
        stack.back().key = std::move(text);
      }
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      const size_t start = i;
      while (i < s.size() && (s[i] == '-' || s[i] == '+' || s[i] == '.' || s[i] == 'e' ||
                              s[i] == 'E' || (s[i] >= '0' && s[i] <= '9'))) {
        ++i;
      }
      const std::string_view number = s.substr(start, i - start);
      const bool in_modules = stack.size() >= 2 && stack[0].object && stack[0].key == "modules";
      if (!in_modules) continue;
      const std::string_view digits = number.substr(number[0] == '-' ? 1 : 0);
      const bool integer = digits.find_first_of(".eE") == std::string_view::npos;
      // 2^53 = 9007199254740992 has 16 digits; every integer up to it is a double.
      uint64_t value = 0;
      if (integer && digits.size() == 16) {
        std::from_chars(digits.data(), digits.data() + digits.size(), value);
      }
      const bool exact =
          !integer || digits.size() < 16 || (digits.size() == 16 && value <= (uint64_t{1} << 53));
      if (!exact) {
        return Status::InvalidArgument(
            "genesis module section " + stack[1].key + ": the number " + std::string(number) +
            " is too large to be read exactly; write it as a string (\"" + std::string(number) +
            "\")");
      }
    } else {
      ++i;  // whitespace, true, false, null
    }
  }
  return Status::OK();
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
  PROBITY_RETURN_IF_ERROR(CheckModuleNumbers(json));
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
