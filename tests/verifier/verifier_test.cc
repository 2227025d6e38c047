// The verifier daemon and the auditor as real processes against a real node: a small
// Fashion-MNIST training job is placed, committed and revealed by this test (as its buyer and
// its provider, through the client library), whose openings a provider service in this process
// serves over loopback gRPC. `probity verifier` must attest it; the chain then verifies and
// settles, or, for a corrupted trace, disputes and slashes. `probity audit` re-checks jobs and
// files challenges.
#include <doctest/doctest.h>
#include <grpcpp/grpcpp.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "market_messages.h"
#include "node_harness.h"
#include "probity/client/chain.h"
#include "probity/client/provider_client.h"
#include "probity/ledger/node_home.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/keystore.h"
#include "probity/primitives/merkle.h"
#include "probity/primitives/sha256.h"
#include "probity/provider/v1/provider.grpc.pb.h"
#include "probity/verifierd/verifierd.h"
#include "probity/workloads/workloads.h"
#include "verifier_harness.h"

using namespace probity;
namespace lt = probity::ledger::testing;
namespace ct = probity::contracts::testing;
using jobs::v1::JobState;
using probity::verifierd::testing::ScrapeMetric;
using probity::verifierd::testing::VerifierProcess;

namespace {

constexpr int kBuyer = 1, kProvider = 2, kVerifier = 3;
constexpr uint32_t kSegments = 4;  // the job below: 16 SGD steps, 4 per segment
constexpr uint64_t kFee = 100;     // verify_fee_per_sample of kTestMarket

const char* kJobsParams =
    R"({"params":{"reveal_window_blocks":"100","attest_window_blocks":"100",
        "challenge_window_blocks":"20","opening_window_blocks":"60","challenge_bond":"5000",
        "cheat_slash_ppm":500000,"withhold_slash_ppm":400000,"commit_timeout_slash_ppm":10000,
        "negligent_verifier_slash_ppm":300000,"false_report_slash_ppm":100000,
        "attest_timeout_slash_ppm":20000,"challenger_reward_ppm":500000,
        "max_verifier_rounds":2,"max_segment_count":"100000","max_result_bytes":"1000000000",
        "max_opening_bytes":"4194304"}})";

std::string Field(const Hash256& h) { return std::string(h.begin(), h.end()); }
Hash256 ToHash(const std::string& s) {
  Hash256 h{};
  if (s.size() == 32) std::memcpy(h.data(), s.data(), 32);
  return h;
}

// A training job on the Fashion-MNIST training set (dataset-fashion-mnist), run once per
// process: the provider's work.
struct TrainJob {
  workloads::JobSpec spec;
  std::unique_ptr<workloads::Backend> cpu;
  std::unique_ptr<workloads::JobRun> run;
};
TrainJob& Job() {
  static TrainJob* j = [] {
    auto* t = new TrainJob;
    auto spec = workloads::ParseJobSpec(
        "kind = \"train-classifier\"\ndataset = \"" + ToHex(workloads::FashionMnistTrainId()) +
        "\"\nexamples = 512\nbatch_size = 32\nseed = 3\narchitecture = \"mlp\"\n"
        "augment = \"none\"\nhidden = [16]\nepochs = 1\nsteps_per_segment = 4\n"
        "optimizer = \"sgd-momentum\"\nlearning_rate = 0.05\nlearning_rate_decay = 1\n"
        "momentum = 0.9\n");
    REQUIRE_MESSAGE(spec.ok(), spec.status().ToString());
    t->spec = *spec;
    t->cpu = workloads::CreateBackend("cpu", {.threads = 1}).value();
    auto run = workloads::RunJob(t->spec, {}, *t->cpu);
    REQUIRE_MESSAGE(run.ok(), run.status().ToString());
    t->run = std::move(run).value();
    REQUIRE(t->run->commitment().segment_count == kSegments);
    return t;
  }();
  return *j;
}

// The trace a provider commits to: honest, or with the last segment's output made up (the
// final model it claims is not the one the steps produce).
class Trace {
 public:
  explicit Trace(bool corrupt_last) {
    const auto& run = *Job().run;
    records_.assign(run.records().begin(), run.records().end());
    if (corrupt_last) records_.back().output_hash[3] ^= 0x10;
    for (const auto& r : records_) {
      leaves_.push_back(MerkleLeafHash(workloads::EncodeTraceRecord(r)));
    }
    commitment_ = run.commitment();
    commitment_.trace_root = MerkleRootFromLeafHashes(leaves_);
    commitment_.output_hash = records_.back().output_hash;
  }
  const workloads::JobCommitment& commitment() const { return commitment_; }
  Bytes Open(uint64_t i) const {
    std::lock_guard lock(mu_);
    auto o = Job().run->Open(i, *Job().cpu).value();
    o.record = records_[i];
    o.proof = MerkleInclusionProof(leaves_, i).value();
    if (i > 0) o.producer_proof = MerkleInclusionProof(leaves_, i - 1).value();
    return workloads::EncodeOpening(o);
  }

