// The provider's Prometheus metrics (all named probity_provider_*), registered once in a
// Registry (the process's default in the daemon, a private one in tests).
//
// Thread-safety: thread-safe (the observe library's handles are).
#pragma once

#include <string>

#include "probity/observe/observe.h"

namespace probity::provider {

struct ProviderMetrics {
  explicit ProviderMetrics(observe::Registry& registry);

  observe::Registry& registry;
  observe::Counter& segments_computed;
  observe::Histogram& job_seconds;  // compute time of finished jobs
  observe::Gauge& throughput;       // calibrated units of work per hour
  observe::Gauge& running;          // jobs computing now
  observe::Counter& commits_sent;
  observe::Counter& openings_served;  // GetOpening answers
  observe::Counter& openings_posted;  // disputes answered on chain
  observe::Counter& payments_earned;  // smallest units paid at settlement
  observe::Counter& upload_bytes;
  observe::Counter& download_bytes;
  observe::Counter& offer_updates;

  // Labelled families (get-or-create).
  observe::Counter& Uploads(const std::string& role, const std::string& result);
  observe::Counter& Downloads(const std::string& result);
  observe::Gauge& JobsInState(const std::string& state);
  observe::Counter& JobsFinished(const std::string& state);
  // probity_provider_backend_info{backend, gpu_model, gpus} = 1.
  void SetBackendInfo(const std::string& backend, const std::string& gpu_model, int gpus);
};

}  // namespace probity::provider
