// Micro-benchmark of the state tree, the workload a block of transfers puts on it.
//
// Workloads, in order, on a fresh RocksDB under `dir` (removed afterwards):
//   load     `initial_keys` accounts written in versions of `writes_per_version`;
//   apply    `versions` versions of `writes_per_version` writes, each an update of a random
//            existing account (1 in 20 a new one), as a block of transfers makes them:
//            ApplyVersion, then one synced WriteBatch, then MarkCommitted;
//   get      Get of random accounts at the latest version;
//   prove    GetWithProof of random accounts, present and absent;
//   verify   VerifyStateProof of those proofs.
#pragma once

#include <cstdint>
#include <string>

#include "probity/ledger/state_tree.h"
#include "probity/primitives/status.h"

namespace probity::ledger {

struct StateBenchOptions {
  std::string dir;  // REQUIRES: non-empty; absent (created and removed) or an empty directory
  uint64_t initial_keys = 200'000;
  uint64_t versions = 10;
  uint64_t writes_per_version = 40'000;
  uint64_t reads = 20'000;
  size_t node_cache_bytes = size_t{256} << 20;
  bool sync = true;
  uint64_t seed = 1;
};

struct StateBenchResult {
  uint64_t keys = 0;             // accounts in the tree at the end
  double load_s = 0;             // loading the initial accounts
  double writes_per_s = 0;       // apply phase: writes / (ApplyVersion + Write + MarkCommitted)
  double version_ms_mean = 0;    // ApplyVersion + Write + MarkCommitted, per version
  double apply_ms_mean = 0;      // ApplyVersion alone
  double apply_cpu_ms_mean = 0;  // its CPU time on all its threads
  double apply_ms_max = 0;
  double write_ms_mean = 0;     // DB::Write of the version's batch (synced if `sync`)
  double mark_ms_mean = 0;      // MarkCommitted
  double batch_bytes_mean = 0;  // size of a version's WriteBatch
  double gets_per_s = 0;        // Get at the latest version
  double proofs_per_s = 0;      // GetWithProof at the latest version
  double proof_bytes_mean = 0;
  uint64_t proof_bytes_max = 0;
  double verifies_per_s = 0;  // VerifyStateProof, one thread
  StateTreeStats stats;       // after the run
};

Result<StateBenchResult> RunStateBench(const StateBenchOptions& options);

}  // namespace probity::ledger