 private:
  mutable std::mutex mu_;
  std::vector<workloads::TraceRecord> records_;
  std::vector<Hash256> leaves_;
  workloads::JobCommitment commitment_;
};

// The provider's GetOpening: signed requests from the job's buyer or its verifier.
class ProviderService final : public provider::v1::Provider::Service {
 public:
  explicit ProviderService(XOnlyPubKey provider) : provider_(provider) {}
  grpc::Status GetOpening(grpc::ServerContext*, const provider::v1::GetOpeningRequest* req,
                          provider::v1::GetOpeningResponse* resp) override {
    Hash256 job = ToHash(req->job_id());
    auto signer = client::VerifyProviderRequest(req->auth(), "GetOpening", provider_, job,
                                                client::OpeningBody(req->segment()),
                                                client::NowUnixMs(), 120'000);
    if (!signer.ok()) return {grpc::StatusCode::UNAUTHENTICATED, signer.status().message()};
    if (*signer != lt::TestKey(kBuyer).PublicKey() &&
        *signer != lt::TestKey(kVerifier).PublicKey()) {
      return {grpc::StatusCode::PERMISSION_DENIED, "not a party of the job"};
    }
    std::lock_guard lock(mu_);
    ++requests_;
    auto it = traces_.find(job);
    if (it == traces_.end()) return {grpc::StatusCode::NOT_FOUND, "no such job"};
    if (withheld_.count(req->segment())) return {grpc::StatusCode::NOT_FOUND, "withheld"};
    if (req->segment() >= kSegments) return {grpc::StatusCode::OUT_OF_RANGE, "no such segment"};
    Bytes wire = it->second->Open(req->segment());
    resp->set_opening(std::string(wire.begin(), wire.end()));
    return grpc::Status::OK;
  }
  void Serve(const Hash256& job, const Trace* trace) {
    std::lock_guard lock(mu_);
    traces_[job] = trace;
  }
  void Withhold(uint64_t segment) {
    std::lock_guard lock(mu_);
    withheld_.insert(segment);
  }

 private:
  XOnlyPubKey provider_;
  std::mutex mu_;
  std::map<Hash256, const Trace*> traces_;
  std::set<uint64_t> withheld_;
  int requests_ = 0;
};

// The value after "key": in one line of JSON (numbers, booleans and plain strings).
std::string JsonField(const std::string& json, const std::string& key, size_t from = 0) {
  std::string k = "\"" + key + "\":";
  size_t p = json.find(k, from);
  if (p == std::string::npos) return "";
  p += k.size();
  if (json[p] == '"') return json.substr(p + 1, json.find('"', p + 1) - p - 1);
  return json.substr(p, json.find_first_of(",}", p) - p);
}

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

struct Net {
  lt::TempDir dir;
  std::string home = dir.path() + "/home";
  std::unique_ptr<lt::NodeProcess> node;
  std::shared_ptr<const ledger::NodeClient> client;
  std::unique_ptr<client::ChainReader> chain;
  std::unique_ptr<client::TxSender> buyer, provider;
  ProviderService service{lt::TestKey(kProvider).PublicKey()};
  std::unique_ptr<grpc::Server> server;
  std::string endpoint;
  std::unique_ptr<VerifierProcess> verifier;
  std::vector<std::unique_ptr<Trace>> traces;  // served until the server is shut down

