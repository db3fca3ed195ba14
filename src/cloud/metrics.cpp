#include "cloud/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

namespace joey::cloud {
namespace {

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

// Label values escape backslash, double quote and newline; help text backslash and newline.
std::string escape(std::string_view text, bool is_label_value) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char c : text) {
    if (c == '\\') {
      escaped += "\\\\";
    } else if (c == '\n') {
      escaped += "\\n";
    } else if (c == '"' && is_label_value) {
      escaped += "\\\"";
    } else {
      escaped.push_back(c);
    }
  }
  return escaped;
}

// {a="1",b="2"} plus an optional extra pair (le for histogram buckets); "" without labels.
std::string format_labels(const std::vector<std::string>& names,
                          const std::vector<std::string>& values, std::string_view extra_name = {},
                          std::string_view extra_value = {}) {
  std::string out;
  for (size_t index = 0; index < names.size() && index < values.size(); ++index) {
    out += out.empty() ? "{" : ",";
    out += names[index] + "=\"" + escape(values[index], true) + "\"";
  }
  if (!extra_name.empty()) {
    out += out.empty() ? "{" : ",";
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
  }
  if (!out.empty()) out += "}";
  return out;
}

}  // namespace

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t index = 0; index <= bounds_.size(); ++index) buckets_[index].store(0);
}

void Histogram::observe(double value) {
  size_t bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) -
                                      bounds_.begin());
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

std::vector<uint64_t> Histogram::cumulative_counts() const {
  std::vector<uint64_t> counts(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t index = 0; index <= bounds_.size(); ++index) {
    running += buckets_[index].load(std::memory_order_relaxed);
    counts[index] = running;
  }
  return counts;
}

struct MetricsRegistry::Entry {
  std::string name;
  std::string help;
  std::string type;  // counter, gauge, histogram
  std::unique_ptr<CounterFamily> counters;
  std::unique_ptr<GaugeFamily> gauges;
  std::unique_ptr<HistogramFamily> histograms;
  std::vector<std::string> callback_labels;
  std::function<std::vector<GaugeSample>()> callback;

  void render(std::string& out) const {
    out += "# HELP " + name + " " + escape(help, false) + "\n";
    out += "# TYPE " + name + " " + type + "\n";
    if (counters) {
      counters->for_each([&](const std::vector<std::string>& values, const Counter& counter) {
        out += name + format_labels(counters->label_names(), values) + " " +
               format_value(counter.value()) + "\n";
      });
    } else if (gauges) {
      gauges->for_each([&](const std::vector<std::string>& values, const Gauge& gauge) {
        out += name + format_labels(gauges->label_names(), values) + " " +
               format_value(gauge.value()) + "\n";
      });
    } else if (histograms) {
      histograms->for_each([&](const std::vector<std::string>& values, const Histogram& cell) {
        const std::vector<std::string>& names = histograms->label_names();
        std::vector<uint64_t> counts = cell.cumulative_counts();
        for (size_t index = 0; index < counts.size(); ++index) {
          std::string bound =
              index < cell.bounds().size() ? format_value(cell.bounds()[index]) : "+Inf";
          out += name + "_bucket" + format_labels(names, values, "le", bound) + " " +
                 std::to_string(counts[index]) + "\n";
        }
        out += name + "_sum" + format_labels(names, values) + " " + format_value(cell.sum()) + "\n";
        out += name + "_count" + format_labels(names, values) + " " +
               std::to_string(counts.back()) + "\n";
      });
    } else if (callback) {
      for (const GaugeSample& sample : callback()) {
        out += name + format_labels(callback_labels, sample.label_values) + " " +
               format_value(sample.value) + "\n";
      }
    }
  }
};

MetricsRegistry::MetricsRegistry() = default;
MetricsRegistry::~MetricsRegistry() = default;

