// config.toml: how a node runs (not what the chain is; that is genesis.json).
//
//   [node]
//   listen = "127.0.0.1:7420"        # gRPC; 127.0.0.1 unless you mean to expose it
//   block_interval_ms = 100          # how often the producer cuts a block
//   empty_block_interval_ms = 0      # 0: never cut an empty block (after block 1)
//   verify_threads = 0               # 0: one per core
//   submit_wait_timeout_ms = 10000   # longest SubmitTx(wait_for_commit) wait
//   max_streams = 1024               # open StreamEvents + StreamBlocks calls; more refused
//   max_streams_per_client = 64      # the same, per client IP address
//   metrics_listen = ""              # Prometheus /metrics ("host:port"); empty: off
//   tls_cert_file = ""               # gRPC over TLS with this PEM certificate chain ...
//   tls_key_file = ""                # ... and this PEM key (relative paths: to config/)
//   [mempool]
//   max_txs = 50000
//   max_bytes = 67108864
//   max_per_sender = 256
//   backpressure_txs = 20000        # SubmitTx waits while this many are pending
//   [storage]
//   block_cache_mb = 256             # RocksDB block cache
//   state_cache_mb = 256             # decoded state-tree nodes kept in memory
//   keep_recent_heights = 0          # 0: keep every height's state (queries at any height)
// Every key is optional; unknown tables and keys are errors.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "probity/ledger/mempool.h"
#include "probity/primitives/status.h"

namespace probity::ledger {

inline constexpr std::string_view kDefaultListen = "127.0.0.1:7420";

struct NodeConfig {
  std::string listen = std::string(kDefaultListen);
  uint32_t block_interval_ms = 100;
  uint32_t empty_block_interval_ms = 0;
  uint32_t verify_threads = 0;
  uint32_t submit_wait_timeout_ms = 10000;
  // Each open stream holds a server thread while it waits for blocks: past this many, new
  // ones are refused (RESOURCE_EXHAUSTED) so that a client opening thousands cannot starve
  // the node of threads and memory.
  uint32_t max_streams = 1024;
  uint32_t max_streams_per_client = 64;  // per IP address, so one host cannot take them all
  // Served by the daemon (`probity node`), not by the ledger library.
  std::string metrics_listen;
  // Both set: the gRPC service speaks TLS only (tls.h). Paths as written in the file.
  std::string tls_cert_file;
  std::string tls_key_file;
  MempoolLimits mempool;
  uint32_t block_cache_mb = 256;
  uint32_t state_cache_mb = 256;
  // State versions older than this many heights are pruned (queries there fail); 0 keeps all.
  // Blocks, results and indexes are always kept.
  uint64_t keep_recent_heights = 0;
};

// kInvalidArgument naming the line or key for anything out of place or out of range.
Result<NodeConfig> ParseNodeConfig(std::string_view toml);
Result<NodeConfig> LoadNodeConfigFile(const std::string& path);
// The file `probity init` writes: every key with its default and a comment.
std::string DefaultNodeConfigToml();

}  // namespace probity::ledger
