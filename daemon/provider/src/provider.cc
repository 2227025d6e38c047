// ProviderDaemon: wires the parts of the provider together (see provider.h and each part's
// header) and runs the upkeep thread.
#include "probity/provider/provider.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <thread>

#include "blob_store.h"
#include "calibration.h"
#include "chain_port.h"
#include "data_directory.h"
#include "hardware.h"
#include "job_manager.h"
#include "journal.h"
#include "metrics.h"
#include "offer_manager.h"
#include "pricing.h"
#include "probity/client/events.h"
#include "probity/ledger/node_client.h"
#include "probity/ledger/node_home.h"
#include "probity/observe/observe.h"
#include "probity/primitives/bech32m.h"
#include "probity/primitives/hex.h"
#include "server.h"
#include "service.h"

namespace probity::provider {
namespace {

constexpr std::string_view kLog = "provider";

// What the follower delivers to this provider (filtered by its address as well).
const std::vector<std::string> kWatchedEvents = {
    "jobs.assigned", "jobs.committed", "jobs.sampled",         "jobs.verified",
    "jobs.disputed", "jobs.settled",   "jobs.challenger_lost", "jobs.slashed",
    "jobs.expired",  "market.match",   "market.offer_closed"};

}  // namespace

struct ProviderDaemon::Impl {
  ProviderOptions options;
  ProviderSummary summary;
  std::unique_ptr<Journal> journal;
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<workloads::DataCatalog> catalog;
  std::unique_ptr<ChainPort> chain;
  std::unique_ptr<ProviderMetrics> metrics;
  std::unique_ptr<observe::MetricsServer> metrics_server;
  std::unique_ptr<Pricing> pricing;
  std::unique_ptr<JobManager> jobs;
  std::unique_ptr<OfferManager> offers;
  std::unique_ptr<ProviderService> service;
  std::unique_ptr<GrpcServer> server;
  std::unique_ptr<client::EventFollower> follower;
  std::unique_ptr<client::EventFollower> order_follower;
  std::thread upkeep;
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  std::vector<std::string> files_written;

  ~Impl() { Stop(); }
  Status Calibrate(const Machine& machine, int threads_per_job);
  Status WaitForNode();
  void Upkeep();
  void Stop();
};

Status ProviderDaemon::Impl::Calibrate(const Machine& machine, int threads_per_job) {
  const std::string key = CalibrationKey(machine.backend, machine.description, threads_per_job);
  if (!options.recalibrate) {
    PROBITY_ASSIGN_OR_RETURN(auto cached, journal->Calibration(key));
    if (cached) {
      summary.hardware.set_throughput(*cached);
      summary.calibration_cached = true;
      observe::LogInfo(kLog, "calibration from the cache",
                       {{"throughput_units_per_hour", std::to_string(*cached)}});
      return Status::OK();
    }
  }
  workloads::BackendOptions bo;
  bo.threads = threads_per_job;
  PROBITY_ASSIGN_OR_RETURN(auto backend, workloads::CreateBackend(machine.backend, bo));
  PROBITY_ASSIGN_OR_RETURN(CalibrationResult r,
                           provider::Calibrate(*backend, options.calibration_seconds));
  PROBITY_RETURN_IF_ERROR(journal->PutCalibration(key, r.units_per_hour));
  summary.hardware.set_throughput(r.units_per_hour);
  summary.calibration_seconds = r.seconds;
  observe::LogInfo(kLog, "calibrated",
                   {{"backend", backend->Describe()},
                    {"units", std::to_string(r.units)},
                    {"seconds", std::to_string(r.seconds)},
                    {"throughput_units_per_hour", std::to_string(r.units_per_hour)}});
  return Status::OK();
}

Status ProviderDaemon::Impl::WaitForNode() {
  auto delay = std::chrono::milliseconds(100);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto height = chain->Height();
    if (height.ok()) return Status::OK();
    if (std::chrono::steady_clock::now() >= deadline) {
      return height.status().WithContext("the node at " + options.node_address +
                                         " does not answer");
    }
    observe::LogWarn(kLog, "waiting for the node", {{"error", height.status().message()}});
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(2000));
  }
}

