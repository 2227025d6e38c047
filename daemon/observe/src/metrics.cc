// The metrics registry and its Prometheus text exposition (format version 0.0.4):
//
//   # HELP <name> <help, with \ and newline escaped>
//   # TYPE <name> counter|gauge|histogram
//   <name>{<label>="<value, with \ " and newline escaped>",...} <value>
//   <name>_bucket{...,le="<bound>"} <cumulative count>   (histograms; le="+Inf" last)
//   <name>_sum{...} <sum>
//   <name>_count{...} <count>
//
// Families are sorted by name and series by label set, so that a scrape is deterministic (and
// a test can compare it exactly). Numbers print in their shortest round-trip form.
#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "probity/observe/observe.h"

namespace probity::observe {
namespace {

enum class Kind { kCounter, kGauge, kHistogram };

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kCounter:
      return "counter";
    case Kind::kGauge:
      return "gauge";
    case Kind::kHistogram:
      return "histogram";
  }
  return "untyped";
}

// Misuse of the registry is a bug in the calling code, not bad input: say what and stop.
[[noreturn]] void Misuse(const std::string& what) {
  std::fprintf(stderr, "probity::observe: %s\n", what.c_str());
  std::abort();
}

bool ValidMetricName(const std::string& n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Label names starting with "__" are reserved for Prometheus itself.
bool ValidLabelName(const std::string& n) {
  if (n.empty() || n.rfind("__", 0) == 0) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

void AppendEscaped(std::string* out, const std::string& s, bool escape_quotes) {
  for (char c : s) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && escape_quotes) {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

// `{a="x",b="y"}`, with `extra` (the histogram's le) last; nothing for no labels at all.
std::string LabelText(const Labels& labels, const std::string& extra_name = "",
                      const std::string& extra_value = "") {
  if (labels.empty() && extra_name.empty()) return "";
  std::string s = "{";
  bool first = true;
  auto add = [&](const std::string& k, const std::string& v) {
    if (!first) s += ",";
    first = false;
    s += k;
    s += "=\"";
    AppendEscaped(&s, v, true);
    s += "\"";
  };
  for (const auto& [k, v] : labels) add(k, v);
  if (!extra_name.empty()) add(extra_name, extra_value);
  s += "}";
  return s;
}

class CounterImpl final : public Counter {
 public:
  void Inc(uint64_t n) override { v_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const override { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class GaugeImpl final : public Gauge {
 public:
  void Set(double v) override { v_.store(v, std::memory_order_relaxed); }
  void Add(double d) override {
    double cur = v_.load(std::memory_order_relaxed);
    while (!v_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
    }
  }
  double value() const override { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> v_{0};
};

// A mutex rather than atomics per bucket, so that a scrape never sees a count that disagrees
// with its buckets.
class HistogramImpl final : public Histogram {
 public:
  explicit HistogramImpl(const std::vector<double>& bounds)
      : bounds_(bounds), counts_(bounds.size() + 1, 0) {}

  void Observe(double v) override {
    // The first bucket whose bound is >= v ("le"); NaN falls into +Inf only.
    size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin();
    if (std::isnan(v)) i = bounds_.size();
    std::lock_guard<std::mutex> l(mu_);
    ++counts_[i];
    ++count_;
    sum_ += v;
  }
  uint64_t count() const override {
    std::lock_guard<std::mutex> l(mu_);
    return count_;
  }
  double sum() const override {
    std::lock_guard<std::mutex> l(mu_);
    return sum_;
  }

  void Snapshot(std::vector<uint64_t>* counts, uint64_t* count, double* sum) const {
    std::lock_guard<std::mutex> l(mu_);
    *counts = counts_;
    *count = count_;
    *sum = sum_;
  }

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; the last is (bounds.back, +Inf)
  uint64_t count_ = 0;
  double sum_ = 0;
};

struct Family {
  Kind kind;
  std::string help;
  std::vector<double> buckets;
  std::map<Labels, std::unique_ptr<CounterImpl>> counters;
  std::map<Labels, std::unique_ptr<GaugeImpl>> gauges;
  std::map<Labels, std::unique_ptr<HistogramImpl>> histograms;
};

}  // namespace

struct Registry::Impl {
  std::mutex mu;  // families
  std::map<std::string, Family> families;
  std::mutex collectors_mu;
  std::vector<std::function<void(Registry&)>> collectors;
  // One scrape at a time: collectors of two concurrent scrapes would race on the same gauges.
  std::mutex render_mu;

  Family& GetFamily(const std::string& name, const std::string& help, Kind kind,
                    const Labels& labels) {
    if (!ValidMetricName(name)) Misuse("invalid metric name '" + name + "'");
    for (const auto& [k, _] : labels) {
      if (!ValidLabelName(k)) Misuse("invalid label name '" + k + "' on metric " + name);
      if (kind == Kind::kHistogram && k == "le") {
        Misuse("histogram " + name + " may not have a label named 'le'");
      }
    }
    auto [it, inserted] = families.try_emplace(name);
    Family& f = it->second;
    if (inserted) {
      f.kind = kind;
      f.help = help;
    } else if (f.kind != kind) {
      Misuse("metric " + name + " is a " + KindName(f.kind) + ", not a " + KindName(kind));
    }
    return f;
  }
};

Registry::Registry() : impl_(std::make_unique<Impl>()) {}
Registry::~Registry() = default;

Registry& Registry::Default() {
  // Never destroyed: daemon threads may still touch metrics while the process exits.
  static Registry* r = new Registry();
  return *r;
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  std::lock_guard<std::mutex> l(impl_->mu);
  Family& f = impl_->GetFamily(name, help, Kind::kCounter, labels);
  auto& slot = f.counters[labels];
  if (!slot) slot = std::make_unique<CounterImpl>();
  return *slot;
}

Gauge& Registry::GetGauge(const std::string& name, const std::string& help, const Labels& labels) {
  std::lock_guard<std::mutex> l(impl_->mu);
  Family& f = impl_->GetFamily(name, help, Kind::kGauge, labels);
  auto& slot = f.gauges[labels];
  if (!slot) slot = std::make_unique<GaugeImpl>();
  return *slot;
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help,
                                  std::vector<double> buckets, const Labels& labels) {
  for (size_t i = 0; i < buckets.size(); ++i) {
    if (!std::isfinite(buckets[i]) || (i > 0 && !(buckets[i] > buckets[i - 1]))) {
      Misuse("histogram " + name + ": buckets must be finite and strictly increasing");
    }
  }
  std::lock_guard<std::mutex> l(impl_->mu);
  bool existed = impl_->families.count(name) > 0;
  Family& f = impl_->GetFamily(name, help, Kind::kHistogram, labels);
  if (!existed) {
    f.buckets = buckets;
  } else if (f.buckets != buckets) {
    Misuse("histogram " + name + " was registered with other buckets");
  }
  auto& slot = f.histograms[labels];
  if (!slot) slot = std::make_unique<HistogramImpl>(f.buckets);
  return *slot;
}

void Registry::AddCollector(std::function<void(Registry&)> collector) {
  std::lock_guard<std::mutex> l(impl_->collectors_mu);
  impl_->collectors.push_back(std::move(collector));
}

std::string Registry::Render() {
  std::lock_guard<std::mutex> scrape(impl_->render_mu);
  std::vector<std::function<void(Registry&)>> collectors;
  {
    std::lock_guard<std::mutex> l(impl_->collectors_mu);
    collectors = impl_->collectors;
  }
  // Outside the registry lock: collectors create and set metrics.
  for (auto& c : collectors) c(*this);

  std::lock_guard<std::mutex> l(impl_->mu);
  std::string out;
  for (const auto& [name, f] : impl_->families) {
    out += "# HELP " + name + " ";
    AppendEscaped(&out, f.help, false);
    out += "\n# TYPE " + name + " " + KindName(f.kind) + "\n";
    for (const auto& [labels, c] : f.counters) {
      out += name + LabelText(labels) + " " + std::to_string(c->value()) + "\n";
    }
    for (const auto& [labels, g] : f.gauges) {
      out += name + LabelText(labels) + " " + FormatDouble(g->value()) + "\n";
    }
    for (const auto& [labels, h] : f.histograms) {
      std::vector<uint64_t> counts;
      uint64_t count = 0;
      double sum = 0;
      h->Snapshot(&counts, &count, &sum);
      uint64_t cumulative = 0;
      for (size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += counts[i];
        out += name + "_bucket" + LabelText(labels, "le", FormatDouble(f.buckets[i])) + " " +
               std::to_string(cumulative) + "\n";
      }
      out +=
          name + "_bucket" + LabelText(labels, "le", "+Inf") + " " + std::to_string(count) + "\n";
      out += name + "_sum" + LabelText(labels) + " " + FormatDouble(sum) + "\n";
      out += name + "_count" + LabelText(labels) + " " + std::to_string(count) + "\n";
    }
  }
  return out;
}

std::vector<double> DurationBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
          2.5,   5,      10,    30,   60,    120,  300, 600,  1800};
}

}  // namespace probity::observe