CounterFamily& MetricsRegistry::counter(std::string name, std::string help,
                                        std::vector<std::string> labels) {
  auto entry = std::make_unique<Entry>();
  entry->name = std::move(name);
  entry->help = std::move(help);
  entry->type = "counter";
  entry->counters = std::make_unique<CounterFamily>(std::move(labels),
                                                    [] { return std::make_unique<Counter>(); });
  CounterFamily& family = *entry->counters;
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(entry));
  return family;
}

GaugeFamily& MetricsRegistry::gauge(std::string name, std::string help,
                                    std::vector<std::string> labels) {
  auto entry = std::make_unique<Entry>();
  entry->name = std::move(name);
  entry->help = std::move(help);
  entry->type = "gauge";
  entry->gauges =
      std::make_unique<GaugeFamily>(std::move(labels), [] { return std::make_unique<Gauge>(); });
  GaugeFamily& family = *entry->gauges;
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(entry));
  return family;
}

HistogramFamily& MetricsRegistry::histogram(std::string name, std::string help,
                                            std::vector<std::string> labels,
                                            std::vector<double> bounds) {
  auto entry = std::make_unique<Entry>();
  entry->name = std::move(name);
  entry->help = std::move(help);
  entry->type = "histogram";
  entry->histograms = std::make_unique<HistogramFamily>(
      std::move(labels), [bounds] { return std::make_unique<Histogram>(bounds); });
  HistogramFamily& family = *entry->histograms;
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(entry));
  return family;
}

void MetricsRegistry::gauge_callback(std::string name, std::string help,
                                     std::vector<std::string> labels,
                                     std::function<std::vector<GaugeSample>()> collect) {
  auto entry = std::make_unique<Entry>();
  entry->name = std::move(name);
  entry->help = std::move(help);
  entry->type = "gauge";
  entry->callback_labels = std::move(labels);
  entry->callback = std::move(collect);
  std::lock_guard lock(mutex_);
  entries_.push_back(std::move(entry));
}

std::string MetricsRegistry::render() const {
  std::vector<const Entry*> entries;
  {
    std::lock_guard lock(mutex_);
    for (const auto& entry : entries_) entries.push_back(entry.get());
  }
  // Entries are never removed, so rendering outside the lock is safe and keeps a slow
  // callback from blocking registration.
  std::string out;
  for (const Entry* entry : entries) entry->render(out);
  return out;
}

std::vector<double> default_latency_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

HttpMetrics::HttpMetrics(MetricsRegistry& registry)
    : requests_(registry.counter("joeyd_http_requests_total", "HTTP requests answered.",
                                 {"route", "method", "status"})),
      durations_(
          registry.histogram("joeyd_http_request_duration_seconds",
                             "Time from a request's header to its response being ready, by route.",
                             {"route"}, default_latency_buckets())),
      open_connections_(
          registry.gauge("joeyd_http_open_connections", "Client connections currently open.", {})
              .with({})),
      rejected_connections_(registry
                                .counter("joeyd_http_rejected_connections_total",
                                         "Connections closed at once because the server "
                                         "was at its connection limit.",
                                         {})
                                .with({})) {}

void HttpMetrics::record_request(std::string_view route, std::string_view method, int status,
                                 double seconds) {
  static constexpr std::array<std::string_view, 7> kMethods = {"GET",    "POST",    "PUT", "PATCH",
                                                               "DELETE", "OPTIONS", "HEAD"};
  std::string_view method_label = "OTHER";
  for (std::string_view known : kMethods) {
    if (known == method) method_label = known;
  }
  char status_text[16];
  const auto [status_end, ignored] =
      std::to_chars(status_text, status_text + sizeof status_text, status);
  const std::array<std::string_view, 3> request_labels{
      route, method_label, std::string_view(status_text, status_end - status_text)};
  requests_.with_labels(request_labels).increment();
  const std::array<std::string_view, 1> duration_labels{route};
  durations_.with_labels(duration_labels).observe(seconds);
}

}  // namespace joey::cloud
