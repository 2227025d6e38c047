// `probity bench load`: one `probity node` process under signed transfers through its gRPC
// SubmitTx, the way clients reach it, and two checks on what a hostile client can do to it.
//
// The bench starts the node itself (`probity init` in a temporary home, genesis funding
// --accounts accounts, `probity node` on 127.0.0.1 with an ephemeral port) and removes it at the
// end. Clients: --threads threads, each with its own gRPC channel and its own share of the
// accounts, signing transfers as they go and submitting them without waiting for their
// commit, paced to --rate
// in total, open loop (a thread that falls behind catches up, up to a 10 s backlog; a
// stalled node therefore shows as latency, not as a lower offered rate). One StreamBlocks stream
// follows the commits; a transfer's latency runs from just before its SubmitTx to the arrival of
// the block holding it.
//
// Figures (JSON lines with --json):
//   committed_tx_per_s        transfers committed per second over the run after a warm-up
//                             (target: 10,000; --rate offers 10,500 by default)
//   submit_to_commit_p50_ms, submit_to_commit_p99_ms
//   node_peak_rss_mib         the node's VmHWM (/proc/PID/status) at the end of everything
// Checks (JSON lines with "check" and "ok"):
//   flood_does_not_starve     one sender floods at a high fee, as fast as the node accepts,
//                             while the others go on at half the rate: the others' p99
//                             latency stays under 2 s and they commit at least 90% of it
//   abuse_is_refused          garbage bytes on fresh connections to the gRPC port and 4,000
//                             concurrent StreamEvents calls while the others go on at half the
//                             rate: the streams past the node's max_streams are refused
//                             (RESOURCE_EXHAUSTED), the node stays up, answers Status and
//                             commits at least half the offered rate during the abuse
// Flags: --seconds N (default 600), --rate R (default 10500), --accounts N (default 4096),
// --threads N (default 16), --check-seconds N (each check's duration; default 10), --quick (30 s
// instead of 600 unless --seconds says otherwise).
#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <utility>

#include "bench_output.h"
#include "child.h"
#include "command.h"
#include "probity/bank/v1/bank.pb.h"
#include "probity/contracts/bank.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/genesis.h"
#include "probity/ledger/node_client.h"
#include "probity/ledger/node_home.h"
#include "probity/ledger/tx.h"
#include "probity/node/v1/node.grpc.pb.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/sha256.h"

namespace probity::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct IdHash {
  size_t operator()(const Hash256& h) const {
    size_t v;
    std::memcpy(&v, h.data(), sizeof(v));
    return v;
  }
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

SecretKey AccountKey(uint64_t i) {
  return SecretKey::FromBytes(Sha256("probity bench load account " + std::to_string(i))).value();
}

// Submitted transfers waiting for their block, and the latencies of those committed.
class Tracker {
 public:
  void Submitted(const Hash256& id, bool measured) {
    std::lock_guard<std::mutex> l(mu_);
    pending_[id] = {Clock::now(), measured};
  }
  void Refused(const Hash256& id) {
    std::lock_guard<std::mutex> l(mu_);
    pending_.erase(id);
  }
  void Committed(const Hash256& id, Clock::time_point at) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    if (it->second.measured) {
      ++committed_;
      latencies_ms_.push_back(Seconds(at - it->second.at) * 1000.0);
    }
    pending_.erase(it);
  }
  // Committed measured transfers so far, and their latencies (cleared).
  uint64_t committed() {
    std::lock_guard<std::mutex> l(mu_);
    return committed_;
  }
  std::vector<double> TakeLatencies() {
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(latencies_ms_, {});
  }

 private:
  struct Pending {
    Clock::time_point at;
    bool measured;
  };
  std::mutex mu_;
  std::unordered_map<Hash256, Pending, IdHash> pending_;
  uint64_t committed_ = 0;
  std::vector<double> latencies_ms_;
};

struct Chain {
  std::string address;
  ledger::Genesis genesis;
  std::shared_ptr<grpc::Channel> Channel() const {
    grpc::ChannelArguments a;
    a.SetInt("grpc.use_local_subchannel_pool", 1);  // a connection of its own
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), a);
  }
};

Bytes TransferTx(const Chain& chain, const SecretKey& from, const XOnlyPubKey& to, uint64_t nonce,
                 uint64_t fee) {
  bank::v1::MsgSend m;
  m.set_to(to.data(), 32);
  m.set_amount(1);
  ledger::TxFields f;
  f.chain_id = chain.genesis.chain_id;
  f.nonce = nonce;
  f.fee = fee;
  f.msg_type_url = std::string(contracts::Bank::kMsgSend);
  const std::string v = ledger::SerializeCanonical(m);
  f.msg_value.assign(v.begin(), v.end());
  return ledger::BuildSignedTx(from, f).value();
}

