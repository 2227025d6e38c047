#include "probity/ledger/node_config.h"

#include <fstream>
#include <limits>
#include <sstream>

#include "probity/ledger/toml.h"

namespace probity::ledger {
namespace {

Status ReadInt(const std::map<std::string, TomlValue>& t, const std::string& table,
               const std::string& key, int64_t lo, int64_t hi, int64_t* out) {
  auto it = t.find(key);
  if (it == t.end()) return Status::OK();
  const int64_t* v = std::get_if<int64_t>(&it->second);
  if (v == nullptr)
    return Status::InvalidArgument("config [" + table + "] " + key + " must be an integer");
  if (*v < lo || *v > hi) {
    return Status::InvalidArgument("config [" + table + "] " + key + " must be within " +
                                   std::to_string(lo) + ".." + std::to_string(hi));
  }
  *out = *v;
  return Status::OK();
}

template <typename T>
Status ReadUint(const std::map<std::string, TomlValue>& t, const std::string& table,
                const std::string& key, int64_t lo, int64_t hi, T* out) {
  int64_t v = static_cast<int64_t>(*out);
  PROBITY_RETURN_IF_ERROR(ReadInt(t, table, key, lo, hi, &v));
  *out = static_cast<T>(v);
  return Status::OK();
}

}  // namespace

Result<NodeConfig> ParseNodeConfig(std::string_view text) {
  PROBITY_ASSIGN_OR_RETURN(TomlDocument doc, ParseToml(text));
  NodeConfig c;
  const std::map<std::string, std::vector<std::string>> known = {
      {"", {}},
      {"node",
       {"listen", "block_interval_ms", "empty_block_interval_ms", "verify_threads",
        "submit_wait_timeout_ms", "max_streams", "max_streams_per_client", "metrics_listen",
        "tls_cert_file", "tls_key_file"}},
      {"mempool", {"max_txs", "max_bytes", "max_per_sender", "backpressure_txs"}},
      {"storage", {"block_cache_mb", "state_cache_mb", "keep_recent_heights"}},
  };
  for (const auto& [table, keys] : doc) {
    auto k = known.find(table);
    if (k == known.end()) return Status::InvalidArgument("config: unknown table [" + table + "]");
    for (const auto& [key, _] : keys) {
      bool ok = false;
      for (const auto& name : k->second) ok = ok || name == key;
      if (!ok) {
        return Status::InvalidArgument("config: unknown key '" + key + "'" +
                                       (table.empty() ? "" : " in [" + table + "]"));
      }
    }
  }
  const auto& node = doc["node"];
  if (auto it = node.find("listen"); it != node.end()) {
    const std::string* s = std::get_if<std::string>(&it->second);
    if (s == nullptr || s->empty() || s->find(':') == std::string::npos) {
      return Status::InvalidArgument("config [node] listen must be a \"host:port\" string");
    }
    c.listen = *s;
  }
  if (auto it = node.find("metrics_listen"); it != node.end()) {
    const std::string* s = std::get_if<std::string>(&it->second);
    if (s == nullptr || (!s->empty() && s->find(':') == std::string::npos)) {
      return Status::InvalidArgument(
          "config [node] metrics_listen must be a \"host:port\" string (\"\" for none)");
    }
    c.metrics_listen = *s;
  }
  for (auto [key, out] :
       {std::pair{"tls_cert_file", &c.tls_cert_file}, std::pair{"tls_key_file", &c.tls_key_file}}) {
    auto it = node.find(key);
    if (it == node.end()) continue;
    const std::string* s = std::get_if<std::string>(&it->second);
    if (s == nullptr) {
      return Status::InvalidArgument(std::string("config [node] ") + key +
                                     " must be a file path string");
    }
    *out = *s;
  }
  if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
    return Status::InvalidArgument(
        "config [node] tls_cert_file and tls_key_file must be set together");
  }
  const int64_t kDay = 86400000;
  PROBITY_RETURN_IF_ERROR(
      ReadUint(node, "node", "block_interval_ms", 1, 60000, &c.block_interval_ms));
  PROBITY_RETURN_IF_ERROR(
      ReadUint(node, "node", "empty_block_interval_ms", 0, kDay, &c.empty_block_interval_ms));
  PROBITY_RETURN_IF_ERROR(ReadUint(node, "node", "verify_threads", 0, 256, &c.verify_threads));
  PROBITY_RETURN_IF_ERROR(
      ReadUint(node, "node", "submit_wait_timeout_ms", 1, 600000, &c.submit_wait_timeout_ms));
  PROBITY_RETURN_IF_ERROR(ReadUint(node, "node", "max_streams", 1, 1000000, &c.max_streams));
  PROBITY_RETURN_IF_ERROR(
      ReadUint(node, "node", "max_streams_per_client", 1, 1000000, &c.max_streams_per_client));
  const auto& mp = doc["mempool"];
  PROBITY_RETURN_IF_ERROR(ReadUint(mp, "mempool", "max_txs", 1, 10000000, &c.mempool.max_txs));
  PROBITY_RETURN_IF_ERROR(
      ReadUint(mp, "mempool", "max_bytes", 4096, int64_t{1} << 36, &c.mempool.max_bytes));
  PROBITY_RETURN_IF_ERROR(
      ReadUint(mp, "mempool", "max_per_sender", 1, 1000000, &c.mempool.max_per_sender));
  PROBITY_RETURN_IF_ERROR(
      ReadUint(mp, "mempool", "backpressure_txs", 0, 10000000, &c.mempool.backpressure_txs));
  const auto& st = doc["storage"];
  PROBITY_RETURN_IF_ERROR(ReadUint(st, "storage", "block_cache_mb", 8, 65536, &c.block_cache_mb));
  PROBITY_RETURN_IF_ERROR(ReadUint(st, "storage", "state_cache_mb", 0, 65536, &c.state_cache_mb));
  PROBITY_RETURN_IF_ERROR(
      ReadUint(st, "storage", "keep_recent_heights", 0, int64_t{1} << 40, &c.keep_recent_heights));
  return c;
}

