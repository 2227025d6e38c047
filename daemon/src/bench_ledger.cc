// `probity bench ledger`: how fast the chain commits signed transfers, next to the ceiling
// that signature checks alone set on this machine.
//
// Workloads (one run, same machine, same moment):
//   sig_verify_limit_per_s   BIP-340 verifications per second on all cores (one thread per
//                            core, distinct keys and messages): no transaction can be
//                            committed faster than its signature can be checked.
//   transfers_per_s          bank transfers from many accounts, pre-signed, submitted in
//                            process by one thread per core (CheckTx: decode, nonce, fee
//                            balance, signature; mempool), while the producer cuts blocks
//                            (Reap, PrepareProposal, FinalizeBlock with state-tree roots,
//                            signed header, Commit as one synced RocksDB batch, mempool
//                            re-check). The sustained rate: commits between the blocks that
//                            cross 10% and 90% of the run (end_to_end: first submission to
//                            last commit, also printed). gRPC transport is not included.
//   ratio                    transfers_per_s / sig_verify_limit_per_s
//   submit_to_commit_p50_ms, _p99_ms
//                            latency from SubmitTx to the commit of its block, with
//                            transfers offered at a steady 80% of the measured throughput
//   peak_rss_mib             the process's peak resident memory (VmHWM)
// Flags: --accounts N (default 20000), --txs N (default 100000), --block-interval-ms N
// (default 50), --quick (a smaller run).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "child.h"
#include "command.h"
#include "probity/bank/v1/bank.pb.h"
#include "probity/contracts/bank.h"
#include "probity/contracts/standard_modules.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/node.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/sha256.h"