// Client threads sending transfers from their accounts at a total `rate` (changeable).
class Senders {
 public:
  Senders(const Chain& chain, const std::vector<SecretKey>* keys, size_t first, size_t count,
          int threads, Tracker* tracker)
      : chain_(chain), keys_(keys), tracker_(tracker) {
    nonces_.assign(keys->size(), 1);
    for (int t = 0; t < threads; ++t) {
      std::vector<size_t> mine;
      for (size_t a = first + static_cast<size_t>(t); a < first + count;
           a += static_cast<size_t>(threads)) {
        mine.push_back(a);
      }
      threads_.emplace_back([this, mine, threads] { Run(mine, threads); });
    }
  }
  ~Senders() { Stop(); }
  void SetRate(double r) { rate_ = r; }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  uint64_t sent() const { return sent_; }
  uint64_t refused() const { return refused_; }

 private:
  void Run(std::vector<size_t> accounts, int threads) {
    node::v1::Node::Stub stub(chain_.Channel());
    std::mt19937_64 rng(accounts.empty() ? 0 : accounts[0]);
    auto next = Clock::now();
    size_t i = 0;
    while (!stop_ && !accounts.empty()) {
      const double r = rate_.load() / threads;
      if (r <= 0) {
        std::this_thread::sleep_for(10ms);
        next = Clock::now();
        continue;
      }
      const size_t a = accounts[i++ % accounts.size()];
      const auto& to = (*keys_)[rng() % keys_->size()].PublicKey();
      const Bytes tx =
          TransferTx(chain_, (*keys_)[a], to, nonces_[a], chain_.genesis.params.min_fee);
      const Hash256 id = ledger::TxId(tx);
      tracker_->Submitted(id, true);
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + 10s);
      node::v1::SubmitTxRequest req;
      req.set_tx(tx.data(), tx.size());
      node::v1::SubmitTxResponse resp;
      const grpc::Status st = stub.SubmitTx(&ctx, req, &resp);
      if (st.ok() && resp.code() == 0) {
        ++nonces_[a];
        ++sent_;
      } else {
        tracker_->Refused(id);
        ++refused_;
        if (!st.ok()) std::this_thread::sleep_for(10ms);
      }
      next += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / r));
      const auto now = Clock::now();
      if (next > now) {
        std::this_thread::sleep_until(next);
      } else if (now - next > 10s) {
        // Open loop: a thread that falls behind (a stall of the node or of the machine) sends
        // at once until it is back on schedule, so the offered rate is the rate over the run,
        // not the rate minus every hiccup. Only a backlog of more than 10 s is given up.
        next = now;
      }
    }
  }

  const Chain& chain_;
  const std::vector<SecretKey>* keys_;
  Tracker* tracker_;
  std::vector<uint64_t> nonces_;  // each account is used by one thread only
  std::vector<std::thread> threads_;
  std::atomic<double> rate_{0};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0}, refused_{0};
};

// Follows the commits (one StreamBlocks call, restarted if it breaks).
class CommitWatcher {
 public:
  CommitWatcher(const Chain& chain, Tracker* tracker, uint64_t from)
      : chain_(chain), tracker_(tracker), next_(from) {
    thread_ = std::thread([this] { Run(); });
  }
  ~CommitWatcher() {
    stop_ = true;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (ctx_) ctx_->TryCancel();
    }
    thread_.join();
  }
  uint64_t height() const { return next_ - 1; }

 private:
  void Run() {
    auto stub = node::v1::Node::NewStub(chain_.Channel());
    while (!stop_) {
      grpc::ClientContext ctx;
      {
        std::lock_guard<std::mutex> l(mu_);
        ctx_ = &ctx;
      }
      node::v1::StreamBlocksRequest req;
      req.set_from_height(next_);
      auto reader = stub->StreamBlocks(&ctx, req);
      node::v1::GetBlockResponse b;
      while (!stop_ && reader->Read(&b)) {
        const auto at = Clock::now();
        for (const auto& tx : b.block().txs()) tracker_->Committed(ledger::TxId(AsBytes(tx)), at);
        ++next_;
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        ctx_ = nullptr;
      }
      ctx.TryCancel();
      reader->Finish();
      if (!stop_) std::this_thread::sleep_for(100ms);
    }
  }
  const Chain& chain_;
  Tracker* tracker_;
  std::atomic<uint64_t> next_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  grpc::ClientContext* ctx_ = nullptr;
  std::thread thread_;
};