  Net() {
    Job();  // the data set and the run, before any clock starts
    ledger::NodeHome h{home};
    std::filesystem::create_directories(h.keys_dir());
    ScryptParams fast;
    fast.n = 1 << 10;
    REQUIRE(WriteKeyFile(h.key_file("buyer"), lt::TestKey(kBuyer), "test-passphrase", fast).ok());
    REQUIRE(
        WriteKeyFile(h.key_file("verifier"), lt::TestKey(kVerifier), "test-passphrase", fast).ok());
    REQUIRE(lt::InitHome(home, {"--fund", lt::FundFlag(3, 10'000'000)}).ok());
    auto genesis = ledger::LoadGenesisFile(h.genesis_file()).value();
    genesis.modules["staking"] = ct::kTestStaking;
    genesis.modules["market"] = ct::kTestMarket;
    genesis.modules["jobs"] = kJobsParams;
    REQUIRE(ledger::WriteFileAtomically(h.genesis_file(), ledger::GenesisToJson(genesis)).ok());
    // Windows are counted in blocks: the chain must move while nobody sends anything.
    auto config = ledger::ReadFileToString(h.config_file()).value();
    const std::string never = "empty_block_interval_ms = 0";
    REQUIRE(config.find(never) != std::string::npos);
    config.replace(config.find(never), never.size(), "empty_block_interval_ms = 50");
    REQUIRE(ledger::WriteFileAtomically(h.config_file(), config).ok());
    auto n = lt::NodeProcess::Start(home, {"--block-interval-ms", "50"});
    REQUIRE_MESSAGE(n.ok(), n.status().ToString());
    node = std::move(n).value();
    REQUIRE(node->WaitForHeight(1, 10000));
    client = node->Client();
    chain = std::make_unique<client::ChainReader>(client);
    buyer = std::make_unique<client::TxSender>(client, genesis, lt::TestKey(kBuyer));
    provider = std::make_unique<client::TxSender>(client, genesis, lt::TestKey(kProvider));

    grpc::ServerBuilder b;
    int port = 0;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(&service);
    server = b.BuildAndStart();
    REQUIRE((server && port > 0));
    endpoint = "127.0.0.1:" + std::to_string(port);

    Ok(*provider, ct::BondMsg(10'000));
    auto offer = ct::OfferMsg(10, 8, Height() + 100'000);
    offer.mutable_prices(0)->set_kind(market::v1::JOB_KIND_TRAIN_CLASSIFIER);
    offer.set_endpoint(endpoint);
    Ok(*provider, offer);
  }
  ~Net() {
    StopVerifier();
    server->Shutdown();
  }

  static client::TxOutcome Ok(client::TxSender& s, const google::protobuf::Message& m) {
    auto r = s.Send(m);
    REQUIRE_MESSAGE(r.ok(), (std::string(m.GetTypeName()) + ": " + r.status().ToString()));
    return *r;
  }
  uint64_t Height() { return chain->Height().value(); }
  jobs::v1::Job J(const Hash256& id) {
    auto j = chain->Job(id);
    REQUIRE_MESSAGE(j.ok(), j.status().ToString());
    REQUIRE(j->has_value());
    return **j;
  }
  uint64_t Balance(int account) { return chain->Balance(lt::TestKey(account).PublicKey()).value(); }

  // Waits until the job is in `state` (false after `ms`).
  bool WaitFor(const Hash256& id, JobState state, int ms = 30000) {
    for (int waited = 0; waited < ms; waited += 50) {
      auto j = chain->Job(id);
      if (j.ok() && j->has_value() && (*j)->state() == state) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  const Trace& MakeTrace(bool corrupt_last) {
    traces.push_back(std::make_unique<Trace>(corrupt_last));
    return *traces.back();
  }
  std::string StartVerifier() {
    auto p = VerifierProcess::Start(home, "verifier", node->address(), {"--log-format", "json"});
    REQUIRE_MESSAGE(p.ok(), p.status().ToString());
    verifier = std::move(p).value();
    return verifier->metrics_address();
  }
  void StopVerifier() {
    if (verifier) CHECK(verifier->Stop() == 0);
  }

  // Places the order (k = every segment) and commits `trace` as the provider; returns the job.
  Hash256 Commit(const Trace& trace, uint64_t secret, bool self_verify = false) {
    auto order = ct::OrderMsg(20, 10, Height() + 900, workloads::JobInputHash(Job().spec), secret,
                              kSegments);
    order.set_kind(market::v1::JOB_KIND_TRAIN_CLASSIFIER);
    order.set_self_verify(self_verify);
    auto placed = Ok(*buyer, order);
    // The order id: tagged_hash("probity/order", tx id).
    const Hash256 id = TaggedHash("probity/order", placed.tx_id);
    REQUIRE(WaitFor(id, jobs::v1::JOB_STATE_ASSIGNED, 5000));
    service.Serve(id, &trace);
    jobs::v1::MsgCommit commit;
    commit.set_job_id(Field(id));
    commit.set_output_hash(Field(trace.commitment().output_hash));
    commit.set_trace_root(Field(trace.commitment().trace_root));
    commit.set_segment_count(trace.commitment().segment_count);
    commit.set_result_bytes(100'000);
    Ok(*provider, commit);
    return id;
  }
  void Reveal(const Hash256& id, uint64_t secret) {
    const uint64_t from = J(id).commit_height() + 2;
    while (Height() < from) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    jobs::v1::MsgReveal reveal;
    reveal.set_job_id(Field(id));
    reveal.set_secret(Field(ct::TestSecret(secret)));
    Ok(*buyer, reveal);
    REQUIRE(J(id).state() == jobs::v1::JOB_STATE_SAMPLED);
  }
  void PostOpening(const Hash256& id, const Trace& trace, uint64_t segment) {
    jobs::v1::MsgPostOpening post;
    post.set_job_id(Field(id));
    Bytes wire = trace.Open(segment);
    post.set_opening(std::string(wire.begin(), wire.end()));
    Ok(*provider, post);
  }
  lt::CommandResult Audit(const std::vector<std::string>& extra, bool json = true) {
    std::vector<std::string> argv = {lt::ProbityBinary(), "audit"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.insert(argv.end(), {"--home", home, "--node", node->address(), "--key", "buyer"});
    if (json) argv.push_back("--json");
    return lt::RunCommand(argv, {lt::kPassphraseEnv}, 120000);
  }
};

}  // namespace

TEST_CASE("an honest job: the verifier attests every sampled segment, verified, settled, paid") {
  Net net;
  const std::string metrics = net.StartVerifier();
  auto stake = net.chain->Stake(lt::TestKey(kVerifier).PublicKey()).value();
  CHECK(stake.bonded() == 5000);  // min_verifier_stake of kTestStaking
  CHECK(stake.verifier());
  const uint64_t verifier0 = net.Balance(kVerifier);

  const Trace& honest = net.MakeTrace(false);
  Hash256 id = net.Commit(honest, 1);
  net.Reveal(id, 1);
  CHECK(net.J(id).verifier() == Field(lt::TestKey(kVerifier).PublicKey()));
  REQUIRE_MESSAGE(net.WaitFor(id, jobs::v1::JOB_STATE_VERIFIED), net.verifier->Log());
  CHECK(net.J(id).attested());
  REQUIRE(net.WaitFor(id, jobs::v1::JOB_STATE_SETTLED));
  // The fee for k samples, less the attestation's transaction fee (1).
  CHECK(net.Balance(kVerifier) == verifier0 + kSegments * kFee - 1);
  CHECK(ScrapeMetric(metrics, "probity_verifier_checks_passed_total") == std::to_string(kSegments));
  CHECK(ScrapeMetric(metrics, "probity_verifier_checks_failed_total") == "0");
  CHECK(ScrapeMetric(metrics, "probity_verifier_attestations_sent_total") == "1");
  CHECK(ScrapeMetric(metrics, "probity_verifier_reexecution_seconds_count") ==
        std::to_string(kSegments));

  // The auditor agrees, on every segment and on a random pair.
  auto all = net.Audit({ToHex(id), "--segments", "all"});
  CHECK_MESSAGE(all.code == 0, all.output);
  CHECK(JsonField(all.output, "ok") == "true");
  CHECK(JsonField(all.output, "state") == "settled");
  CHECK(JsonField(all.output, "checked") == std::to_string(kSegments));
  CHECK(Count(all.output, "\"verdict\":\"ok\"") == kSegments);
  auto two = net.Audit({ToHex(id), "--segments", "2"});
  CHECK_MESSAGE(two.code == 0, two.output);
  CHECK(JsonField(two.output, "checked") == "2");
  auto people = net.Audit({ToHex(id), "--segments", "all"}, /*json=*/false);
  CHECK_MESSAGE(people.code == 0, people.output);
  CHECK(people.output.find("4 checked: 4 ok") != std::string::npos);
  auto named = net.Audit({ToHex(id), "--segments", "3,1"});
  CHECK(JsonField(named.output, "index") == "3");
  // Bad input: a clear error, exit status 1.
  auto bad = net.Audit({ToHex(id), "--segments", "1,9"});
  CHECK(bad.code == 1);
  CHECK(JsonField(bad.output, "ok") == "false");
  auto nojob = net.Audit({std::string(64, 'a')});
  CHECK(nojob.code == 1);
  CHECK(nojob.output.find("no job") != std::string::npos);
}

TEST_CASE("a corrupted segment: the verifier reports the mismatch, the provider is slashed") {
  Net net;
  net.StartVerifier();
  const uint64_t buyer0 = net.Balance(kBuyer);
  const Trace& cheat = net.MakeTrace(true);
  Hash256 id = net.Commit(cheat, 2);
  net.Reveal(id, 2);
  REQUIRE_MESSAGE(net.WaitFor(id, jobs::v1::JOB_STATE_DISPUTED), net.verifier->Log());
  auto job = net.J(id);
  CHECK(job.dispute().kind() == jobs::v1::DISPUTE_KIND_MISMATCH);
  CHECK(job.dispute().segment() == kSegments - 1);
  CHECK(job.dispute().challenger() == Field(lt::TestKey(kVerifier).PublicKey()));
  // The provider must open the segment on chain; the referee re-executes it and convicts.
  net.PostOpening(id, cheat, kSegments - 1);
  CHECK(net.J(id).state() == jobs::v1::JOB_STATE_SLASHED);
  // The buyer got its escrow back: all it spent is the fees of its two transactions.
  CHECK(net.Balance(kBuyer) == buyer0 - 2);

  auto audit = net.Audit({ToHex(id), "--segments", std::to_string(kSegments - 1) + ","});
  CHECK(audit.code == 1);
  CHECK(JsonField(audit.output, "ok") == "false");
  CHECK(JsonField(audit.output, "verdict") == "mismatch");
  CHECK(JsonField(audit.output, "committed") != JsonField(audit.output, "recomputed"));
  CHECK(JsonField(audit.output, "recomputed") == ToHex(Job().run->records().back().output_hash));
}

TEST_CASE("a withheld opening: attested as withheld, opened on chain, attested again") {
  Net net;
  net.StartVerifier();
  net.service.Withhold(1);
  const Trace& honest = net.MakeTrace(false);
  Hash256 id = net.Commit(honest, 3);
  net.Reveal(id, 3);
  REQUIRE_MESSAGE(net.WaitFor(id, jobs::v1::JOB_STATE_DISPUTED), net.verifier->Log());
  CHECK(net.J(id).dispute().kind() == jobs::v1::DISPUTE_KIND_WITHHELD);
  CHECK(net.J(id).dispute().segment() == 1);
  net.PostOpening(id, honest, 1);
  // Back to SAMPLED with the same verifier, which attests again without segment 1.
  REQUIRE_MESSAGE(net.WaitFor(id, jobs::v1::JOB_STATE_VERIFIED), net.verifier->Log());
  auto job = net.J(id);
  CHECK(job.attested());
  CHECK(job.proven_segments_size() == 1);
}

TEST_CASE("a restarted verifier catches up on a job sampled while it was down, attests once") {
  Net net;
  net.StartVerifier();
  const Trace& honest = net.MakeTrace(false);
  Hash256 first = net.Commit(honest, 4);
  net.Reveal(first, 4);
  REQUIRE(net.WaitFor(first, jobs::v1::JOB_STATE_VERIFIED));
  net.StopVerifier();

  Hash256 second = net.Commit(honest, 5);
  net.Reveal(second, 5);  // sampled while the verifier is down
  const std::string metrics = net.StartVerifier();
  REQUIRE_MESSAGE(net.WaitFor(second, jobs::v1::JOB_STATE_VERIFIED), net.verifier->Log());
  // This run attested the second job only, and tried nothing twice. (The counter moves once
  // the sender has seen its transaction committed, just after the chain's state did.)
  for (int i = 0; i < 100; ++i) {
    if (ScrapeMetric(metrics, "probity_verifier_attestations_sent_total") == "1") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(ScrapeMetric(metrics, "probity_verifier_attestations_sent_total") == "1");
  CHECK(ScrapeMetric(metrics, "probity_verifier_attestation_errors_total") == "0");
  CHECK(Count(net.verifier->Log(), "\"msg\":\"attested\"") == 1);
  CHECK(ScrapeMetric(metrics, "probity_verifier_checks_passed_total") == std::to_string(kSegments));
}

TEST_CASE("probity audit --challenge disputes a corrupted segment before anyone samples it") {
  Net net;  // no verifier: the auditor (the buyer here) checks the committed job itself
  const Trace& cheat = net.MakeTrace(true);
  Hash256 id = net.Commit(cheat, 6);
  const uint64_t buyer0 = net.Balance(kBuyer);
  auto audit = net.Audit({ToHex(id), "--segments", "all", "--challenge"});
  CHECK(audit.code == 1);
  CHECK(JsonField(audit.output, "state") == "committed");
  CHECK(Count(audit.output, "\"verdict\":\"ok\"") == kSegments - 1);
  CHECK(Count(audit.output, "\"verdict\":\"mismatch\"") == 1);
  const size_t c = audit.output.find("\"challenge\":");
  REQUIRE(c != std::string::npos);
  CHECK(JsonField(audit.output, "segment", c) == std::to_string(kSegments - 1));
  CHECK(JsonField(audit.output, "tx_id", c).size() == 64);
  auto job = net.J(id);
  REQUIRE(job.state() == jobs::v1::JOB_STATE_DISPUTED);
  CHECK(job.dispute().kind() == jobs::v1::DISPUTE_KIND_CHALLENGE);
  CHECK(job.dispute().segment() == kSegments - 1);
  CHECK(net.Balance(kBuyer) == buyer0 - 5000 - 1);  // the challenge bond and the fee
  net.PostOpening(id, cheat, kSegments - 1);
  CHECK(net.J(id).state() == jobs::v1::JOB_STATE_SLASHED);
  CHECK(net.Balance(kBuyer) > buyer0);  // bond back, escrow back, and a share of the slash
}

TEST_CASE("a self-verifying buyer checks its own sample with the same code and is verified") {
  Net net;  // no verifier needed: the buyer attests
  const Trace& honest = net.MakeTrace(false);
  Hash256 id = net.Commit(honest, 7, /*self_verify=*/true);
  net.Reveal(id, 7);
  const SecretKey buyer = lt::TestKey(kBuyer);
  CHECK(net.J(id).verifier() == Field(buyer.PublicKey()));
  verifierd::FetchPolicy fetch;
  fetch.max_wait = std::chrono::seconds(5);
  auto cpu = workloads::CreateBackend("cpu", {.threads = 1}).value();
  auto msg = verifierd::AttestSampledJob(*net.chain, buyer, net.J(id), fetch,
                                         {cpu.get(), &workloads::DataCatalog::Default(), {}});
  REQUIRE_MESSAGE(msg.ok(), msg.status().ToString());
  CHECK(msg->segments_size() == static_cast<int>(kSegments));
  for (const auto& sa : msg->segments()) {
    CHECK_FALSE(sa.withheld());
    CHECK(sa.recomputed_output_hash() == sa.output_hash());
  }
  net.Ok(*net.buyer, *msg);
  CHECK(net.J(id).state() == jobs::v1::JOB_STATE_VERIFIED);
  // A job that is not sampled has no attestation.
  CHECK(verifierd::AttestSampledJob(*net.chain, buyer, net.J(id), fetch,
                                    {cpu.get(), &workloads::DataCatalog::Default(), {}})
            .status()
            .code() == Code::kFailedPrecondition);
}

TEST_CASE("bad input to probity verifier and probity audit is refused with a reason") {
  lt::TempDir dir;
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), lt::ProbityBinary());
    args.push_back("--json");
    return lt::RunCommand(args, {lt::kPassphraseEnv}, 30000);
  };
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::string home = dir.path() + "/nothing";
  const std::string job(64, 'b');
  for (const Case& c : std::vector<Case>{
           {{"verifier", "--home", home}, "missing --key"},
           {{"verifier", "--home", home, "--key", "v", "--backend", "tpu"}, "--backend"},
           {{"verifier", "--home", home, "--key", "v", "--parallel", "0"}, "--parallel"},
           {{"verifier", "--home", home, "--key", "v", "--bogus", "1"}, "unknown flag --bogus"},
           {{"verifier", "--home", home, "--key", "v"}, "genesis"},
           {{"audit", "--home", home, "--key", "v"}, "usage"},
           {{"audit", "xyz", "--home", home, "--key", "v"}, "64 hex digits"},
           {{"audit", job, "--home", home}, "missing --key"},
           {{"audit", job, "--home", home, "--key", "v", "--wait-seconds", "x"}, "wait-seconds"},
           {{"audit", job, "--home", home, "--key", "v", "--backend", "tpu"}, "tpu"},
           {{"audit", job, "--home", home, "--key", "v"}, "genesis"},
       }) {
    auto r = run(c.args);
    CAPTURE(r.output);
    CHECK(r.code == 1);
    CHECK(JsonField(r.output, "ok") == "false");
    CHECK(r.output.find(c.says) != std::string::npos);
  }
}
