// `probity bench state`: the state tree's micro-benchmark (ledger/state/state_bench.h).
//
//   probity bench state [--json] [--quick] [--keys N] [--versions N] [--writes N] [--reads N]
//                       [--cache-mb N] [--dir DIR] [--sync 0|1]
// Defaults: 200,000 accounts, 10 versions of 40,000 writes (a block of 20,000 transfers), synced
// writes, in a fresh directory under the system's temporary directory.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "command.h"
#include "probity/ledger/state_bench.h"

namespace probity::cli {
namespace {

int RunStateBenchSuite(const Args& args) {
  Status known = args.CheckKnown(
      {"quick", "once", "keys", "versions", "writes", "reads", "cache-mb", "dir", "sync"});
  if (!known.ok()) return Fail(args, known);
  const bool quick = args.Has("quick");
  ledger::StateBenchOptions o;
  auto keys = args.GetU64("keys", quick ? 20'000 : o.initial_keys);
  auto versions = args.GetU64("versions", quick ? 3 : o.versions);
  auto writes = args.GetU64("writes", quick ? 10'000 : o.writes_per_version);
  auto reads = args.GetU64("reads", quick ? 5'000 : o.reads);
  auto cache_mb = args.GetU64("cache-mb", o.node_cache_bytes >> 20);
  auto sync_flag = args.GetU64("sync", 1);
  for (const Status& s : {keys.status(), versions.status(), writes.status(), reads.status(),
                          cache_mb.status(), sync_flag.status()}) {
    if (!s.ok()) return Fail(args, s);
  }
  o.initial_keys = *keys;
  o.versions = *versions;
  o.writes_per_version = *writes;
  o.reads = *reads;
  o.node_cache_bytes = static_cast<size_t>(*cache_mb) << 20;
  if (*sync_flag > 1) return Fail(args, Status::InvalidArgument("--sync must be 0 or 1"));
  o.sync = *sync_flag == 1;
  o.dir = args.GetOr("dir", (std::filesystem::temp_directory_path() /
                             ("probity-bench-state-" + std::to_string(::getpid())))
                                .string());

  auto r = ledger::RunStateBench(o);
  if (!r.ok()) return Fail(args, r.status());

  struct Line {
    const char* name;
    double value;
    const char* unit;
  };
  const Line lines[] = {
      {"writes_per_s", r->writes_per_s, "writes/s"},
      {"version_ms", r->version_ms_mean, "ms"},
      {"apply_ms", r->apply_ms_mean, "ms"},
      {"apply_cpu_ms", r->apply_cpu_ms_mean, "ms"},
      {"apply_ms_max", r->apply_ms_max, "ms"},
      {"write_ms", r->write_ms_mean, "ms"},
      {"mark_committed_ms", r->mark_ms_mean, "ms"},
      {"batch_bytes", r->batch_bytes_mean, "bytes"},
      {"gets_per_s", r->gets_per_s, "gets/s"},
      {"proofs_per_s", r->proofs_per_s, "proofs/s"},
      {"proof_bytes", r->proof_bytes_mean, "bytes"},
      {"proof_bytes_max", static_cast<double>(r->proof_bytes_max), "bytes"},
      {"verifies_per_s", r->verifies_per_s, "verifications/s"},
      {"load_s", r->load_s, "s"},
      {"cache_hit_ratio",
       r->stats.node_reads ? static_cast<double>(r->stats.node_cache_hits) /
                                 static_cast<double>(r->stats.node_reads)
                           : 0.0,
       "ratio"},
      {"node_memory_mb", static_cast<double>(r->stats.node_memory_bytes) / (1 << 20), "MiB"},
      {"cache_mb", static_cast<double>(r->stats.cache_bytes) / (1 << 20), "MiB"},
      {"link_depth", static_cast<double>(r->stats.link_depth), "nibbles"},
      {"cache_entries", static_cast<double>(r->stats.cache_entries), "nodes"},
      {"node_reads", static_cast<double>(r->stats.node_reads), "reads"},
      {"nodes_written", static_cast<double>(r->stats.nodes_written), "nodes"},
  };
  char context[160];
  std::snprintf(context, sizeof context,
                "\"keys\":%llu,\"writes_per_version\":%llu,\"versions\":%llu,\"sync\":%s",
                static_cast<unsigned long long>(r->keys),
                static_cast<unsigned long long>(o.writes_per_version),
                static_cast<unsigned long long>(o.versions), o.sync ? "true" : "false");
  for (const Line& l : lines) {
    if (args.json()) {
      std::printf("{\"suite\":\"state\",\"name\":%s,\"value\":%.6g,\"unit\":%s,%s}\n",
                  JsonString(l.name).c_str(), l.value, JsonString(l.unit).c_str(), context);
    } else {
      std::printf("%-18s %14.2f %s\n", l.name, l.value, l.unit);
    }
  }
  if (!args.json()) {
    std::printf(
        "(%llu accounts, %llu versions of %llu writes, %s writes)\n",
        static_cast<unsigned long long>(r->keys), static_cast<unsigned long long>(o.versions),
        static_cast<unsigned long long>(o.writes_per_version), o.sync ? "synced" : "unsynced");
  }
  return 0;
}

}  // namespace

PROBITY_BENCH_SUITE({.name = "state",
                     .summary = "state tree: writes/s, ms per version, proof size, verifications/s",
                     .run = RunStateBenchSuite});

}  // namespace probity::cli