void ProviderDaemon::Impl::Upkeep() {
  for (;;) {
    {
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping; });
      if (stopping) return;
    }
    offers->Tick();
  }
}

void ProviderDaemon::Impl::Stop() {
  {
    std::lock_guard lock(mu);
    if (stopping) return;
    stopping = true;
  }
  cv.notify_all();
  if (upkeep.joinable()) upkeep.join();
  if (order_follower) order_follower->Stop();
  if (follower) follower->Stop();
  // The jobs first: a request waiting on a rebuild then ends at the rebuild's next segment,
  // and the server's shutdown, which waits for its handlers, is quick.
  if (jobs) jobs->Stop();
  if (server) server->Shutdown();
  metrics_server.reset();
  std::error_code ec;
  for (const auto& f : files_written) std::filesystem::remove(f, ec);
}

ProviderDaemon::ProviderDaemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ProviderDaemon::~ProviderDaemon() { Stop(); }
void ProviderDaemon::Stop() { impl_->Stop(); }
ProviderSummary ProviderDaemon::Summary() const {
  ProviderSummary s = impl_->summary;
  if (impl_->offers) {
    s.offer_id = impl_->offers->offer_id();
    s.prices = impl_->offers->prices();
    s.eligible = impl_->offers->eligible();
  }
  return s;
}