Result<NodeConfig> LoadNodeConfigFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot read config file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = ParseNodeConfig(ss.str());
  if (!c.ok()) return c.status().WithContext(path);
  return c;
}

std::string DefaultNodeConfigToml() {
  NodeConfig c;
  std::ostringstream o;
  o << "# Probity node configuration (docs/ledger.md). Every key is optional.\n\n"
    << "[node]\n"
    << "# gRPC address. Keep 127.0.0.1 unless the node must be reached from other machines.\n"
    << "listen = \"" << c.listen << "\"\n"
    << "# How often the producer cuts a block, in milliseconds.\n"
    << "block_interval_ms = " << c.block_interval_ms << "\n"
    << "# Cut an empty block after this long without transactions; 0 = never.\n"
    << "empty_block_interval_ms = " << c.empty_block_interval_ms << "\n"
    << "# Threads that check signatures; 0 = one per core.\n"
    << "verify_threads = " << c.verify_threads << "\n"
    << "# Longest time a SubmitTx call may wait for its commit.\n"
    << "submit_wait_timeout_ms = " << c.submit_wait_timeout_ms << "\n"
    << "# Most StreamEvents and StreamBlocks calls open at once; more are refused.\n"
    << "max_streams = " << c.max_streams << "\n"
    << "# ... and from one client IP address.\n"
    << "max_streams_per_client = " << c.max_streams_per_client << "\n"
    << "# Prometheus metrics (GET /metrics) on this \"host:port\"; empty = off.\n"
    << "metrics_listen = \"\"\n"
    << "# Serve gRPC over TLS with this PEM certificate chain and key (paths relative to this\n"
    << "# file's folder); both empty = plaintext. Clients then need --tls-ca or --tls.\n"
    << "tls_cert_file = \"\"\n"
    << "tls_key_file = \"\"\n\n"
    << "[mempool]\n"
    << "max_txs = " << c.mempool.max_txs << "\n"
    << "max_bytes = " << c.mempool.max_bytes << "\n"
    << "max_per_sender = " << c.mempool.max_per_sender << "\n"
    << "# New transactions wait (up to 1 s) while this many are pending; 0 = never.\n"
    << "backpressure_txs = " << c.mempool.backpressure_txs << "\n\n"
    << "[storage]\n"
    << "# RocksDB block cache.\n"
    << "block_cache_mb = " << c.block_cache_mb << "\n"
    << "# Decoded state-tree nodes kept in memory.\n"
    << "state_cache_mb = " << c.state_cache_mb << "\n"
    << "# Keep the state of only this many recent heights (older queries fail); 0 = all.\n"
    << "keep_recent_heights = " << c.keep_recent_heights << "\n";
  return o.str();
}

}  // namespace probity::ledger