namespace probity::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct IdHash {
  size_t operator()(const Hash256& h) const {
    size_t v;
    std::memcpy(&v, h.data(), sizeof(v));
    return v;
  }
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Cached: hardware_concurrency reads sysfs on every call.
unsigned Cores() {
  static const unsigned n = std::max(1u, std::thread::hardware_concurrency());
  return n;
}

void ParallelRun(unsigned threads, const std::function<void(unsigned)>& fn) {
  std::vector<std::thread> ts;
  for (unsigned t = 0; t < threads; ++t) ts.emplace_back(fn, t);
  for (auto& t : ts) t.join();
}

// CPU seconds this process has used (all threads, user + system).
double ProcessCpuSeconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

struct Limit {
  double per_s = 0;
  double cpu_us_each = 0;  // CPU time per verification
};

// Verifications per second with every core busy.
Limit SigVerifyLimit(double seconds) {
  constexpr int kKeys = 64, kMsgs = 4096;
  std::vector<SecretKey> keys;
  for (int i = 0; i < kKeys; ++i) {
    keys.push_back(SecretKey::FromBytes(Sha256("bench sig key " + std::to_string(i))).value());
  }
  std::vector<Hash256> msgs(kMsgs);
  std::vector<SchnorrSig> sigs(kMsgs);
  ParallelRun(Cores(), [&](unsigned t) {
    for (int i = static_cast<int>(t); i < kMsgs; i += static_cast<int>(Cores())) {
      msgs[i] = Sha256("bench message " + std::to_string(i));
      sigs[i] = keys[i % kKeys].Sign(msgs[i]).value();
    }
  });
  std::atomic<uint64_t> total{0};
  std::atomic<bool> bad{false};
  double cpu0 = ProcessCpuSeconds();
  auto start = Clock::now();
  auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  ParallelRun(Cores(), [&](unsigned t) {
    uint64_t n = 0;
    for (int i = static_cast<int>(t) * 997 % kMsgs; Clock::now() < deadline; ++i) {
      for (int j = 0; j < 64; ++j, ++i) {
        int k = i % kMsgs;
        if (!VerifySchnorr(keys[k % kKeys].PublicKey(), msgs[k], sigs[k])) bad = true;
        ++n;
      }
    }
    total += n;
  });
  if (bad) std::abort();
  Limit l;
  l.per_s = static_cast<double>(total) / Seconds(Clock::now() - start);
  l.cpu_us_each = (ProcessCpuSeconds() - cpu0) * 1e6 / static_cast<double>(total);
  return l;
}

struct Workload {
  std::vector<SecretKey> keys;
  std::string genesis_bank;
};

Workload MakeAccounts(uint64_t accounts) {
  Workload w;
  w.keys.reserve(accounts);
  for (uint64_t i = 0; i < accounts; ++i) {
    w.keys.push_back(SecretKey::FromBytes(Sha256("bench account " + std::to_string(i))).value());
  }
  std::string s = "{\"balances\":[";
  for (uint64_t i = 0; i < accounts; ++i) {
    s += (i ? ",{\"address\":\"" : "{\"address\":\"") + EncodeAddress(w.keys[i].PublicKey()) +
         "\",\"amount\":\"1000000000\"}";
  }
  w.genesis_bank = s + "]}";
  return w;
}

// Transfers in submission order: round r holds nonce first_nonce + r of every account, so
// each account's transactions arrive in nonce order whichever thread sends them.
std::vector<Bytes> SignTransfers(const Workload& w, const std::string& chain_id, uint64_t count,
                                 uint64_t first_nonce) {
  const uint64_t n = w.keys.size();
  std::vector<Bytes> txs(count);
  ParallelRun(Cores(), [&](unsigned t) {
    for (uint64_t i = t; i < count; i += Cores()) {
      uint64_t from = i % n, round = i / n;
      uint64_t to = (from * 7919 + round * 104729 + 1) % n;
      bank::v1::MsgSend m;
      m.set_to(w.keys[to].PublicKey().data(), 32);
      m.set_amount(1 + (i % 100));
      ledger::TxFields f;
      f.chain_id = chain_id;
      f.nonce = first_nonce + round;
      f.fee = 1;
      f.msg_type_url = std::string(contracts::Bank::kMsgSend);
      std::string v = ledger::SerializeCanonical(m);
      f.msg_value.assign(v.begin(), v.end());
      txs[i] = ledger::BuildSignedTx(w.keys[from], f).value();
    }
  });
  return txs;
}

void Line(const Args& args, const std::string& name, double value, const std::string& unit,
          const std::string& extra = "") {
  if (args.json()) {
    std::printf("{\"suite\":\"ledger\",\"name\":\"%s\",\"value\":%.3f,\"unit\":\"%s\"%s}\n",
                name.c_str(), value, unit.c_str(), extra.c_str());
  } else {
    std::printf(value < 100 ? "  %-26s %14.3f %s\n" : "  %-26s %14.0f %s\n", name.c_str(), value,
                unit.c_str());
  }
  std::fflush(stdout);
}

int RunLedgerBench(const Args& args) {
  if (Status s = args.CheckKnown({"accounts", "txs", "block-interval-ms", "quick"}); !s.ok()) {
    return Fail(args, s);
  }
  bool quick = args.Has("quick");
  auto accounts = args.GetU64("accounts", quick ? 4000 : 20000);
  auto count = args.GetU64("txs", quick ? 12000 : 100000);
  auto interval = args.GetU64("block-interval-ms", 50);
  if (!accounts.ok() || !count.ok() || !interval.ok()) {
    return Fail(args,
                Status::InvalidArgument("--accounts, --txs and --block-interval-ms take numbers"));
  }
  if (*accounts < 2 || *count < 1 || *interval < 1) {
    return Fail(args, Status::InvalidArgument("need at least 2 accounts, 1 tx and 1 ms"));
  }
  // The latency batch continues every account's nonces after the first batch.
  if (*count % *accounts != 0) {
    return Fail(args, Status::InvalidArgument("--txs must be a multiple of --accounts"));
  }
  if (!args.json()) std::printf("ledger benchmark (%u cores)\n", Cores());

  // A fresh chain in a temporary directory.
  std::string tmpl =
      std::filesystem::temp_directory_path().string() + "/probity-bench-ledger-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return Fail(args, Status::IOError("cannot create a directory like " + tmpl));
  }
  std::string dir = tmpl;
  struct Cleanup {
    std::string d;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(d, ec);
    }
  } cleanup{dir};

  Workload w = MakeAccounts(*accounts);
  SecretKey proposer = SecretKey::FromBytes(Sha256("bench proposer")).value();
  ledger::NodeOptions opts;
  opts.genesis.chain_id = "bench";
  opts.genesis.time_unix_ms = 1767225600000;
  opts.genesis.proposer = proposer.PublicKey();
  opts.genesis.params.max_block_txs = 20000;
  opts.genesis.params.max_block_bytes = 16u << 20;
  opts.genesis.modules["bank"] = w.genesis_bank;
  opts.config.block_interval_ms = static_cast<uint32_t>(*interval);
  opts.config.mempool.max_txs = 2 * *count + 1000;
  opts.config.mempool.max_bytes = 1ull << 30;
  opts.config.mempool.max_per_sender = 1024;
  opts.producer_key = std::make_shared<const SecretKey>(std::move(proposer));
  auto node = ledger::Node::Open(dir, opts, contracts::StandardModules());
  if (!node.ok()) return Fail(args, node.status());
  ledger::Node& n = **node;

  // Commit times of every transaction, by id.
  std::mutex mu;
  std::unordered_map<Hash256, Clock::time_point, IdHash> committed;
  std::atomic<uint64_t> committed_count{0};
  std::atomic<bool> record_times{false};  // only the latency phase needs per-tx times
  std::vector<std::pair<Clock::time_point, uint64_t>> progress;  // (commit time, total so far)
  n.SetCommitObserver([&](uint64_t, const std::vector<Hash256>& ids) {
    auto now = Clock::now();
    std::lock_guard<std::mutex> l(mu);
    if (record_times) {
      for (const auto& id : ids) committed.emplace(id, now);
    }
    committed_count += ids.size();
    progress.emplace_back(now, committed_count.load());
  });
  if (Status s = n.Start(); !s.ok()) return Fail(args, s);
  n.WaitForHeight(1, std::chrono::seconds(10));

  // --- throughput, between two measurements of the ceiling (the machine may be shared: the
  // ceiling is their mean, taken just before and just after) ---
  std::vector<Bytes> txs = SignTransfers(w, "bench", *count, 1);
  const double limit_seconds = quick ? 1.0 : 1.5;
  Limit before = SigVerifyLimit(limit_seconds);
  std::atomic<uint64_t> refused{0};
  uint64_t base = committed_count.load();
  double cpu0 = ProcessCpuSeconds();
  auto start = Clock::now();
  const unsigned threads = Cores();
  ParallelRun(threads, [&](unsigned t) {
    // Thread t sends accounts i with i % threads == t, so an account's nonces stay ordered.
    for (uint64_t i = 0; i < txs.size(); ++i) {
      if ((i % *accounts) % threads != t) continue;
      auto o = n.SubmitTx(txs[i], false, {});
      if (!o.verdict.ok()) {
        if (refused++ == 0) std::fprintf(stderr, "refused: %s\n", o.verdict.log.c_str());
      }
    }
  });
  while (committed_count.load() - base < txs.size() - refused.load()) {
    n.WaitForHeight(n.height() + 1, std::chrono::milliseconds(100));
    if (Seconds(Clock::now() - start) > 300) return Fail(args, Status::DeadlineExceeded("stalled"));
  }
  double elapsed = Seconds(Clock::now() - start);
  double cpu_us_per_tx = (ProcessCpuSeconds() - cpu0) * 1e6;
  uint64_t done = committed_count.load() - base;
  cpu_us_per_tx /= static_cast<double>(std::max<uint64_t>(done, 1));
  const double end_to_end = static_cast<double>(done) / elapsed;
  // Sustained rate: commits between the blocks that cross 10% and 90% of the run, which leaves
  // out the first block's wait and the single-threaded tail of a finite burst.
  double tps = end_to_end;
  {
    std::lock_guard<std::mutex> l(mu);
    const std::pair<Clock::time_point, uint64_t>*lo = nullptr, *hi = nullptr;
    for (const auto& p : progress) {
      if (p.second < base) continue;
      if (lo == nullptr && p.second - base >= done / 10) lo = &p;
      if (hi == nullptr && p.second - base >= done - done / 10) hi = &p;
    }
    if (lo != nullptr && hi != nullptr && hi->first > lo->first) {
      tps = static_cast<double>(hi->second - lo->second) / Seconds(hi->first - lo->first);
    }
  }
  Limit after = SigVerifyLimit(limit_seconds);
  double limit = (before.per_s + after.per_s) / 2;
  char extra[160];
  std::snprintf(extra, sizeof(extra),
                ",\"threads\":%u,\"before\":%.0f,\"after\":%.0f,\"cpu_us_each\":%.2f", Cores(),
                before.per_s, after.per_s, (before.cpu_us_each + after.cpu_us_each) / 2);
  Line(args, "sig_verify_limit_per_s", limit, "verifications/s", extra);
  Line(args, "transfers_per_s", tps, "tx/s",
       ",\"end_to_end\":" + std::to_string(static_cast<uint64_t>(end_to_end)) +
           ",\"txs\":" + std::to_string(done) + ",\"refused\":" + std::to_string(refused.load()) +
           ",\"accounts\":" + std::to_string(*accounts) +
           ",\"blocks\":" + std::to_string(n.height() - 1) +
           ",\"block_interval_ms\":" + std::to_string(*interval) + ",\"target\":20000");
  Line(args, "ratio", tps / limit, "ratio", ",\"target\":0.5");
  // What the ratio would be if both ran alone with every core busy: CPU time per verification
  // over CPU time per committed transfer (all threads). Immune to other load on the machine.
  Line(args, "cpu_us_per_transfer", cpu_us_per_tx, "us",
       ",\"cpu_ratio\":" +
           std::to_string((before.cpu_us_each + after.cpu_us_each) / 2 / cpu_us_per_tx));

  // --- latency at a steady load ---
  const double rate = 0.8 * tps;
  uint64_t rounds_used = (*count + *accounts - 1) / *accounts;
  uint64_t lat_count = std::max<uint64_t>(1000, static_cast<uint64_t>(rate * (quick ? 1.5 : 3.0)));
  std::vector<Bytes> more = SignTransfers(w, "bench", lat_count, 1 + rounds_used);
  std::vector<Clock::time_point> sent(more.size());
  std::vector<Hash256> ids(more.size());
  for (size_t i = 0; i < more.size(); ++i) ids[i] = Sha256(ByteView(more[i]));
  refused = 0;
  record_times = true;
  base = committed_count.load();
  auto t0 = Clock::now();
  ParallelRun(threads, [&](unsigned t) {
    for (uint64_t i = 0; i < more.size(); ++i) {
      if ((i % *accounts) % threads != t) continue;
      auto due = t0 + std::chrono::duration_cast<Clock::duration>(
                          std::chrono::duration<double>(static_cast<double>(i) / rate));
      std::this_thread::sleep_until(due);
      sent[i] = Clock::now();
      if (!n.SubmitTx(more[i], false, {}).verdict.ok()) ++refused;
    }
  });
  while (committed_count.load() - base < more.size() - refused.load()) {
    n.WaitForHeight(n.height() + 1, std::chrono::milliseconds(100));
    if (Seconds(Clock::now() - t0) > 300) return Fail(args, Status::DeadlineExceeded("stalled"));
  }
  std::vector<double> lat;
  {
    std::lock_guard<std::mutex> l(mu);
    for (size_t i = 0; i < more.size(); ++i) {
      auto it = committed.find(ids[i]);
      if (it != committed.end()) {
        lat.push_back(std::chrono::duration<double, std::milli>(it->second - sent[i]).count());
      }
    }
  }
  n.Stop();
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))];
  };
  std::string load = ",\"load_tx_per_s\":" + std::to_string(static_cast<uint64_t>(rate)) +
                     ",\"txs\":" + std::to_string(lat.size());
  Line(args, "submit_to_commit_p50_ms", pct(0.50), "ms", load);
  Line(args, "submit_to_commit_p99_ms", pct(0.99), "ms", load);
  Line(args, "peak_rss_mib", ProcessPeakRssMiB("self"), "MiB");
  return refused.load() == 0 ? 0 : 1;
}

}  // namespace

PROBITY_BENCH_SUITE(
    {.name = "ledger",
     .summary = "signature ceiling, committed transfers/s, submit-to-commit latency",
     .run = RunLedgerBench});

}  // namespace probity::cli
