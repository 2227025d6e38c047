// `probity provider`: runs the provider daemon (daemon/provider, docs/operators.md).
#include <google/protobuf/stubs/logging.h>
#include <signal.h>

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "command.h"
#include "key_names.h"
#include "probity/ledger/node_client.h"
#include "probity/ledger/node_home.h"
#include "probity/observe/observe.h"
#include "probity/primitives/hex.h"
#include "probity/provider/provider.h"

namespace probity::cli {
namespace {

const std::vector<std::string> kFlags = {"home",
                                         "key",
                                         "node",
                                         "listen",
                                         "advertise",
                                         "backend",
                                         "capacity",
                                         "price",
                                         "pricing-command",
                                         "bond",
                                         "metrics",
                                         "tls-cert",
                                         "tls-key",
                                         "log-level",
                                         "log-format",
                                         "data-dir",
                                         "fashion-mnist-dir",
                                         "recalibrate",
                                         "max-blob-bytes",
                                         "offer-lifetime-blocks",
                                         "auth-window-ms",
                                         "node-tls",
                                         "node-tls-ca"};

// A flag's value: the command line, else provider.toml, else `dflt`.
std::string Setting(const Args& args, const provider::ProviderFileConfig& file,
                    const std::string& name, const std::string& dflt = "") {
  if (auto v = args.Get(name)) return *v;
  auto it = file.flags.find(name);
  return it == file.flags.end() ? dflt : it->second;
}

Result<uint64_t> NumberSetting(const Args& args, const provider::ProviderFileConfig& file,
                               const std::string& name, uint64_t dflt) {
  const std::string v = Setting(args, file, name, std::to_string(dflt));
  if (v.empty() || v.size() > 20 || v.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("--" + name + " must be a whole number, got '" + v + "'");
  }
  errno = 0;
  const unsigned long long x = std::strtoull(v.c_str(), nullptr, 10);
  if (errno == ERANGE) return Status::OutOfRange("--" + name + " is too large");
  return static_cast<uint64_t>(x);
}

std::string PricesText(const std::map<market::v1::JobKind, uint64_t>& prices) {
  std::string s;
  for (const auto& [kind, price] : prices) {
    if (!s.empty()) s += ",";
    s += (kind == market::v1::JOB_KIND_TRAIN_CLASSIFIER ? "train-classifier" : "infer-classifier");
    s += "=" + std::to_string(price);
  }
  return s.empty() ? "none" : s;
}

void PrintSummary(const Args& args, const provider::ProviderSummary& s,
                  const std::string& data_dir) {
  const std::string offer = s.offer_id ? ToHex(*s.offer_id) : "";
  if (args.json()) {
    std::ostringstream o;
    o << "{\"ok\":true,\"event\":\"started\",\"account\":" << JsonString(s.account)
      << ",\"grpc\":" << JsonString(s.grpc_address) << ",\"endpoint\":" << JsonString(s.endpoint)
      << ",\"tls\":" << (s.tls ? "true" : "false")
      << ",\"metrics\":" << JsonString(s.metrics_address)
      << ",\"backend\":" << JsonString(s.backend) << ",\"machine\":" << JsonString(s.machine)
      << ",\"gpu_model\":" << JsonString(s.hardware.gpu_model())
      << ",\"gpu_count\":" << s.hardware.gpu_count()
      << ",\"memory_mib\":" << s.hardware.memory_mib()
      << ",\"compute_capability\":" << s.hardware.compute_capability()
      << ",\"throughput\":" << s.hardware.throughput()
      << ",\"calibration_cached\":" << (s.calibration_cached ? "true" : "false")
      << ",\"capacity\":" << s.capacity << ",\"offer_id\":" << JsonString(offer)
      << ",\"prices\":" << JsonString(PricesText(s.prices))
      << ",\"eligible\":" << (s.eligible ? "true" : "false")
      << ",\"data_dir\":" << JsonString(data_dir) << ",\"fault\":" << JsonString(s.fault) << "}";
    std::cout << o.str() << std::endl;
    return;
  }
  std::cout << "probity provider " << s.account << "\n"
            << "  service     " << s.grpc_address << (s.tls ? " (TLS)" : " (plaintext)")
            << ", offered as " << s.endpoint << "\n"
            << "  backend     " << s.backend << ": " << s.machine;
  if (s.backend == "cpu") std::cout << ", " << s.threads_per_job << " threads per job";
  std::cout << "\n  hardware    " << s.hardware.gpu_model() << " x" << s.hardware.gpu_count()
            << ", " << s.hardware.memory_mib() << " MiB"
            << (s.hardware.compute_capability()
                    ? ", sm_" + std::to_string(s.hardware.compute_capability())
                    : std::string())
            << "\n  throughput  " << s.hardware.throughput() << " units/hour per job ("
            << (s.calibration_cached
                    ? std::string("cached calibration")
                    : "calibrated in " + std::to_string(s.calibration_seconds) + " s")
            << ")\n  capacity    " << s.capacity << " job(s) at once\n"
            << "  offer       "
            << (s.offer_id ? offer.substr(0, 16) + "…, prices " + PricesText(s.prices)
                           : std::string(s.eligible ? "not posted yet (see the log)"
                                                    : "none: stake below the minimum (--bond N)"))
            << "\n";
  for (const auto& d : s.data_sets) std::cout << "  data set    " << d << "\n";
  if (!s.metrics_address.empty()) {
    std::cout << "  metrics     http://" << s.metrics_address << "/metrics\n";
  }
  std::cout << "  data        " << data_dir << "\n";
  if (!s.fault.empty()) std::cout << "  TEST FAULT  " << s.fault << " (misbehaves on purpose)\n";
  std::cout << std::flush;
}

int RunProvider(const Args& args) {
  google::protobuf::SetLogHandler(nullptr);  // bad input is answered, not logged by protobuf
  if (Status s = args.CheckKnown(kFlags); !s.ok()) return Fail(args, s);
  ledger::NodeHome home{HomeDir(args)};
  const std::string config_path = home.config_dir() + "/provider.toml";
  provider::ProviderFileConfig file;
  if (auto text = ledger::ReadFileToString(config_path); text.ok()) {
    auto parsed = provider::ParseProviderConfig(*text);
    if (!parsed.ok()) return Fail(args, parsed.status());
    file = std::move(parsed).value();
  }
  if (Status s = observe::ConfigureLogsFromEnv(); !s.ok()) return Fail(args, s);
  if (auto level = Setting(args, file, "log-level"); !level.empty()) {
    if (Status s = observe::SetLogLevel(level); !s.ok()) return Fail(args, s);
  }
  if (auto format = Setting(args, file, "log-format"); !format.empty()) {
    if (Status s = observe::SetLogFormat(format); !s.ok()) return Fail(args, s);
  }

  provider::ProviderOptions o;
  const std::string key_name = Setting(args, file, "key");
  if (key_name.empty()) return Fail(args, Status::InvalidArgument("missing --key NAME"));
  auto setup = ledger::ConnectFromHome(
      home, Setting(args, file, "node"), "",
      {.enabled = args.Has("node-tls"), .ca_file = Setting(args, file, "node-tls-ca")});
  if (!setup.ok()) {
    return Fail(args, setup.status().WithContext("run 'probity init --home " + home.root +
                                                 "' first, or give --node"));
  }
  o.genesis = setup->genesis;
  o.node_address = setup->client->address();
  o.node_credentials = setup->client->credentials();
  o.data_dir = home.root + "/provider";
  o.listen = Setting(args, file, "listen", o.listen);
  o.advertise = Setting(args, file, "advertise");
  o.backend = Setting(args, file, "backend", o.backend);
  o.pricing_command = Setting(args, file, "pricing-command");
  o.metrics_listen = Setting(args, file, "metrics");
  o.tls_cert_file = Setting(args, file, "tls-cert");
  o.tls_key_file = Setting(args, file, "tls-key");
  o.fashion_mnist_dir = Setting(args, file, "fashion-mnist-dir", o.fashion_mnist_dir);
  o.recalibrate = Setting(args, file, "recalibrate") == "true";
  std::vector<std::string> data_dirs = args.GetAll("data-dir");
  if (data_dirs.empty() && file.flags.count("data-dir")) data_dirs = {file.flags["data-dir"]};
  o.data_dirs = data_dirs;
  auto capacity = NumberSetting(args, file, "capacity", 1);
  auto bond = NumberSetting(args, file, "bond", 0);
  auto max_blob = NumberSetting(args, file, "max-blob-bytes", o.max_blob_bytes);
  auto lifetime = NumberSetting(args, file, "offer-lifetime-blocks", o.offer_lifetime_blocks);
  auto window = NumberSetting(args, file, "auth-window-ms", o.auth_window_ms);
  for (const auto* r : {&capacity, &bond, &max_blob, &lifetime, &window}) {
    if (!r->ok()) return Fail(args, r->status());
  }
  if (*capacity == 0 || *capacity > 1024) {
    return Fail(args, Status::InvalidArgument("--capacity must be within 1..1024"));
  }
  o.capacity = static_cast<uint32_t>(*capacity);
  o.bond = *bond;
  o.max_blob_bytes = *max_blob;
  o.offer_lifetime_blocks = *lifetime;
  o.auth_window_ms = *window;
  const std::vector<std::string> price_flags = args.GetAll("price");
  if (price_flags.empty()) {
    o.prices = file.prices;
  } else {
    for (const std::string& p : price_flags) {
      if (Status s = provider::ParsePriceList(p, &o.prices); !s.ok()) {
        return Fail(args, s.WithContext("--price"));
      }
    }
  }
  // TEST ONLY: a provider that cheats or withholds on purpose (docs/operators.md, "Testing").
  if (const char* fault = std::getenv("PROBITY_TEST_PROVIDER_FAULT"); fault && *fault) {
    o.fault = fault;
  }

  auto key = LoadNamedKey(home.root, key_name);
  if (!key.ok()) return Fail(args, key.status());
  o.key = std::make_shared<const SecretKey>(std::move(key).value());

  // Signals are taken synchronously by this thread; every thread started below inherits the
  // blocked mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::string data_dir = o.data_dir;
  auto daemon = provider::ProviderDaemon::Start(std::move(o));
  if (!daemon.ok()) return Fail(args, daemon.status());
  PrintSummary(args, (*daemon)->Summary(), data_dir);

  for (;;) {
    int sig = sigwaitinfo(&signals, nullptr);
    if (sig == SIGINT || sig == SIGTERM) break;
  }
  observe::LogInfo("provider", "stopping");
  (*daemon)->Stop();
  if (args.json()) {
    std::cout << "{\"ok\":true,\"event\":\"stopped\"}" << std::endl;
  } else {
    std::cout << "probity provider: stopped\n";
  }
  return 0;
}

}  // namespace

PROBITY_COMMAND(
    {.path = "provider",
     .usage = "probity provider --key NAME [--home DIR] [--node ADDR] [--listen HOST:PORT]"
              " [--advertise HOST:PORT] [--backend auto|cpu|cuda] [--capacity N]"
              " [--price KIND=N[,KIND=N]]... [--pricing-command CMD] [--bond N]"
              " [--metrics HOST:PORT] [--tls-cert FILE --tls-key FILE] [--node-tls | --node-tls-ca "
              "FILE] [--data-dir DIR]..."
              " [--fashion-mnist-dir DIR] [--recalibrate] [--max-blob-bytes N]"
              " [--offer-lifetime-blocks N] [--log-level L] [--log-format text|json] [--json]",
     .summary = "run a provider: offer this machine's GPU (or CPU) on the market and compute jobs",
     .bool_flags = {"recalibrate", "node-tls"},
     .run = RunProvider});

}  // namespace probity::cli
