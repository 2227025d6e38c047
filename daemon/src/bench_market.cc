// `probity bench market`: the marketplace modules inside block execution, on the real chain
// (ChainApp over RocksDB and the state tree, in a temporary directory).
//
// Figures:
//   matches_per_s       orders matched per second by the market module inside block
//                       execution: blocks of new orders, each of which takes an offer from a
//                       book of many, run through ChainApp::FinalizeBlock; the figure counts the
//                       time spent in the market's message handler (escrow, matching, the
//                       job's assignment, events; Market::stats()), wall clock, with the
//                       thread's CPU time as `cpu_time_matches_per_s`. Target 50,000.
//                       --capacity C --offers-per-provider N change the book (capacity 1: every
//                       match empties an offer and moves the top of the book).
//   block_orders_per_s  the same blocks end to end: FinalizeBlock (the ledger's checks, nonces,
//                       fees, state tree) and the synced Commit; the orders' signatures were
//                       checked beforehand by CheckTx, as the producer's mempool does.
//   job_lifecycle_bytes on-chain bytes (signed transactions) of one job, order to settlement
//                       (kind "settle": order, commit, reveal, attest) and of one dispute
//                       (kind "dispute": order, commit, challenge, opening; the provider is
//                       slashed after the referee re-executes the segment).
//   job_lifecycle_us    execution time (FinalizeBlock) of the blocks that hold those
//                       transactions and the hook that settles the job; blocks that only wait
//                       for a window to pass are not counted.
// --quick shrinks everything (for tests); --blocks and --block-orders set the matching run.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bench_output.h"
#include "command.h"
#include "probity/contracts/bank.h"
#include "probity/contracts/market.h"
#include "probity/contracts/marketplace.h"
#include "probity/jobs/v1/jobs.pb.h"
#include "probity/ledger/canonical_proto.h"
#include "probity/ledger/chain_app.h"
#include "probity/ledger/genesis.h"
#include "probity/ledger/state_tree.h"
#include "probity/ledger/storage.h"
#include "probity/ledger/thread_pool.h"
#include "probity/ledger/tx.h"
#include "probity/market/v1/market.pb.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/encoding.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"
#include "probity/staking/v1/staking.pb.h"
#include "probity/verifier/sampling.h"
#include "probity/workloads/random.h"
#include "probity/workloads/workloads.h"

namespace probity::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kChain = "bench-market";

SecretKey Key(int i) {
  return SecretKey::FromBytes(Sha256("bench market key " + std::to_string(i))).value();
}

std::string Field(const Hash256& h) {
  return std::string(reinterpret_cast<const char*>(h.data()), h.size());
}

