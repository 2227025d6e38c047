#include "probity/ledger/state_bench.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <random>
#include <vector>

namespace probity::ledger {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

Bytes AccountKey(uint64_t i) {
  std::string k = "bank/balance/" + std::to_string(i);
  return Bytes(k.begin(), k.end());
}

// Balance and nonce, the size of a bank account record.
Bytes AccountValue(uint64_t balance, uint64_t nonce) {
  Bytes v(16);
  for (int i = 0; i < 8; ++i) {
    v[i] = static_cast<uint8_t>(balance >> (8 * i));
    v[8 + i] = static_cast<uint8_t>(nonce >> (8 * i));
  }
  return v;
}

struct Db {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  ~Db() {
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  }
};

Result<StateBenchResult> Run(const StateBenchOptions& o, Db& d) {
  // Tuned as a node's database would be: a block cache, bloom filters, 64 MiB memtables.
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_background_jobs = 2;
  options.bytes_per_sync = 1 << 20;
  rocksdb::ColumnFamilyOptions cf;
  cf.write_buffer_size = 64 << 20;
  cf.max_write_buffer_number = 3;
  cf.target_file_size_base = 64 << 20;
  cf.max_bytes_for_level_base = 256 << 20;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(256 << 20);
  table.block_size = 16 << 10;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {{rocksdb::kDefaultColumnFamilyName, cf},
                                                           {"state", cf}};
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, o.dir, families, &d.handles, &raw);
  if (!s.ok()) return Status::IOError("bench: opening RocksDB: " + s.ToString());
  d.db.reset(raw);
  PROBITY_ASSIGN_OR_RETURN(
      std::unique_ptr<StateTree> tree,
      StateTree::Open(d.db.get(), d.handles[1],
                      StateTreeOptions{.node_cache_bytes = o.node_cache_bytes}));
  rocksdb::WriteOptions wo;
  wo.sync = o.sync;

  std::mt19937_64 rng(o.seed);
  uint64_t next_account = 0;
  StateBenchResult r;

  struct Timing {
    double apply_s = 0, apply_cpu_s = 0, write_s = 0, mark_s = 0;
    size_t batch_bytes = 0;
  };
  auto commit = [&](const std::vector<StateWrite>& writes, Timing* t) -> Status {
    rocksdb::WriteBatch batch(writes.size() * 300);
    uint64_t v = tree->LatestVersion() + 1;
    auto t0 = Clock::now();
    uint64_t cpu0 = tree->Stats().apply_cpu_ns;
    PROBITY_ASSIGN_OR_RETURN(Hash256 root, tree->ApplyVersion(v, writes, &batch));
    (void)root;
    auto t1 = Clock::now();
    uint64_t cpu1 = tree->Stats().apply_cpu_ns;
    rocksdb::Status ws = d.db->Write(wo, &batch);
    if (!ws.ok()) return Status::IOError("bench: writing a version: " + ws.ToString());
    auto t2 = Clock::now();
    tree->MarkCommitted(v);
    auto t3 = Clock::now();
    t->apply_s = Seconds(t0, t1);
    t->apply_cpu_s = static_cast<double>(cpu1 - cpu0) * 1e-9;
    t->write_s = Seconds(t1, t2);
    t->mark_s = Seconds(t2, t3);
    t->batch_bytes = batch.GetDataSize();
    return Status::OK();
  };

  auto load_start = Clock::now();
  const uint64_t chunk = std::max<uint64_t>(o.writes_per_version, 1);
  while (next_account < o.initial_keys) {
    std::vector<StateWrite> writes;
    for (uint64_t i = 0; i < chunk && next_account < o.initial_keys; ++i, ++next_account) {
      writes.push_back({AccountKey(next_account), AccountValue(1'000'000, 0)});
    }
    Timing t;
    PROBITY_RETURN_IF_ERROR(commit(writes, &t));
  }
  r.load_s = Seconds(load_start, Clock::now());

