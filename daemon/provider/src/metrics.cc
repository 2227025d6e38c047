#include "metrics.h"

namespace probity::provider {

ProviderMetrics::ProviderMetrics(observe::Registry& r)
    : registry(r),
      segments_computed(r.GetCounter("probity_provider_segments_computed_total",
                                     "Segments of jobs computed (re-runs included)")),
      job_seconds(r.GetHistogram("probity_provider_job_duration_seconds",
                                 "Compute time of each finished job run",
                                 observe::DurationBuckets())),
      throughput(r.GetGauge("probity_provider_calibrated_throughput",
                            "Calibrated units of work per hour of one job slot")),
      running(r.GetGauge("probity_provider_jobs_running", "Jobs computing now")),
      commits_sent(r.GetCounter("probity_provider_commits_sent_total",
                                "MsgCommit transactions that the chain accepted")),
      openings_served(r.GetCounter("probity_provider_openings_served_total",
                                   "Segment openings served over GetOpening")),
      openings_posted(r.GetCounter("probity_provider_openings_posted_total",
                                   "Disputes answered with an on-chain opening")),
      payments_earned(r.GetCounter("probity_provider_payments_earned_total",
                                   "Payments received at settlement, in the smallest unit")),
      upload_bytes(
          r.GetCounter("probity_provider_upload_bytes_total", "Bytes of input blobs accepted")),
      download_bytes(
          r.GetCounter("probity_provider_download_bytes_total", "Bytes of results served")),
      offer_updates(r.GetCounter("probity_provider_offer_transactions_total",
                                 "Offers posted, refreshed or re-priced")) {}

observe::Counter& ProviderMetrics::Uploads(const std::string& role, const std::string& result) {
  return registry.GetCounter("probity_provider_uploads_total", "Input blob uploads by outcome",
                             {{"role", role}, {"result", result}});
}

observe::Counter& ProviderMetrics::Downloads(const std::string& result) {
  return registry.GetCounter("probity_provider_downloads_total", "Result downloads by outcome",
                             {{"result", result}});
}

observe::Gauge& ProviderMetrics::JobsInState(const std::string& state) {
  return registry.GetGauge("probity_provider_jobs", "Jobs in the journal by state",
                           {{"state", state}});
}

observe::Counter& ProviderMetrics::JobsFinished(const std::string& state) {
  return registry.GetCounter("probity_provider_jobs_finished_total",
                             "Jobs that reached a final state", {{"state", state}});
}

void ProviderMetrics::SetBackendInfo(const std::string& backend, const std::string& gpu_model,
                                     int gpus) {
  registry
      .GetGauge("probity_provider_backend_info", "The backend and hardware the provider serves on",
                {{"backend", backend}, {"gpu_model", gpu_model}, {"gpus", std::to_string(gpus)}})
      .Set(1);
}

}  // namespace probity::provider