// A chain in a temporary directory, removed at the end.
class BenchChain {
 public:
  static Result<std::unique_ptr<BenchChain>> Open(int accounts) {
    auto c = std::unique_ptr<BenchChain>(new BenchChain());
    std::string tmpl = (std::filesystem::temp_directory_path() / "probity-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) return Status::IOError("cannot create a temp dir");
    c->dir_ = tmpl;
    PROBITY_ASSIGN_OR_RETURN(c->storage_, ledger::Storage::Open(c->dir_, {.block_cache_mb = 64}));
    PROBITY_ASSIGN_OR_RETURN(auto tree,
                             ledger::StateTree::Open(c->storage_->db(), c->storage_->state_tree(),
                                                     {.node_cache_bytes = size_t{64} << 20}));
    c->pool_ = std::make_unique<ledger::ThreadPool>();
    ledger::ModuleSet set;
    auto bank = std::make_unique<contracts::Bank>();
    contracts::Bank* b = bank.get();
    set.fee_payer = b;
    set.modules.push_back(std::move(bank));
    contracts::AddMarketplaceModules(set, b);
    for (auto& m : set.modules) {
      if (m->Name() == contracts::Market::kName) {
        c->market_ = static_cast<contracts::Market*>(m.get());
        c->market_->CollectStats(true);
      }
    }
    PROBITY_ASSIGN_OR_RETURN(c->app_, ledger::ChainApp::Open(c->storage_.get(), std::move(tree),
                                                             std::move(set), c->pool_.get()));
    ledger::Genesis g;
    g.chain_id = kChain;
    g.time_unix_ms = 1767225600000;
    g.proposer = Key(0).PublicKey();
    g.params.max_tx_bytes = 5u << 20;
    g.params.max_block_bytes = 64u << 20;
    g.params.max_block_txs = 100'000;
    std::string balances;
    for (int i = 1; i <= accounts; ++i) {
      if (i > 1) balances += ",";
      balances += "{\"address\":\"" + EncodeAddress(Key(i).PublicKey()) +
                  "\",\"amount\":\"1000000000000000\"}";
    }
    g.modules["bank"] = "{\"balances\":[" + balances + "]}";
    for (auto& [name, json] : contracts::MarketplaceDefaultGenesis()) g.modules[name] = json;
    // Short windows so that a job settles within a few blocks.
    g.modules["jobs"] =
        R"({"params":{"reveal_window_blocks":"2","attest_window_blocks":"3",
            "challenge_window_blocks":"2","opening_window_blocks":"3","challenge_bond":"1000",
            "cheat_slash_ppm":500000,"withhold_slash_ppm":500000,"commit_timeout_slash_ppm":10000,
            "negligent_verifier_slash_ppm":300000,"false_report_slash_ppm":100000,
            "attest_timeout_slash_ppm":10000,"challenger_reward_ppm":500000,
            "max_verifier_rounds":3,"max_segment_count":"1048576",
            "max_result_bytes":"1099511627776","max_opening_bytes":"4194304"}})";
    PROBITY_RETURN_IF_ERROR(c->app_->InitChain(g).status());
    PROBITY_RETURN_IF_ERROR(c->app_->Commit({}));
    return c;
  }
  ~BenchChain() {
    app_.reset();
    storage_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  Bytes Tx(int signer, std::string_view type, const google::protobuf::Message& m) {
    ledger::TxFields f;
    f.chain_id = kChain;
    f.nonce = ++nonces_[signer];
    f.fee = 1;
    f.msg_type_url = std::string(type);
    std::string v = ledger::SerializeCanonical(m);
    f.msg_value.assign(v.begin(), v.end());
    return ledger::BuildSignedTx(Key(signer), f).value();
  }

  // Admits the transactions as the mempool would (signatures checked and cached).
  Status Admit(const std::vector<Bytes>& txs) {
    for (const auto& t : txs) {
      auto r = app_->CheckTx(t, ledger::CheckTxKind::kNew);
      if (!r.verdict.ok()) return Status::InvalidArgument("CheckTx: " + r.verdict.log);
    }
    return Status::OK();
  }

  // Executes and commits the next block; `seconds` gets FinalizeBlock + Commit time and
  // `finalize_seconds` FinalizeBlock alone. Fails if a transaction failed.
  Result<ledger::FinalizeBlockResponse> Block(const std::vector<Bytes>& txs,
                                              double* seconds = nullptr,
                                              double* finalize_seconds = nullptr) {
    ledger::FinalizeBlockRequest req;
    req.block.chain_id = kChain;
    req.block.height = app_->Info().last_height + 1;
    req.block.time_unix_ms = 1767225600000 + static_cast<int64_t>(req.block.height) * 1000;
    req.block.prev_block_hash = last_hash_;
    req.block.proposer = Key(0).PublicKey();
    req.txs = txs;
    auto t0 = Clock::now();
    PROBITY_ASSIGN_OR_RETURN(auto resp, app_->FinalizeBlock(req));
    auto t1 = Clock::now();
    PROBITY_RETURN_IF_ERROR(app_->Commit({}));
    auto t2 = Clock::now();
    if (seconds) *seconds = std::chrono::duration<double>(t2 - t0).count();
    if (finalize_seconds) *finalize_seconds = std::chrono::duration<double>(t1 - t0).count();
    last_hash_ = TaggedHash("probity/bench-block", resp.app_hash);
    for (size_t i = 0; i < resp.tx_results.size(); ++i) {
      if (resp.tx_results[i].code() != 0) {
        return Status::Internal("transaction " + std::to_string(i) +
                                " failed: " + resp.tx_results[i].log());
      }
    }
    return resp;
  }

  uint64_t height() const { return app_->Info().last_height; }
  ledger::ChainApp& app() { return *app_; }
  const contracts::Market::ExecutionStats& market_stats() { return market_->stats(); }

 private:
  BenchChain() = default;
  std::string dir_;
  std::unique_ptr<ledger::Storage> storage_;
  std::unique_ptr<ledger::ThreadPool> pool_;
  std::unique_ptr<ledger::ChainApp> app_;
  std::map<int, uint64_t> nonces_;
  Hash256 last_hash_{};
  contracts::Market* market_ = nullptr;
};