  Timing sum;
  for (uint64_t v = 0; v < o.versions; ++v) {
    std::vector<StateWrite> writes;
    writes.reserve(o.writes_per_version);
    for (uint64_t i = 0; i < o.writes_per_version; ++i) {
      uint64_t account =
          (next_account == 0 || rng() % 20 == 0) ? next_account++ : rng() % next_account;
      writes.push_back({AccountKey(account), AccountValue(rng() % 1'000'000, v + 1)});
    }
    Timing t;
    PROBITY_RETURN_IF_ERROR(commit(writes, &t));
    sum.apply_s += t.apply_s;
    sum.apply_cpu_s += t.apply_cpu_s;
    sum.write_s += t.write_s;
    sum.mark_s += t.mark_s;
    sum.batch_bytes += t.batch_bytes;
    r.apply_ms_max = std::max(r.apply_ms_max, t.apply_s * 1e3);
  }
  r.keys = next_account;
  if (o.versions > 0) {
    double n = static_cast<double>(o.versions);
    double total = sum.apply_s + sum.write_s + sum.mark_s;
    r.apply_ms_mean = sum.apply_s * 1e3 / n;
    r.apply_cpu_ms_mean = sum.apply_cpu_s * 1e3 / n;
    r.write_ms_mean = sum.write_s * 1e3 / n;
    r.mark_ms_mean = sum.mark_s * 1e3 / n;
    r.version_ms_mean = total * 1e3 / n;
    r.batch_bytes_mean = static_cast<double>(sum.batch_bytes) / n;
    r.writes_per_s = static_cast<double>(o.versions * o.writes_per_version) / std::max(total, 1e-9);
  }

  const uint64_t latest = tree->LatestVersion();
  PROBITY_ASSIGN_OR_RETURN(Hash256 root, tree->Root(latest));
  std::vector<Bytes> keys;
  for (uint64_t i = 0; i < o.reads; ++i) {
    // One in ten absent, to measure exclusion proofs too.
    keys.push_back(
        AccountKey(i % 10 == 9 ? next_account + i : rng() % std::max<uint64_t>(next_account, 1)));
  }
  auto t0 = Clock::now();
  for (const Bytes& k : keys) {
    PROBITY_ASSIGN_OR_RETURN(auto v, tree->Get(latest, k));
    (void)v;
  }
  auto t1 = Clock::now();
  std::vector<std::pair<std::optional<Bytes>, StateProof>> proofs;
  proofs.reserve(keys.size());
  for (const Bytes& k : keys) {
    PROBITY_ASSIGN_OR_RETURN(auto p, tree->GetWithProof(latest, k));
    proofs.push_back(std::move(p));
  }
  auto t2 = Clock::now();
  for (size_t i = 0; i < keys.size(); ++i) {
    PROBITY_RETURN_IF_ERROR(VerifyStateProof(root, keys[i], proofs[i].first, proofs[i].second));
  }
  auto t3 = Clock::now();
  double n = static_cast<double>(std::max<size_t>(keys.size(), 1));
  r.gets_per_s = n / std::max(Seconds(t0, t1), 1e-9);
  r.proofs_per_s = n / std::max(Seconds(t1, t2), 1e-9);
  r.verifies_per_s = n / std::max(Seconds(t2, t3), 1e-9);
  double bytes = 0;
  for (const auto& p : proofs) {
    bytes += static_cast<double>(p.second.encoded.size());
    r.proof_bytes_max = std::max<uint64_t>(r.proof_bytes_max, p.second.encoded.size());
  }
  r.proof_bytes_mean = bytes / n;
  r.stats = tree->Stats();
  return r;
}

}  // namespace

Result<StateBenchResult> RunStateBench(const StateBenchOptions& o) {
  if (o.dir.empty()) return Status::InvalidArgument("bench: a database directory is needed");
  std::error_code ec;
  const bool existed = std::filesystem::exists(o.dir, ec);
  if (existed && !std::filesystem::is_empty(o.dir, ec)) {
    return Status::InvalidArgument("bench: " + o.dir + " exists and is not empty");
  }
  Result<StateBenchResult> r = Status::Internal("bench: not run");
  {
    Db d;
    r = Run(o, d);
  }
  // Leaves a directory the caller made, empty; removes one it made itself.
  if (existed) {
    for (const auto& entry : std::filesystem::directory_iterator(o.dir, ec)) {
      std::filesystem::remove_all(entry.path(), ec);
    }
  } else {
    std::filesystem::remove_all(o.dir, ec);
  }
  return r;
}

}  // namespace probity::ledger
