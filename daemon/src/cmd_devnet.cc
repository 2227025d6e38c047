// `probity devnet`: a whole marketplace on this machine with one command. A solo chain whose
// genesis funds a buyer, a provider and a verifier; a provider daemon (GPU when there is one,
// else CPU) and a verifier daemon as child processes; then, as the buyer, a Fashion-MNIST
// classifier trained and used for inference through the real job flow (order, match, upload,
// compute, commit, reveal, sampled re-execution, attestation, settlement), and a report.
#include <google/protobuf/util/json_util.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

#include "child.h"
#include "command.h"
#include "job_cli.h"
#include "key_names.h"
#include "probity/buyer/buyer.h"
#include "probity/jobs/v1/jobs.pb.h"
#include "probity/ledger/genesis.h"
#include "probity/ledger/node_client.h"
#include "probity/ledger/node_config.h"
#include "probity/ledger/node_home.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "probity/primitives/keystore.h"
#include "probity/workloads/dataset.h"
#include "probity/workloads/model.h"

namespace probity::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::atomic<bool> g_stop{false};
void OnSignal(int) { g_stop.store(true); }

constexpr uint64_t kPricePerUnit = 2;

template <typename M>
Result<std::string> PatchSection(const std::string& json, const std::function<void(M&)>& edit) {
  M m;
  auto st = google::protobuf::util::JsonStringToMessage(json, &m);
  if (!st.ok()) return Status::Internal("genesis section does not parse: " + st.ToString());
  edit(m);
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

// Short windows so that a job settles in seconds, not hours: a devnet, not a production chain.
Status TuneGenesis(const ledger::NodeHome& home) {
  PROBITY_ASSIGN_OR_RETURN(ledger::Genesis g, ledger::LoadGenesisFile(home.genesis_file()));
  PROBITY_ASSIGN_OR_RETURN(g.modules["jobs"], PatchSection<jobs::v1::GenesisState>(
                                                  g.modules["jobs"], [](jobs::v1::GenesisState& s) {
                                                    auto* p = s.mutable_params();
                                                    p->set_reveal_window_blocks(20);
                                                    p->set_attest_window_blocks(600);
                                                    p->set_challenge_window_blocks(20);
                                                    p->set_opening_window_blocks(200);
                                                  }));
  return ledger::WriteFileAtomically(home.genesis_file(), ledger::GenesisToJson(g));
}

Status TuneConfig(const ledger::NodeHome& home) {
  std::string toml = ledger::DefaultNodeConfigToml();
  toml = std::regex_replace(toml, std::regex(R"(listen = "[^"]*")"), R"(listen = "127.0.0.1:0")");
  toml = std::regex_replace(toml, std::regex(R"(empty_block_interval_ms = \d+)"),
                            "empty_block_interval_ms = 100");
  PROBITY_RETURN_IF_ERROR(ledger::ParseNodeConfig(toml).status());
  return ledger::WriteFileAtomically(home.config_file(), toml);
}

struct JobReport {
  Hash256 id{};
  std::string kind;
  std::string state;
  bool verified = false;
  uint64_t sampled = 0;
  uint64_t checks_passed = 0;
  uint64_t price_paid = 0;
  uint64_t units = 0;
  uint64_t price_per_unit = 0;
  uint64_t segments = 0;
  std::string provider;
  std::string verifier;
  double seconds = 0;
};

JobReport ReportOf(const buyer::JobView& v, const std::string& kind, double seconds) {
  JobReport r;
  r.id = v.job_id;
  r.kind = kind;
  r.state = v.state;
  r.seconds = seconds;
  if (v.job) {
    const auto& j = *v.job;
    r.verified = j.attested() && v.state == "settled";
    r.sampled = j.sample_size();
    r.checks_passed = j.attested() ? static_cast<uint64_t>(j.sample_size()) : 0;
    r.units = j.units();
    r.price_per_unit = j.price_per_unit();
    r.price_paid = v.state == "settled" ? j.units() * j.price_per_unit() : 0;
    r.segments = j.segment_count();
    r.provider = EncodeAddress(ToKey(j.provider()));
    if (j.verifier().size() == 32) r.verifier = EncodeAddress(ToKey(j.verifier()));
  }
  return r;
}

std::string JobJson(const JobReport& r) {
  return "{\"id\":" + JsonString(ToHex(r.id)) + ",\"kind\":" + JsonString(r.kind) +
         ",\"state\":" + JsonString(r.state) + ",\"verified\":" + (r.verified ? "true" : "false") +
         ",\"sampled\":" + std::to_string(r.sampled) +
         ",\"checks_passed\":" + std::to_string(r.checks_passed) +
         ",\"price_paid\":" + std::to_string(r.price_paid) +
         ",\"units\":" + std::to_string(r.units) +
         ",\"price_per_unit\":" + std::to_string(r.price_per_unit) +
         ",\"segments\":" + std::to_string(r.segments) + ",\"provider\":" + JsonString(r.provider) +
         ",\"verifier\":" + JsonString(r.verifier) + ",\"seconds\":" + std::to_string(r.seconds) +
         "}";
}

struct Party {
  std::string name;
  XOnlyPubKey key{};
  uint64_t before = 0;
  uint64_t after = 0;
};

int RunDevnet(const Args& args) {
  if (Status s = args.CheckKnown({"home", "once", "json", "epochs", "backend", "keep", "verify"});
      !s.ok()) {
    return Fail(args, s);
  }
  const bool json = args.json();
  auto say = [&](const std::string& line) {
    if (!json) std::cout << line << std::endl;
  };
  auto epochs = args.GetU64("epochs", 2);
  if (!epochs.ok()) return Fail(args, epochs.status());
  auto k = args.GetU64("verify", 8);
  if (!k.ok()) return Fail(args, k.status());

  // Fashion-MNIST is what the demo trains on; say so up front rather than after the chain
  // starts.
  auto test_set = workloads::LoadFashionMnist(workloads::FashionMnistSplit::kTest);
  if (!test_set.ok()) {
    return Fail(args, Status::NotFound("devnet trains on Fashion-MNIST, which is not readable: " +
                                       test_set.status().message() +
                                       " (install Debian's dataset-fashion-mnist; "
                                       "scripts/setup.sh does)"));
  }

  std::string root = args.GetOr("home", "");
  bool temporary = root.empty();
  if (temporary) {
    std::string base = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
    std::string tmpl = base + "/probity-devnet-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      return Fail(args, Status::IOError("cannot create a directory under " + base));
    }
    root = tmpl;
  } else if (fs::exists(root + "/config/genesis.json")) {
    return Fail(args, Status::AlreadyExists(root + " already holds a chain; devnet starts "
                                                   "from an empty directory"));
  }
  ledger::NodeHome home{root};
  std::error_code ec;
  fs::create_directories(home.keys_dir(), ec);
  fs::create_directories(root + "/logs", ec);
  // The children read their keys with this passphrase (a devnet's keys guard nothing).
  if (!std::getenv("PROBITY_PASSPHRASE")) setenv("PROBITY_PASSPHRASE", "devnet", 1);
  const std::string pass = std::getenv("PROBITY_PASSPHRASE");
  ScryptParams fast;
  fast.n = 1 << 12;

  std::vector<Party> parties = {{"buyer"}, {"provider"}, {"verifier"}};
  std::string fund;
  for (auto& p : parties) {
    auto key = SecretKey::Generate();
    if (!key.ok()) return Fail(args, key.status());
    if (Status s = WriteKeyFile(home.key_file(p.name), *key, pass, fast); !s.ok()) {
      return Fail(args, s);
    }
    p.key = key->PublicKey();
    fund += (fund.empty() ? "" : ",") + p.name + "=" + std::string("1000000000");
  }
  {
    auto init =
        Child::Spawn("init", {"init", "--home", root, "--fund", fund}, root + "/logs/init.log");
    if (!init.ok()) return Fail(args, init.status());
    for (int i = 0; i < 600 && (*init)->Running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!fs::exists(home.genesis_file())) {
      return Fail(args, Status::Internal("probity init failed; see " + root + "/logs/init.log"));
    }
  }
  if (Status s = TuneGenesis(home); !s.ok()) return Fail(args, s);
  if (Status s = TuneConfig(home); !s.ok()) return Fail(args, s);

  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  const auto started = Clock::now();
  say("devnet in " + root);

  auto node = Child::Spawn("node", {"node", "--home", root}, root + "/logs/node.log");
  if (!node.ok()) return Fail(args, node.status());
  auto node_addr = WaitForAddressFile(home.address_file(), **node, 30, &g_stop);
  if (!node_addr.ok()) return Fail(args, node_addr.status());
  say("  node      " + *node_addr + " (solo producer, log " + (*node)->log() + ")");

  const std::string backend = args.GetOr("backend", "auto");
  auto provider = Child::Spawn(
      "provider",
      {"provider", "--home", root, "--key", "provider", "--node", *node_addr, "--listen",
       "127.0.0.1:0", "--backend", backend, "--capacity", "2", "--bond", "5000000", "--price",
       "train-classifier=" + std::to_string(kPricePerUnit) +
           ",infer-classifier=" + std::to_string(kPricePerUnit),
       "--metrics", "127.0.0.1:0"},
      root + "/logs/provider.log");
  if (!provider.ok()) return Fail(args, provider.status());
  auto verifier = Child::Spawn("verifier",
                               {"verifier", "--home", root, "--key", "verifier", "--node",
                                *node_addr, "--bond", "2000000", "--metrics", "127.0.0.1:0"},
                               root + "/logs/verifier.log");
  if (!verifier.ok()) return Fail(args, verifier.status());
  auto provider_addr =
      WaitForAddressFile(root + "/provider/provider.addr", **provider, 120, &g_stop);
  if (!provider_addr.ok()) return Fail(args, provider_addr.status());
  say("  provider  " + *provider_addr + " (log " + (*provider)->log() + ")");
  auto verifier_metrics =
      WaitForAddressFile(root + "/verifier/metrics.addr", **verifier, 60, &g_stop);
  if (!verifier_metrics.ok()) return Fail(args, verifier_metrics.status());
  say("  verifier  metrics on " + *verifier_metrics + " (log " + (*verifier)->log() + ")");

  auto setup = ledger::ConnectFromHome(home, *node_addr, "");
  if (!setup.ok()) return Fail(args, setup.status());
  std::shared_ptr<const ledger::NodeClient> client(std::move(setup->client));
  auto buyer_key = LoadNamedKey(root, "buyer");
  if (!buyer_key.ok()) return Fail(args, buyer_key.status());
  buyer::Buyer buyer(root, client, setup->genesis, std::move(*buyer_key));
  client::ChainReader& chain = buyer.chain();

  // Wait until the provider's offer and the verifier's stake are on chain.
  for (int i = 0;; ++i) {
    auto stake = chain.Stake(parties[2].key);
    market::v1::QueryProviderRequest req;
    req.set_address(std::string(parties[1].key.begin(), parties[1].key.end()));
    auto offers = client->QueryModule("market/provider", AsBytes(req.SerializeAsString()));
    market::v1::QueryProviderResponse resp;
    bool offered = offers.ok() &&
                   resp.ParseFromArray(offers->data(), static_cast<int>(offers->size())) &&
                   resp.offers_size() > 0;
    if (offered && stake.ok() && stake->bonded() > 0) break;
    if (i > 1200 || g_stop.load() || !(*provider)->Running() || !(*verifier)->Running()) {
      return Fail(args, Status::DeadlineExceeded(
                            "the provider's offer or the verifier's stake did not appear; see " +
                            root + "/logs"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  say("  offer posted, verifier bonded\n");
  for (auto& p : parties) {
    auto b = chain.Balance(p.key);
    p.before = b.ok() ? *b : 0;
  }

  std::vector<JobReport> reports;
  auto run_job = [&](const buyer::JobRequest& req,
                     const std::string& kind) -> Result<buyer::JobView> {
    auto t0 = Clock::now();
    PROBITY_ASSIGN_OR_RETURN(Hash256 id, buyer.Submit(req));
    say(kind + " job " + ToHex(id));
    ProgressBar bar(!json);
    auto v = buyer.Wait(id, std::chrono::minutes(20),
                        [&](const buyer::JobView& view) { bar.Show(view); });
    bar.Done();
    if (!v.ok()) return v.status();
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    reports.push_back(ReportOf(*v, kind, secs));
    return v;
  };

  // 1. Train.
  buyer::JobRequest train;
  {
    std::string text =
        "kind = \"train-classifier\"\ndataset = \"fashion-mnist-train\"\nexamples = 60000\n"
        "architecture = \"mlp\"\nhidden = [256, 128, 100]\noptimizer = \"adam\"\n"
        "learning_rate = 0.001\nlearning_rate_decay = 0.8\nbeta1 = 0.9\nbeta2 = 0.999\n"
        "epsilon = 1e-8\nbatch_size = 64\nepochs = " +
        std::to_string(*epochs) + "\nseed = 1\nsteps_per_segment = 20\naugment = \"none\"\n";
    auto spec = workloads::ParseJobSpec(text);
    if (!spec.ok()) return Fail(args, spec.status());
    train.spec = *spec;
  }
  train.max_price_per_unit = kPricePerUnit;
  train.verification_level = static_cast<uint32_t>(*k);
  train.label = "devnet: train mlp";
  auto trained = run_job(train, "train-classifier");
  bool ok = trained.ok() && trained->state == "settled";
  double accuracy = -1;
  std::string failure;
  if (!trained.ok()) failure = trained.status().ToString();

  // 2. Infer on the test set with the trained model, downloaded and checked.
  if (ok) {
    Bytes model_file;
    auto model = buyer.FetchResult(trained->job_id, &model_file);
    if (!model.ok()) {
      ok = false;
      failure = "the trained model: " + model.status().ToString();
    } else {
      say("  trained model " + ToHex(workloads::ModelId(model->model)) +
          " downloaded and checked against the commitment");
      auto images = workloads::Tensor::Zeros(workloads::DType::kU8,
                                             {int64_t{test_set->count}, int64_t{28}, int64_t{28}});
      std::copy(test_set->images.begin(), test_set->images.end(), images->mutable_bytes().data());
      auto req = InferRequest(model_file, *images, 1000);
      if (!req.ok()) return Fail(args, req.status());
      req->max_price_per_unit = kPricePerUnit;
      req->verification_level = static_cast<uint32_t>(std::min<uint64_t>(*k, 10));
      req->label = "devnet: infer test set";
      auto inferred = run_job(*req, "infer-classifier");
      if (!inferred.ok() || inferred->state != "settled") {
        ok = false;
        failure =
            inferred.ok() ? "inference ended " + inferred->state : inferred.status().ToString();
      } else {
        auto result = buyer.FetchResult(inferred->job_id);
        if (!result.ok()) {
          ok = false;
          failure = "the inference result: " + result.status().ToString();
        } else {
          auto labels = result->labels.data<int32_t>();
          uint64_t correct = 0;
          for (size_t i = 0; i < labels.size(); ++i) correct += labels[i] == test_set->labels[i];
          accuracy = static_cast<double>(correct) / static_cast<double>(labels.size());
        }
      }
    }
  } else if (failure.empty() && trained.ok()) {
    failure = "training ended " + trained->state;
  }
  for (const auto& r : reports) ok = ok && r.verified && r.state == "settled";
  for (auto& p : parties) {
    auto b = chain.Balance(p.key);
    p.after = b.ok() ? *b : 0;
  }
  const double total_s = std::chrono::duration<double>(Clock::now() - started).count();

  if (json) {
    std::string s = "{\"ok\":" + std::string(ok ? "true" : "false") +
                    ",\"home\":" + JsonString(root) + ",\"node\":" + JsonString(*node_addr) +
                    ",\"provider_endpoint\":" + JsonString(*provider_addr) + ",\"jobs\":[";
    for (size_t i = 0; i < reports.size(); ++i) s += (i ? "," : "") + JobJson(reports[i]);
    s += "],\"balances\":{";
    for (size_t i = 0; i < parties.size(); ++i) {
      s += (i ? "," : "") + JsonString(parties[i].name) +
           ":{\"address\":" + JsonString(EncodeAddress(parties[i].key)) +
           ",\"before\":" + std::to_string(parties[i].before) +
           ",\"after\":" + std::to_string(parties[i].after) + "}";
    }
    s += "},\"test_accuracy\":" + (accuracy >= 0 ? std::to_string(accuracy) : "null") +
         ",\"seconds\":" + std::to_string(total_s);
    if (!failure.empty()) s += ",\"error\":" + JsonString(failure);
    std::cout << s << "}\n";
  } else {
    std::cout << "\nreport\n";
    for (const auto& r : reports) {
      std::cout << "  " << r.kind << " " << ToHex(r.id).substr(0, 16) << "…  " << r.state
                << (r.verified ? ", verified" : ", NOT verified") << "\n"
                << "    provider " << r.provider << "\n"
                << "    price    " << r.price_per_unit << " x " << r.units
                << " units = " << r.price_paid << " paid\n"
                << "    checks   " << r.checks_passed << "/" << r.sampled << " sampled of "
                << r.segments << " segments re-executed and equal (verifier " << r.verifier << ")\n"
                << "    time     " << std::fixed << std::setprecision(1) << r.seconds << " s\n";
    }
    std::cout << "  balances\n";
    for (const auto& p : parties) {
      long long delta = static_cast<long long>(p.after) - static_cast<long long>(p.before);
      std::cout << "    " << p.name << std::string(10 - p.name.size(), ' ') << p.after << " ("
                << (delta >= 0 ? "+" : "") << delta << ")\n";
    }
    if (accuracy >= 0) {
      std::cout << "  trained model's test accuracy " << std::setprecision(4) << accuracy
                << " (10,000 Fashion-MNIST test images, labels from the verified inference)\n";
    }
    if (!failure.empty()) std::cout << "  FAILED: " << failure << "\n";
    std::cout << (ok ? "  every job verified and settled" : "  NOT every job verified and settled")
              << " in " << std::setprecision(0) << total_s << " s\n";
  }

  if (!args.Has("once")) {
    say("\nthe devnet stays up; Ctrl-C stops it. Try:\n"
        "  probity market --home " +
        root +
        "\n"
        "  probity job submit --home " +
        root +
        " --key buyer --kind train-classifier --epochs 1 --max-price 2 --wait\n"
        "  curl " +
        *verifier_metrics + "/metrics");
    while (!g_stop.load() && (*node)->Running()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  (*verifier)->Stop();
  (*provider)->Stop();
  (*node)->Stop();
  if (temporary && !args.Has("keep") && ok) fs::remove_all(root, ec);
  return ok ? 0 : 1;
}

}  // namespace

PROBITY_COMMAND({.path = "devnet",
                 .usage = "probity devnet [--once] [--json] [--home EMPTY_DIR] [--epochs N] "
                          "[--verify K] [--backend auto|cpu|cuda] [--keep]",
                 .summary = "a local marketplace with a real job flowing through it",
                 .bool_flags = {"once", "json", "keep"},
                 .run = RunDevnet});

}  // namespace probity::cli