constexpr std::string_view kBond = "probity.staking.v1.MsgBond";
constexpr std::string_view kSetVerifier = "probity.staking.v1.MsgSetVerifier";
constexpr std::string_view kPostOffer = "probity.market.v1.MsgPostOffer";
constexpr std::string_view kPlaceOrder = "probity.market.v1.MsgPlaceOrder";
constexpr std::string_view kCommit = "probity.jobs.v1.MsgCommit";
constexpr std::string_view kReveal = "probity.jobs.v1.MsgReveal";
constexpr std::string_view kAttest = "probity.jobs.v1.MsgAttest";
constexpr std::string_view kChallenge = "probity.jobs.v1.MsgChallenge";
constexpr std::string_view kPostOpening = "probity.jobs.v1.MsgPostOpening";

market::v1::MsgPostOffer Offer(uint64_t price, uint32_t capacity) {
  market::v1::MsgPostOffer m;
  auto* hw = m.mutable_hardware();
  hw->set_gpu_model("h100-sxm");
  hw->set_gpu_count(8);
  hw->set_memory_mib(81920);
  hw->set_compute_capability(90);
  hw->set_throughput(100'000);
  for (auto kind : {market::v1::JOB_KIND_TRAIN_CLASSIFIER, market::v1::JOB_KIND_INFER_CLASSIFIER}) {
    auto* kp = m.add_prices();
    kp->set_kind(kind);
    kp->set_price_per_unit(price);
  }
  m.set_capacity(capacity);
  m.set_endpoint("provider.example:7100");
  m.set_expires_at(900'000);
  return m;
}

market::v1::MsgPlaceOrder Order(const Hash256& input_hash, const Hash256& commitment,
                                uint64_t units, uint64_t max_price, uint32_t k,
                                uint64_t expires_at) {
  market::v1::MsgPlaceOrder m;
  m.set_kind(market::v1::JOB_KIND_INFER_CLASSIFIER);
  m.set_input_hash(Field(input_hash));
  m.set_units(units);
  m.set_max_price_per_unit(max_price);
  m.set_verification_level(k);
  m.set_deadline_blocks(100);
  m.set_secret_commitment(Field(commitment));
  m.set_on_timeout(market::v1::TIMEOUT_ACTION_REFUND);
  m.set_expires_at(expires_at);
  return m;
}

// Providers 1..16 bonded with offers; accounts 17..20 verifiers; buyers from 21.
constexpr int kProviders = 16;
constexpr int kFirstVerifier = 17;
constexpr int kVerifiers = 4;
constexpr int kFirstBuyer = 21;

Status SetUpBook(BenchChain& c, int offers_per_provider, uint32_t capacity) {
  std::vector<Bytes> txs;
  for (int p = 1; p <= kProviders; ++p) {
    staking::v1::MsgBond b;
    b.set_amount(10'000'000);
    txs.push_back(c.Tx(p, kBond, b));
  }
  for (int v = kFirstVerifier; v < kFirstVerifier + kVerifiers; ++v) {
    staking::v1::MsgBond b;
    b.set_amount(10'000'000);
    txs.push_back(c.Tx(v, kBond, b));
    staking::v1::MsgSetVerifier s;
    s.set_enabled(true);
    txs.push_back(c.Tx(v, kSetVerifier, s));
  }
  PROBITY_RETURN_IF_ERROR(c.Block(txs).status());
  txs.clear();
  for (int p = 1; p <= kProviders; ++p) {
    for (int o = 0; o < offers_per_provider; ++o) {
      txs.push_back(c.Tx(p, kPostOffer, Offer(100 + (p * 7 + o * 13) % 50, capacity)));
    }
  }
  return c.Block(txs).status();
}

struct Lifecycle {
  size_t bytes = 0;
  double seconds = 0;
  void Add(const std::vector<Bytes>& txs) {
    for (const auto& t : txs) bytes += t.size();
  }
};

// A tiny inference job (real RunJob) to commit, attest and dispute.
struct TinyJob {
  workloads::TensorMap model;
  workloads::Tensor images;
  workloads::JobSpec spec;
  std::unique_ptr<workloads::JobRun> run;
  std::vector<Hash256> leaves;
};

Result<TinyJob> MakeTinyJob(workloads::Backend& cpu) {
  TinyJob j;
  j.model = workloads::InitialParameters({workloads::Architecture::kMlp, {32}, {}}, 3);
  PROBITY_ASSIGN_OR_RETURN(j.images, workloads::Tensor::Zeros(workloads::DType::kU8, {64, 28, 28}));
  uint8_t v = 1;
  for (auto& b : j.images.mutable_bytes()) b = v = static_cast<uint8_t>(v * 33 + 7);
  j.spec.kind = workloads::JobKind::kInferClassifier;
  j.spec.infer.model = workloads::ModelId(j.model);
  PROBITY_ASSIGN_OR_RETURN(j.spec.infer.images, workloads::ImagesRoot(j.images, 4));
  j.spec.infer.count = 64;
  j.spec.infer.slice_size = 4;
  PROBITY_ASSIGN_OR_RETURN(
      j.run, workloads::RunJob(j.spec, {.model = &j.model, .images = &j.images}, cpu));
  for (const auto& r : j.run->records()) {
    j.leaves.push_back(MerkleLeafHash(workloads::EncodeTraceRecord(r)));
  }
  return j;
}

Result<jobs::v1::Job> ReadJob(ledger::ChainApp& app, const Hash256& id) {
  ledger::QueryRequest q;
  q.path = "jobs/job";
  jobs::v1::QueryJobRequest r;
  r.set_job_id(Field(id));
  std::string d = r.SerializeAsString();
  q.data.assign(d.begin(), d.end());
  PROBITY_ASSIGN_OR_RETURN(auto resp, app.Query(q));
  jobs::v1::QueryJobResponse jr;
  if (!resp.value || !jr.ParseFromArray(resp.value->data(), static_cast<int>(resp.value->size()))) {
    return Status::Internal("bad jobs/job reply");
  }
  return jr.job();
}

// One job from order to settlement (dispute=false), or to the provider's slash after a
// challenge of a segment it corrupted (dispute=true).
Result<Lifecycle> RunLifecycle(BenchChain& c, ledger::ChainApp& app, const TinyJob& job,
                               workloads::Backend& cpu, int buyer, bool dispute) {
  Lifecycle life;
  auto timed = [&](const std::vector<Bytes>& txs) -> Status {
    double s = 0;
    PROBITY_RETURN_IF_ERROR(c.Block(txs, nullptr, &s).status());
    life.seconds += s;
    life.Add(txs);
    return Status::OK();
  };
  const verifier::Secret secret = Sha256("bench secret " + std::to_string(buyer));
  std::vector<Bytes> txs = {
      c.Tx(buyer, kPlaceOrder,
           Order(workloads::JobInputHash(job.spec), verifier::SecretCommitment(secret), 1000,
                 1'000'000, 4, c.height() + 1000))};
  const Hash256 id = contracts::Market::OrderId(ledger::TxId(txs[0]));
  PROBITY_RETURN_IF_ERROR(timed(txs));
  PROBITY_ASSIGN_OR_RETURN(auto j, ReadJob(app, id));
  int provider = 0;
  for (int p = 1; p <= kProviders; ++p) {
    if (Field(Key(p).PublicKey()) == j.provider()) provider = p;
  }
  if (provider == 0) return Status::Internal("the order was not assigned");

  // The provider's trace: honest, or with the last segment's output made up.
  std::vector<workloads::TraceRecord> records(job.run->records().begin(), job.run->records().end());
  std::vector<Hash256> leaves = job.leaves;
  const uint64_t last = records.size() - 1;
  if (dispute) {
    records[last].output_hash = Sha256("made up");
    leaves[last] = MerkleLeafHash(workloads::EncodeTraceRecord(records[last]));
  }
  jobs::v1::MsgCommit commit;
  commit.set_job_id(Field(id));
  commit.set_output_hash(Field(records[last].output_hash));
  commit.set_trace_root(Field(MerkleRootFromLeafHashes(leaves)));
  commit.set_segment_count(records.size());
  commit.set_result_bytes(64 * 44);
  PROBITY_RETURN_IF_ERROR(timed({c.Tx(provider, kCommit, commit)}));
  PROBITY_RETURN_IF_ERROR(c.Block({}).status());  // the seed block

  if (dispute) {
    jobs::v1::MsgChallenge ch;
    ch.set_job_id(Field(id));
    ch.set_segment(last);
    PROBITY_RETURN_IF_ERROR(timed({c.Tx(buyer + 1, kChallenge, ch)}));
    PROBITY_ASSIGN_OR_RETURN(workloads::Opening o, job.run->Open(last, cpu));
    o.record = records[last];
    PROBITY_ASSIGN_OR_RETURN(o.proof, MerkleInclusionProof(leaves, last));
    PROBITY_ASSIGN_OR_RETURN(o.producer_proof, MerkleInclusionProof(leaves, last - 1));
    jobs::v1::MsgPostOpening post;
    post.set_job_id(Field(id));
    Bytes wire = workloads::EncodeOpening(o);
    post.set_opening(std::string(wire.begin(), wire.end()));
    PROBITY_RETURN_IF_ERROR(timed({c.Tx(provider, kPostOpening, post)}));
    PROBITY_ASSIGN_OR_RETURN(j, ReadJob(app, id));
    if (j.state() != jobs::v1::JOB_STATE_SLASHED) {
      return Status::Internal("the dispute did not slash the provider");
    }
    return life;
  }

  jobs::v1::MsgReveal reveal;
  reveal.set_job_id(Field(id));
  reveal.set_secret(Field(secret));
  PROBITY_RETURN_IF_ERROR(timed({c.Tx(buyer, kReveal, reveal)}));
  PROBITY_ASSIGN_OR_RETURN(j, ReadJob(app, id));
  int verifier = 0;
  for (int v = kFirstVerifier; v < kFirstVerifier + kVerifiers; ++v) {
    if (Field(Key(v).PublicKey()) == j.verifier()) verifier = v;
  }
  if (verifier == 0) return Status::Internal("no verifier was assigned");
  jobs::v1::MsgAttest attest;
  attest.set_job_id(Field(id));
  for (uint64_t i : j.sample()) {
    PROBITY_ASSIGN_OR_RETURN(workloads::Opening o, job.run->Open(i, cpu));
    PROBITY_ASSIGN_OR_RETURN(Hash256 out, workloads::Reexecute(o, cpu));
    auto* sa = attest.add_segments();
    sa->set_index(i);
    sa->set_input_hash(Field(records[i].input_hash));
    sa->set_output_hash(Field(records[i].output_hash));
    PROBITY_ASSIGN_OR_RETURN(auto proof, MerkleInclusionProof(leaves, i));
    for (const auto& p : proof) sa->add_proof(Field(p));
    sa->set_recomputed_output_hash(Field(out));
  }
  PROBITY_RETURN_IF_ERROR(timed({c.Tx(verifier, kAttest, attest)}));
  // Wait out the challenge window; the settling block's hook is counted.
  for (int guard = 0; guard < 100; ++guard) {
    PROBITY_ASSIGN_OR_RETURN(j, ReadJob(app, id));
    if (j.state() == jobs::v1::JOB_STATE_SETTLED) return life;
    if (c.height() + 1 == j.deadline()) {
      PROBITY_RETURN_IF_ERROR(timed({}));
    } else {
      PROBITY_RETURN_IF_ERROR(c.Block({}).status());
    }
  }
  return Status::Internal("the job never settled");
}

int RunMarket(const Args& args) {
  if (auto s =
          args.CheckKnown({"quick", "blocks", "block-orders", "capacity", "offers-per-provider"});
      !s.ok()) {
    return Fail(args, s);
  }
  const bool json = args.json();
  const bool quick = args.Has("quick");
  auto blocks = args.GetU64("blocks", quick ? 2 : 5);
  auto block_orders = args.GetU64("block-orders", quick ? 200 : 4000);
  if (!blocks.ok()) return Fail(args, blocks.status());
  if (!block_orders.ok()) return Fail(args, block_orders.status());
  const int buyers = 64;
  auto chain = BenchChain::Open(kFirstBuyer + buyers + 2);
  if (!chain.ok()) return Fail(args, chain.status());
  BenchChain& c = **chain;
  auto offers_flag = args.GetU64("offers-per-provider", quick ? 2 : 16);
  auto capacity_flag = args.GetU64("capacity", 1024);
  if (!offers_flag.ok()) return Fail(args, offers_flag.status());
  if (!capacity_flag.ok()) return Fail(args, capacity_flag.status());
  const int offers_per_provider = static_cast<int>(*offers_flag);
  const uint32_t capacity = static_cast<uint32_t>(*capacity_flag);
  if (Status s = SetUpBook(c, offers_per_provider, capacity); !s.ok()) return Fail(args, s);
  const uint64_t total_capacity = uint64_t{kProviders} * offers_per_provider * capacity;
  if (*blocks * *block_orders > total_capacity) {
    return Fail(args, Status::InvalidArgument("more orders than the book's capacity (" +
                                              std::to_string(total_capacity) + ")"));
  }

  // Matching: blocks of orders that each take an offer.
  double seconds = 0, finalize_seconds = 0;
  const double market_wall0 = c.market_stats().wall_seconds;
  const double market_cpu0 = c.market_stats().cpu_seconds;
  uint64_t matched = 0;
  for (uint64_t b = 0; b < *blocks; ++b) {
    std::vector<Bytes> txs;
    txs.reserve(*block_orders);
    for (uint64_t i = 0; i < *block_orders; ++i) {
      Hash256 input = Sha256("bench input " + std::to_string(b) + "/" + std::to_string(i));
      txs.push_back(c.Tx(kFirstBuyer + static_cast<int>(i % buyers), kPlaceOrder,
                         Order(input, input, 10, 200, 4, c.height() + 500)));
    }
    if (Status s = c.Admit(txs); !s.ok()) return Fail(args, s);
    double s = 0, f = 0;
    auto r = c.Block(txs, &s, &f);
    if (!r.ok()) return Fail(args, r.status());
    for (const auto& res : r->tx_results) {
      for (const auto& e : res.events()) matched += e.type() == "market.match";
    }
    seconds += s;
    finalize_seconds += f;
  }
  if (matched != *blocks * *block_orders) {
    return Fail(args,
                Status::Internal("only " + std::to_string(matched) + " of " +
                                 std::to_string(*blocks * *block_orders) + " orders matched"));
  }
  const double market_wall = c.market_stats().wall_seconds - market_wall0;
  const double market_cpu = c.market_stats().cpu_seconds - market_cpu0;
  const std::string shape = std::to_string(*blocks) + " blocks of " +
                            std::to_string(*block_orders) + " orders, " +
                            std::to_string(kProviders * offers_per_provider) + " offers";
  PrintBenchFigure(
      {.suite = "market",
       .name = "matches_per_s",
       .value = matched / market_wall,
       .unit = "matches/s",
       .target = 50'000,
       .extra = {{"shape", JsonString(shape)},
                 {"cpu_time_matches_per_s", std::to_string(matched / market_cpu)},
                 {"measures", JsonString("the market module executing each order inside "
                                         "FinalizeBlock: decode, escrow, matching, the job's "
                                         "assignment, events")}}},
      json);
  PrintBenchFigure(
      {.suite = "market",
       .name = "block_orders_per_s",
       .value = matched / seconds,
       .unit = "orders/s",
       .extra = {{"shape", JsonString(shape)},
                 {"finalize_only_per_s", std::to_string(matched / finalize_seconds)},
                 {"measures", JsonString("whole blocks of orders: the ledger's checks, nonces and "
                                         "fees, the modules, the state tree, the synced commit")}}},
      json);

  // One job's life, and one dispute's.
  auto cpu = workloads::CreateBackend("cpu", {.threads = 1});
  if (!cpu.ok()) return Fail(args, cpu.status());
  auto job = MakeTinyJob(**cpu);
  if (!job.ok()) return Fail(args, job.status());
  for (bool dispute : {false, true}) {
    auto life = RunLifecycle(c, c.app(), *job, **cpu, kFirstBuyer + (dispute ? 2 : 0), dispute);
    if (!life.ok()) return Fail(args, life.status());
    const std::string kind = dispute ? "dispute" : "settle";
    const std::string segments = std::to_string(job->run->commitment().segment_count);
    PrintBenchFigure({.suite = "market",
                      .name = "job_lifecycle_bytes",
                      .value = static_cast<double>(life->bytes),
                      .unit = "bytes",
                      .extra = {{"kind", JsonString(kind)}, {"segments", segments}}},
                     json);
    PrintBenchFigure({.suite = "market",
                      .name = "job_lifecycle_us",
                      .value = life->seconds * 1e6,
                      .unit = "us",
                      .extra = {{"kind", JsonString(kind)}, {"segments", segments}}},
                     json);
  }
  return 0;
}

}  // namespace

PROBITY_BENCH_SUITE({.name = "market",
                     .summary = "order matching inside block execution; one job's and one "
                                "dispute's on-chain bytes and time",
                     .run = RunMarket});

}  // namespace probity::cli
