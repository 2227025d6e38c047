#include "probity/ledger/state_bench.h"

#include <rocksdb/db.h>
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

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
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
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"state", rocksdb::ColumnFamilyOptions()}};
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

  auto commit = [&](const std::vector<StateWrite>& writes, double* apply_s, double* write_s,
                    size_t* batch_bytes) -> Status {
    rocksdb::WriteBatch batch;
    uint64_t v = tree->LatestVersion() + 1;
    auto t0 = Clock::now();
    double cpu0 = ThreadCpuSeconds();
    PROBITY_ASSIGN_OR_RETURN(Hash256 root, tree->ApplyVersion(v, writes, &batch));
    (void)root;
    auto t1 = Clock::now();
    double cpu1 = ThreadCpuSeconds();
    rocksdb::Status ws = d.db->Write(wo, &batch);
    if (!ws.ok()) return Status::IOError("bench: writing a version: " + ws.ToString());
    auto tw = Clock::now();
    tree->MarkCommitted(v);
    auto t2 = Clock::now();
    double cpu2 = ThreadCpuSeconds();
    if (getenv("PROBITY_BENCH_TRACE"))
      fprintf(stderr, "apply %.1f (cpu %.1f) write %.1f mark %.1f ms (write+mark cpu %.1f)\n",
              Seconds(t0, t1) * 1e3, (cpu1 - cpu0) * 1e3, Seconds(t1, tw) * 1e3,
              Seconds(tw, t2) * 1e3, (cpu2 - cpu1) * 1e3);
    if (apply_s) *apply_s = Seconds(t0, t1);
    if (write_s) *write_s = Seconds(t1, t2);
    if (batch_bytes) *batch_bytes = batch.GetDataSize();
    return Status::OK();
  };

  auto load_start = Clock::now();
  const uint64_t chunk = std::max<uint64_t>(o.writes_per_version, 1);
  while (next_account < o.initial_keys) {
    std::vector<StateWrite> writes;
    for (uint64_t i = 0; i < chunk && next_account < o.initial_keys; ++i, ++next_account) {
      writes.push_back({AccountKey(next_account), AccountValue(1'000'000, 0)});
    }
    PROBITY_RETURN_IF_ERROR(commit(writes, nullptr, nullptr, nullptr));
  }
  r.load_s = Seconds(load_start, Clock::now());

  double apply_total = 0, write_total = 0, bytes_total = 0;
  for (uint64_t v = 0; v < o.versions; ++v) {
    std::vector<StateWrite> writes;
    writes.reserve(o.writes_per_version);
    for (uint64_t i = 0; i < o.writes_per_version; ++i) {
      uint64_t account =
          (next_account == 0 || rng() % 20 == 0) ? next_account++ : rng() % next_account;
      writes.push_back({AccountKey(account), AccountValue(rng() % 1'000'000, v + 1)});
    }
    double apply_s = 0, write_s = 0;
    size_t bytes = 0;
    PROBITY_RETURN_IF_ERROR(commit(writes, &apply_s, &write_s, &bytes));
    apply_total += apply_s;
    write_total += write_s;
    bytes_total += static_cast<double>(bytes);
    r.apply_ms_max = std::max(r.apply_ms_max, apply_s * 1e3);
  }
  r.keys = next_account;
  if (o.versions > 0) {
    double n = static_cast<double>(o.versions);
    r.apply_ms_mean = apply_total * 1e3 / n;
    r.write_ms_mean = write_total * 1e3 / n;
    r.version_ms_mean = (apply_total + write_total) * 1e3 / n;
    r.batch_bytes_mean = bytes_total / n;
    r.writes_per_s = static_cast<double>(o.versions * o.writes_per_version) /
                     std::max(apply_total + write_total, 1e-9);
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
  if (std::filesystem::exists(o.dir, ec) && !std::filesystem::is_empty(o.dir, ec)) {
    return Status::InvalidArgument("bench: " + o.dir + " exists and is not empty");
  }
  Result<StateBenchResult> r = Status::Internal("bench: not run");
  {
    Db d;
    r = Run(o, d);
  }
  std::filesystem::remove_all(o.dir, ec);
  return r;
}

}  // namespace probity::ledger
