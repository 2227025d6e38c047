// The provider daemon (`probity provider`): what a GPU owner runs to sell compute on the
// Probity market. It finds its hardware (CUDA devices, or the `cpu` backend when there are
// none), calibrates its throughput, bonds stake when asked, keeps one offer open on the chain,
// watches the chain for the jobs assigned to it, takes their inputs over its gRPC service
// (provider.proto), computes them, commits the results, serves results and openings to the
// jobs' parties, answers disputes on chain, and records what it was paid. docs/operators.md
// is the operator's guide.
//
// Files under `data_dir` (the home's provider/ folder):
//   journal/          RocksDB: the job journal, the event cursor, the calibration cache
//   blobs/            content-addressed inputs and results
//   provider.addr     the bound gRPC address, written once serving (removed on a clean stop)
//   metrics.addr      the bound /metrics address, when metrics are on
//
// Thread-safety: Start/Stop by one thread; Summary from any.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "probity/ledger/genesis.h"
#include "probity/market/v1/market.pb.h"
#include "probity/primitives/keys.h"
#include "probity/primitives/status.h"
#include "probity/workloads/dataset.h"

namespace grpc {
class ChannelCredentials;
}

namespace probity::provider {

struct ProviderOptions {
  std::string data_dir;      // REQUIRED
  std::string node_address;  // REQUIRED: the node's gRPC "host:port"
  // TLS to the node (ledger/tls.h MakeChannelCredentials); null: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> node_credentials;
  ledger::Genesis genesis;                         // REQUIRED: the chain (trust anchor, chain id)
  std::shared_ptr<const SecretKey> key;            // REQUIRED: the provider's account key
  std::string listen = "127.0.0.1:0";              // the service; port 0 picks a free one
  std::string advertise;                           // the offer's endpoint; empty: the bound address
  std::string backend = "auto";                    // auto | cpu | cuda
  uint32_t capacity = 1;                           // jobs computed at once
  std::map<market::v1::JobKind, uint64_t> prices;  // per unit of work
  std::string pricing_command;                     // pricing.h protocol; empty: prices only
  uint64_t bond = 0;                               // bond up to this stake; 0: never bond
  uint64_t offer_lifetime_blocks = 3000;           // capped by the market's maximum
  std::string metrics_listen;                      // "host:port" for /metrics; empty: off
  std::string tls_cert_file;                       // PEM; TLS on the service with tls_key_file
  std::string tls_key_file;
  uint64_t max_blob_bytes = 64u << 20;  // largest input blob accepted
  uint64_t auth_window_ms = 120'000;    // request timestamps this close to the clock
  std::string fashion_mnist_dir = workloads::kFashionMnistDir;
  std::vector<std::string> data_dirs;  // more IDX data sets (data_directory.h)
  bool recalibrate = false;            // ignore the cached calibration
  double calibration_seconds = 2.0;
  // TEST ONLY, from PROBITY_TEST_PROVIDER_FAULT: "corrupt-segment:I" (every job is computed
  // with segment I perturbed, workloads::RunOptions::corrupt_segment, and its openings agree
  // with that trace) and/or "withhold-openings" (no opening is served or posted);
  // comma-separated. Empty: an honest provider.
  std::string fault;
};

struct ProviderSummary {
  std::string account;       // bech32m
  std::string grpc_address;  // bound
  std::string endpoint;      // advertised in the offer
  bool tls = false;
  std::string metrics_address;    // empty when off
  std::string backend;            // "cuda" or "cpu"
  std::string machine;            // the hardware in words
  market::v1::Hardware hardware;  // as offered (throughput included)
  bool calibration_cached = false;
  double calibration_seconds = 0;  // of the measurement (0 when cached)
  uint32_t capacity = 0;
  int threads_per_job = 0;  // cpu
  std::optional<Hash256> offer_id;
  std::map<market::v1::JobKind, uint64_t> prices;  // the offer's, now
  bool eligible = false;                           // staked enough to offer
  std::vector<std::string> data_sets;  // "name (count images, id …)" beyond Fashion-MNIST
  std::string fault;                   // non-empty when a test fault is active
};

class ProviderDaemon {
 public:
  // Everything above the "serving" line happens here: opens the journal and blobs, discovers
  // and calibrates, reconciles the journal with the chain, starts the service, the metrics
  // and the offer. kInvalidArgument for bad options; the component's error otherwise.
  static Result<std::unique_ptr<ProviderDaemon>> Start(ProviderOptions options);
  ~ProviderDaemon();  // Stop()
  ProviderDaemon(const ProviderDaemon&) = delete;
  ProviderDaemon& operator=(const ProviderDaemon&) = delete;

  // Stops following the chain, serving and computing (a job in progress stops at its next
  // segment and runs again at the next start).
  void Stop();
  ProviderSummary Summary() const;

  struct Impl;

 private:
  explicit ProviderDaemon(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// HOME/config/provider.toml: the command's settings, every key optional, the command line
// winning over the file (docs/operators.md):
//   [provider]
//   key = "provider"                 node = "127.0.0.1:7420"
//   listen = "0.0.0.0:7430"          advertise = "gpu1.example.com:7430"
//   backend = "auto"                 capacity = 2
//   bond = 1000000                   metrics = "127.0.0.1:9430"
//   tls_cert = "/etc/probity/cert.pem"   tls_key = "/etc/probity/key.pem"
//   pricing_command = "/usr/local/bin/price-job"
//   data_dir = "/srv/datasets"       fashion_mnist_dir = "/usr/share/datasets/fashion-mnist"
//   max_blob_bytes = 67108864        offer_lifetime_blocks = 3000
//   auth_window_ms = 120000          recalibrate = false
//   log_level = "info"               log_format = "text"
//   [prices]
//   train-classifier = 5
//   infer-classifier = 2
// Each [provider] key is the long flag of the same name (underscores for dashes).
struct ProviderFileConfig {
  std::map<std::string, std::string> flags;  // flag name ("pricing-command") → value as text
  std::map<market::v1::JobKind, uint64_t> prices;
};
// kInvalidArgument naming the key or line for anything unknown, mistyped or out of range.
Result<ProviderFileConfig> ParseProviderConfig(std::string_view toml);

// "train-classifier=5,infer-classifier=2" (a --price flag, which may also be repeated) added
// to `prices`. kInvalidArgument for an unknown kind, a kind priced twice, or a price that is
// not a whole number >= 1.
Status ParsePriceList(std::string_view text, std::map<market::v1::JobKind, uint64_t>* prices);

// PROBITY_TEST_PROVIDER_FAULT's grammar (see ProviderOptions::fault).
struct ProviderFault {
  std::optional<uint64_t> corrupt_segment;
  bool withhold_openings = false;
};
Result<ProviderFault> ParseProviderFault(std::string_view text);

}  // namespace probity::provider
