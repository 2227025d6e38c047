// Observability shared by the node, the provider and the verifier: Prometheus metrics served
// on /metrics, and leveled, structured logs.
//
// Metrics: a Registry holds counters, gauges and histograms by name and label set, and renders
// them in the Prometheus text exposition format (version 0.0.4). Collectors registered with
// AddCollector run at each scrape, so a component can publish values it already keeps (the
// node's height, the mempool's size) without pushing them. MetricsServer serves
// `GET /metrics` (and `GET /healthz`) over plain HTTP/1.1 on one address; it is meant for
// 127.0.0.1 or a private network, like every Prometheus exporter.
//
// Logs: one line per event on standard error, either
//   text: 2026-11-23T10:00:00.123Z INFO  provider job committed job=ab12.. segments=64
//   json: {"ts":"2026-11-23T10:00:00.123Z","level":"info","component":"provider",
//          "msg":"job committed","job":"ab12..","segments":"64"}
// chosen by SetLogFormat (the daemons' --log-format, or PROBITY_LOG_FORMAT); lines below the
// level (--log-level, PROBITY_LOG_LEVEL; default info) are dropped. Never log a secret: keys,
// passphrases and buyers' secrets stay out of every field.
//
// Thread-safety: everything here is thread-safe; metric handles stay valid for the registry's
// lifetime.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "probity/primitives/status.h"

namespace probity::observe {

using Labels = std::map<std::string, std::string>;

class Counter {
 public:
  virtual ~Counter() = default;
  virtual void Inc(uint64_t n = 1) = 0;
  virtual uint64_t value() const = 0;
};

class Gauge {
 public:
  virtual ~Gauge() = default;
  virtual void Set(double v) = 0;
  virtual void Add(double d) = 0;
  virtual double value() const = 0;
};

class Histogram {
 public:
  virtual ~Histogram() = default;
  virtual void Observe(double v) = 0;
  virtual uint64_t count() const = 0;
  virtual double sum() const = 0;
};

class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process's registry (what the daemons serve).
  static Registry& Default();

  // Get-or-create. `name` matches [a-zA-Z_:][a-zA-Z0-9_:]*; a name reused with another type
  // (or a histogram with other buckets) is a programming error and aborts.
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& GetGauge(const std::string& name, const std::string& help, const Labels& labels = {});
  // `buckets`: strictly increasing upper bounds (+Inf is implicit).
  Histogram& GetHistogram(const std::string& name, const std::string& help,
                          std::vector<double> buckets, const Labels& labels = {});

  // Runs before each Render.
  void AddCollector(std::function<void(Registry&)> collector);

  // The text exposition: families sorted by name, label values escaped.
  std::string Render();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Seconds buckets for durations from 1 ms to ~30 min.
std::vector<double> DurationBuckets();

// What one client may cost the metrics server: a request head longer than
// `max_request_bytes` is answered 431; a connection still open `io_timeout` after it was
// accepted is closed.
struct MetricsServerOptions {
  size_t max_request_bytes = 8192;
  std::chrono::milliseconds io_timeout{5000};
};

class MetricsServer {
 public:
  // Listens on `address` ("host:port", an IPv6 host in brackets; port 0 picks a free one) and
  // serves `registry` (not owned; it must outlive the server) from a thread of its own.
  // kInvalidArgument for a malformed address, kUnavailable when it cannot bind.
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                      Registry& registry);
  static Result<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                      Registry& registry,
                                                      const MetricsServerOptions& options);
  ~MetricsServer();  // stops and joins
  // The bound "host:port".
  const std::string& address() const;

  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// kInvalidArgument for an unknown name ("debug", "info", "warn", "error"; "text", "json").
Status SetLogLevel(std::string_view level);
Status SetLogFormat(std::string_view format);
// Applies PROBITY_LOG_LEVEL and PROBITY_LOG_FORMAT when set.
Status ConfigureLogsFromEnv();

using LogFields = std::vector<std::pair<std::string, std::string>>;
void Log(LogLevel level, std::string_view component, std::string_view message,
         const LogFields& fields = {});
inline void LogInfo(std::string_view c, std::string_view m, const LogFields& f = {}) {
  Log(LogLevel::kInfo, c, m, f);
}
inline void LogWarn(std::string_view c, std::string_view m, const LogFields& f = {}) {
  Log(LogLevel::kWarn, c, m, f);
}
inline void LogError(std::string_view c, std::string_view m, const LogFields& f = {}) {
  Log(LogLevel::kError, c, m, f);
}
inline void LogDebug(std::string_view c, std::string_view m, const LogFields& f = {}) {
  Log(LogLevel::kDebug, c, m, f);
}

}  // namespace probity::observe