Result<std::unique_ptr<ProviderDaemon>> ProviderDaemon::Start(ProviderOptions options) {
  if (options.data_dir.empty()) return Status::InvalidArgument("the provider needs a data dir");
  if (options.node_address.empty()) return Status::InvalidArgument("the provider needs a node");
  if (!options.key) return Status::InvalidArgument("the provider needs its key");
  if (options.capacity == 0) return Status::InvalidArgument("--capacity must be at least 1");
  if (options.max_blob_bytes == 0) return Status::InvalidArgument("max_blob_bytes must be > 0");
  if (options.prices.empty() && options.pricing_command.empty()) {
    return Status::InvalidArgument(
        "no prices: give --price KIND=N (train-classifier, infer-classifier) or "
        "--pricing-command CMD");
  }
  PROBITY_ASSIGN_OR_RETURN(ProviderFault fault, ParseProviderFault(options.fault));

  auto impl = std::make_unique<Impl>();
  Impl& d = *impl;
  d.options = options;
  const XOnlyPubKey self = options.key->PublicKey();
  d.summary.account = EncodeAddress(self);
  d.summary.capacity = options.capacity;
  d.summary.fault = options.fault;
  if (!options.fault.empty()) {
    observe::LogWarn(kLog, "TEST FAULT ACTIVE: this provider misbehaves on purpose",
                     {{"fault", options.fault}});
  }

  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) return Status::IOError("cannot create " + options.data_dir + ": " + ec.message());
  PROBITY_ASSIGN_OR_RETURN(d.journal, Journal::Open(options.data_dir + "/journal"));
  PROBITY_ASSIGN_OR_RETURN(d.blobs,
                           BlobStore::Open(options.data_dir + "/blobs", options.max_blob_bytes));

  PROBITY_ASSIGN_OR_RETURN(Machine machine, DiscoverMachine(options.backend));
  d.summary.backend = machine.backend;
  d.summary.machine = machine.description;
  d.summary.hardware = machine.hardware;
  const int threads_per_job =
      machine.backend == "cpu"
          ? std::max(1, machine.cpu_threads / static_cast<int>(options.capacity))
          : 1;
  d.summary.threads_per_job = threads_per_job;
  if (machine.backend == "cpu") {
    observe::LogInfo(
        kLog,
        options.backend == "cpu" ? "serving on the cpu backend (as asked)"
                                 : "no CUDA device found: serving on the cpu backend",
        {{"machine", machine.description}, {"threads_per_job", std::to_string(threads_per_job)}});
  } else {
    for (const auto& g : machine.gpus) {
      observe::LogInfo(kLog, "GPU found",
                       {{"index", std::to_string(g.index)},
                        {"name", g.name},
                        {"memory_mib", std::to_string(g.memory_bytes >> 20)},
                        {"multiprocessors", std::to_string(g.multiprocessors)},
                        {"compute_capability",
                         std::to_string(g.compute_major) + "." + std::to_string(g.compute_minor)}});
    }
  }
  PROBITY_RETURN_IF_ERROR(d.Calibrate(machine, threads_per_job));

  d.catalog = std::make_unique<workloads::DataCatalog>(options.fashion_mnist_dir);
  for (const std::string& dir : options.data_dirs) {
    PROBITY_ASSIGN_OR_RETURN(auto added, AddDataDirectory(dir, *d.catalog));
    for (const auto& e : added) {
      d.summary.data_sets.push_back(e.name + " (" + std::to_string(e.count) + " images, " +
                                    ToHex(e.id).substr(0, 16) + ")");
      observe::LogInfo(
          kLog, "data set loaded",
          {{"name", e.name}, {"images", std::to_string(e.count)}, {"id", ToHex(e.id)}});
    }
  }

  auto node = std::make_shared<ledger::NodeClient>(
      options.node_address, ledger::TrustAnchor{options.genesis.chain_id, options.genesis.proposer},
      options.node_credentials);
  PROBITY_ASSIGN_OR_RETURN(SecretKey signer, SecretKey::FromBytes(options.key->SecretBytes()));
  d.chain = NewNodeChainPort(node, options.genesis, std::move(signer));
  PROBITY_RETURN_IF_ERROR(d.WaitForNode());

  d.metrics = std::make_unique<ProviderMetrics>(observe::Registry::Default());
  d.metrics->throughput.Set(static_cast<double>(d.summary.hardware.throughput()));
  d.metrics->SetBackendInfo(machine.backend, machine.hardware.gpu_model(),
                            static_cast<int>(machine.gpus.size()));
  if (!options.metrics_listen.empty()) {
    PROBITY_ASSIGN_OR_RETURN(
        d.metrics_server,
        observe::MetricsServer::Start(options.metrics_listen, observe::Registry::Default()));
    d.summary.metrics_address = d.metrics_server->address();
  }

  JobManagerOptions jo;
  jo.self = self;
  jo.backend = machine.backend;
  jo.cuda_devices = static_cast<int>(machine.gpus.size());
  jo.capacity = options.capacity;
  jo.threads_per_job = threads_per_job;
  jo.catalog = d.catalog.get();
  jo.corrupt_segment = fault.corrupt_segment;
  jo.withhold_openings = fault.withhold_openings;
  d.jobs = std::make_unique<JobManager>(jo, d.journal.get(), d.blobs.get(), d.chain.get(),
                                        d.metrics.get());
  PROBITY_RETURN_IF_ERROR(d.jobs->Start());

  d.pricing = std::make_unique<Pricing>(
      PricingConfig{.static_prices = options.prices, .command = options.pricing_command});

  ServiceDeps deps;
  deps.self = self;
  deps.jobs = d.jobs.get();
  deps.blobs = d.blobs.get();
  deps.chain = d.chain.get();
  deps.catalog = d.catalog.get();
  deps.metrics = d.metrics.get();
  deps.auth_window_ms = options.auth_window_ms;
  Impl* raw = &d;
  deps.describe = [raw, machine](provider::v1::InfoResponse* r) {
    r->set_backend(machine.backend);
    for (const auto& g : machine.gpus) {
      auto* gi = r->add_gpus();
      gi->set_name(g.name);
      gi->set_memory_mib(g.memory_bytes >> 20);
      gi->set_multiprocessors(static_cast<uint32_t>(g.multiprocessors));
      gi->set_compute_capability(static_cast<uint32_t>(g.compute_major * 10 + g.compute_minor));
    }
    r->set_throughput(raw->summary.hardware.throughput());
    r->set_capacity(raw->options.capacity);
    r->set_version(PROBITY_VERSION_STRING);
    if (raw->offers) {
      if (auto id = raw->offers->offer_id()) r->add_offer_ids(id->data(), id->size());
    }
  };
  d.service = std::make_unique<ProviderService>(std::move(deps));
  PROBITY_ASSIGN_OR_RETURN(
      d.server, GrpcServer::Start(d.service.get(), {.listen = options.listen,
                                                    .tls_cert_file = options.tls_cert_file,
                                                    .tls_key_file = options.tls_key_file}));
  d.summary.grpc_address = d.server->address();
  d.summary.tls = d.server->tls();
  d.summary.endpoint = options.advertise.empty() ? d.server->address() : options.advertise;

  OfferOptions oo;
  oo.self = self;
  oo.endpoint = d.summary.endpoint;
  oo.hardware = d.summary.hardware;
  oo.backend = machine.backend;
  oo.capacity = options.capacity;
  oo.bond = options.bond;
  oo.lifetime_blocks = options.offer_lifetime_blocks;
  JobManager* jobs = d.jobs.get();
  d.offers = std::make_unique<OfferManager>(oo, d.chain.get(), d.pricing.get(), d.metrics.get(),
                                            [jobs] { return jobs->running(); });
  if (Status s = d.offers->Setup(); !s.ok()) {
    if (s.code() == Code::kInvalidArgument) return s;
    observe::LogWarn(kLog, "offer not set up yet; retrying", {{"error", s.message()}});
  }

  client::EventFilter filter;
  filter.types = kWatchedEvents;
  filter.account = d.summary.account;
  filter.from_height = 1;
  PROBITY_ASSIGN_OR_RETURN(filter.resume_after, d.journal->Cursor());
  d.follower = std::make_unique<client::EventFollower>(
      options.node_address, filter,
      [raw](const node::v1::EventRecord& r) {
        raw->jobs->OnEvent(r);
        raw->offers->OnEvent(r);
        if (Status s = raw->journal->PutCursor(r.cursor()); !s.ok()) {
          observe::LogError(kLog, "cannot persist the event cursor", {{"error", s.message()}});
        }
      },
      [](const Status& s) {
        observe::LogWarn(kLog, "event stream broke; reconnecting", {{"error", s.message()}});
      },
      client::BackoffPolicy{}, options.node_credentials);
  d.follower->Start();
  if (!options.pricing_command.empty()) {
    client::EventFilter orders;
    orders.types = {"market.order_placed"};
    orders.from_height = 0;  // live: old orders were matched or will be at the next refresh
    d.order_follower = std::make_unique<client::EventFollower>(
        options.node_address, orders,
        [raw](const node::v1::EventRecord& r) { raw->offers->OnOrderPlaced(r); },
        client::EventFollower::OnBreak{}, client::BackoffPolicy{}, options.node_credentials);
    d.order_follower->Start();
  }
  d.upkeep = std::thread([raw] { raw->Upkeep(); });

  // Last, so that a script that waits for it finds everything up.
  const std::string addr_file = options.data_dir + "/provider.addr";
  PROBITY_RETURN_IF_ERROR(ledger::WriteFileAtomically(addr_file, d.summary.grpc_address + "\n"));
  d.files_written.push_back(addr_file);
  if (d.metrics_server) {
    const std::string metrics_file = options.data_dir + "/metrics.addr";
    PROBITY_RETURN_IF_ERROR(
        ledger::WriteFileAtomically(metrics_file, d.summary.metrics_address + "\n"));
    d.files_written.push_back(metrics_file);
  }
  observe::LogInfo(kLog, "serving",
                   {{"account", d.summary.account},
                    {"grpc", d.summary.grpc_address},
                    {"endpoint", d.summary.endpoint},
                    {"backend", machine.backend},
                    {"capacity", std::to_string(options.capacity)}});
  return std::unique_ptr<ProviderDaemon>(new ProviderDaemon(std::move(impl)));
}

}  // namespace probity::provider