// Sets up the home: `probity init`, then a genesis funding `accounts` keys.
Result<Chain> InitHome(const std::string& home, const std::vector<SecretKey>& keys) {
  PROBITY_ASSIGN_OR_RETURN(auto init,
                           Child::Spawn("init", {"init", "--home", home}, home + ".init.log"));
  if (init->Wait() != 0) {
    return Status::Internal("probity init failed (see " + home + ".init.log)");
  }
  ledger::NodeHome h{home};
  PROBITY_ASSIGN_OR_RETURN(ledger::Genesis g, ledger::LoadGenesisFile(h.genesis_file()));
  std::string bank = "{\"balances\":[";
  for (size_t i = 0; i < keys.size(); ++i) {
    bank += std::string(i ? "," : "") + "{\"address\":\"" + EncodeAddress(keys[i].PublicKey()) +
            "\",\"amount\":\"1000000000000\"}";
  }
  bank += "]}";
  g.modules["bank"] = bank;
  PROBITY_RETURN_IF_ERROR(ledger::WriteFileAtomically(h.genesis_file(), ledger::GenesisToJson(g)));
  return Chain{"", g};
}

bool NodeAnswers(const Chain& chain) {
  auto stub = node::v1::Node::NewStub(chain.Channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  node::v1::StatusRequest req;
  node::v1::StatusResponse resp;
  return stub->Status(&ctx, req, &resp).ok() && resp.halted().empty();
}

// Fresh TCP connections to the node's port, each sent random bytes (after an HTTP/2 preface
// half of the time), until stopped; returns how many.
uint64_t SendGarbage(const std::string& address, const std::atomic<bool>& stop) {
  const size_t colon = address.rfind(':');
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &a.sin_addr);
  std::mt19937_64 rng(42);
  uint64_t n = 0;
  std::string preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  while (!stop) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) break;
    timeval tv{0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
      std::string junk = (n % 2) ? preface : "";
      for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>(rng()));
      (void)!write(fd, junk.data(), junk.size());
      char buf[512];
      while (read(fd, buf, sizeof buf) > 0) {
      }
      ++n;
    }
    close(fd);
  }
  return n;
}

// `count` concurrent StreamEvents calls over a few connections; counts those refused.
class StreamFlood {
 public:
  StreamFlood(const Chain& chain, int count) {
    for (int c = 0; c < 8; ++c) stubs_.push_back(node::v1::Node::NewStub(chain.Channel()));
    for (int i = 0; i < count; ++i) calls_.push_back(std::make_unique<Call>());
    node::v1::StreamEventsRequest req;  // live events from the next block: held open
    for (int i = 0; i < count; ++i) {
      Call& c = *calls_[static_cast<size_t>(i)];
      c.reader = stubs_[static_cast<size_t>(i) % stubs_.size()]->PrepareAsyncStreamEvents(
          &c.ctx, req, &cq_);
      c.reader->StartCall(Tag(i, false));
      c.reader->Finish(&c.status, Tag(i, true));
    }
    drain_ = std::thread([this] { Drain(); });
  }
  ~StreamFlood() {
    for (auto& c : calls_) c->ctx.TryCancel();
    const auto deadline = Clock::now() + 20s;
    while (finished_ < calls_.size() && Clock::now() < deadline) std::this_thread::sleep_for(10ms);
    cq_.Shutdown();
    drain_.join();
  }
  uint64_t refused() const { return refused_; }
  uint64_t finished() const { return finished_; }

 private:
  struct Call {
    grpc::ClientContext ctx;
    grpc::Status status;
    std::unique_ptr<grpc::ClientAsyncReader<node::v1::EventRecord>> reader;
  };
  static void* Tag(int i, bool finish) {
    return reinterpret_cast<void*>(static_cast<intptr_t>(i) * 2 + (finish ? 1 : 0));
  }
  void Drain() {
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
      const intptr_t t = reinterpret_cast<intptr_t>(tag);
      if (t % 2 == 0) continue;
      const Call& c = *calls_[static_cast<size_t>(t / 2)];
      if (c.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++refused_;
      ++finished_;
    }
  }
  std::vector<std::unique_ptr<node::v1::Node::Stub>> stubs_;
  std::vector<std::unique_ptr<Call>> calls_;
  grpc::CompletionQueue cq_;
  std::thread drain_;
  std::atomic<uint64_t> refused_{0}, finished_{0};
};

void Check(const Args& args, const std::string& name, bool ok,
           const std::map<std::string, double>& fields) {
  if (args.json()) {
    std::string line =
        "{\"suite\":\"load\",\"check\":" + JsonString(name) + ",\"ok\":" + (ok ? "true" : "false");
    for (const auto& [k, v] : fields) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6g", v);
      line += ",\"" + k + "\":" + buf;
    }
    std::cout << line << "}" << std::endl;
  } else {
    std::cout << "check " << name << ": " << (ok ? "ok" : "FAILED");
    for (const auto& [k, v] : fields) std::cout << "  " << k << "=" << v;
    std::cout << std::endl;
  }
}

int RunLoadBench(const Args& args) {
  if (Status s =
          args.CheckKnown({"seconds", "rate", "accounts", "threads", "check-seconds", "quick"});
      !s.ok()) {
    return Fail(args, s);
  }
  const bool quick = args.Has("quick");
  auto seconds = args.GetU64("seconds", quick ? 30 : 600);
  // 5% above the 10,000/s target: offering exactly the target, the committed rate lands a few
  // transfers per second either side of it from pacing and the run's edges alone.
  auto rate = args.GetU64("rate", 10500);
  auto accounts = args.GetU64("accounts", 4096);
  // Each client thread waits for its SubmitTx to return, so it offers at most 1 / latency
  // transfers per second; with the node and the clients sharing two cores, eight threads could
  // not keep 10,000/s offered once latency rose, and the figure measured the client.
  auto threads = args.GetU64("threads", 16);
  auto check_seconds = args.GetU64("check-seconds", 10);
  for (const auto* r : {&seconds, &rate, &accounts, &threads, &check_seconds}) {
    if (!r->ok()) return Fail(args, r->status());
  }
  if (*seconds < 1 || *rate < 1 || *accounts < 16 || *threads < 1 || *threads > 256 ||
      *check_seconds < 1) {
    return Fail(args, Status::InvalidArgument(
                          "need --seconds >= 1, --rate >= 1, --accounts >= 16, --threads 1..256, "
                          "--check-seconds >= 1"));
  }
  if (!std::getenv("PROBITY_PASSPHRASE")) setenv("PROBITY_PASSPHRASE", "bench-load", 1);

  std::string tmpl = (fs::temp_directory_path() / "probity-bench-load-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return Fail(args, Status::IOError("cannot create a temp dir"));
  const std::string root = tmpl;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{root};
  const std::string home = root + "/home";

  // Accounts [0, n-1) send the load; the last one floods.
  std::vector<SecretKey> keys;
  for (uint64_t i = 0; i < *accounts; ++i) keys.push_back(AccountKey(i));
  auto chain = InitHome(home, keys);
  if (!chain.ok()) return Fail(args, chain.status());
  auto node =
      Child::Spawn("node", {"node", "--home", home, "--listen", "127.0.0.1:0"}, home + "/node.log");
  if (!node.ok()) return Fail(args, node.status());
  auto address = WaitForAddressFile(ledger::NodeHome{home}.address_file(), **node, 30);
  if (!address.ok()) return Fail(args, address.status());
  chain->address = *address;

  Tracker tracker;
  CommitWatcher watcher(*chain, &tracker, 1);
  const size_t load_accounts = keys.size() - 1;
  Senders senders(*chain, &keys, 0, load_accounts, static_cast<int>(*threads), &tracker);

  // The run: a warm-up (a tenth, at most 10 s) not measured, then the rest.
  const auto warmup = std::min<Clock::duration>(10s, std::chrono::seconds(*seconds) / 10);
  senders.SetRate(static_cast<double>(*rate));
  const auto start = Clock::now();
  std::this_thread::sleep_for(warmup);
  tracker.TakeLatencies();
  const uint64_t c0 = tracker.committed();
  const uint64_t s0 = senders.sent();
  const auto t0 = Clock::now();
  std::this_thread::sleep_until(start + std::chrono::seconds(*seconds));
  const uint64_t c1 = tracker.committed();
  const uint64_t s1 = senders.sent();
  const double run_s = Seconds(Clock::now() - t0);
  const std::vector<double> lat = tracker.TakeLatencies();
  const double tps = static_cast<double>(c1 - c0) / run_s;
  const double p99 = Percentile(lat, 0.99);
  auto fig = [&](const std::string& name, double value, const std::string& unit,
                 std::optional<double> target = std::nullopt,
                 std::map<std::string, std::string> extra = {}) {
    BenchFigure f;
    f.extra = std::move(extra);
    f.suite = "load";
    f.name = name;
    f.value = value;
    f.unit = unit;
    f.target = target;
    f.extra["seconds"] = std::to_string(*seconds);
    f.extra["offered_tx_per_s"] = std::to_string(*rate);
    f.extra["threads"] = std::to_string(*threads);
    f.extra["accounts"] = std::to_string(*accounts);
    PrintBenchFigure(f, args.json());
  };
  // What the clients got accepted, beside what was committed: if the clients fall behind the
  // offered rate, this shows it.
  fig("committed_tx_per_s", tps, "tx/s", 10000,
      {{"accepted_tx_per_s",
        std::to_string(static_cast<uint64_t>(static_cast<double>(s1 - s0) / run_s))}});
  fig("submit_to_commit_p50_ms", Percentile(lat, 0.5), "ms");
  fig("submit_to_commit_p99_ms", p99, "ms");

  const auto check_for = std::chrono::seconds(*check_seconds);
  const double half = static_cast<double>(*rate) / 2;

  // A flood from one sender, at a high fee, while the others go on at half the rate.
  {
    senders.SetRate(half);
    std::this_thread::sleep_for(2s);  // the queue of the full rate drains
    tracker.TakeLatencies();
    const uint64_t before = tracker.committed();
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> accepted{0}, refused{0};
    std::thread flooder([&] {
      node::v1::Node::Stub stub(chain->Channel());
      const SecretKey& key = keys.back();
      uint64_t nonce = 1;
      while (!stop) {
        const Bytes tx = TransferTx(*chain, key, keys[0].PublicKey(), nonce, 1000);
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + 10s);
        node::v1::SubmitTxRequest req;
        req.set_tx(tx.data(), tx.size());
        node::v1::SubmitTxResponse resp;
        if (stub.SubmitTx(&ctx, req, &resp).ok() && resp.code() == 0) {
          ++nonce;
          ++accepted;
        } else {
          ++refused;  // its per-sender limit: try the same nonce again at once
        }
      }
    });
    const auto f0 = Clock::now();
    std::this_thread::sleep_for(check_for);
    const double others_tps =
        static_cast<double>(tracker.committed() - before) / Seconds(Clock::now() - f0);
    stop = true;
    flooder.join();
    const std::vector<double> others = tracker.TakeLatencies();
    const double others_p99 = Percentile(others, 0.99);
    Check(args, "flood_does_not_starve", others_p99 < 2000 && others_tps >= 0.9 * half,
          {{"others_p99_ms", others_p99},
           {"others_committed_tx_per_s", others_tps},
           {"others_offered_tx_per_s", half},
           {"flooder_accepted", static_cast<double>(accepted)},
           {"flooder_refused", static_cast<double>(refused)}});
  }

  // Garbage on the port and thousands of streams, while the others go on at half the rate.
  {
    std::this_thread::sleep_for(2s);
    const uint64_t h0 = watcher.height();
    const uint64_t before = tracker.committed();
    const auto a0 = Clock::now();
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> garbage{0};
    std::thread junk([&] { garbage = SendGarbage(chain->address, stop); });
    uint64_t streams_refused = 0;
    constexpr int kStreams = 4000;
    {
      StreamFlood flood(*chain, kStreams);
      std::this_thread::sleep_for(check_for);
      streams_refused = flood.refused();
    }
    stop = true;
    junk.join();
    const double during_tps =
        static_cast<double>(tracker.committed() - before) / Seconds(Clock::now() - a0);
    std::this_thread::sleep_for(1s);
    const bool up = (*node)->Running() && NodeAnswers(*chain);
    const bool commits = watcher.height() > h0;
    Check(args, "abuse_is_refused",
          up && commits && streams_refused > 0 && during_tps >= 0.5 * half,
          {{"garbage_connections", static_cast<double>(garbage)},
           {"streams_opened", kStreams},
           {"streams_refused", static_cast<double>(streams_refused)},
           {"committed_tx_per_s_during", during_tps},
           {"offered_tx_per_s", half},
           {"node_up", up ? 1.0 : 0.0}});
  }
  senders.Stop();
  fig("node_peak_rss_mib", (*node)->PeakRssMiB(), "MiB");
  return 0;
}

}  // namespace

PROBITY_BENCH_SUITE({.name = "load",
                     .summary = "one node process under signed transfers over gRPC: committed "
                                "tx/s, latency, peak RSS; a one-sender flood; garbage and "
                                "thousands of streams",
                     .run = RunLoadBench});

}  // namespace probity::cli
