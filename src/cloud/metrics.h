// A small metrics registry rendered in the Prometheus text exposition format 0.0.4
// (Debian packages no Prometheus client library that fits; this is the part joeyd
// needs: counters, gauges and histograms with labels, plus gauges computed on scrape).
//
// Families are registered once at startup and live as long as the registry; a family's
// cells (one per label-value combination) are created on first use and never removed,
// so references returned by with() stay valid. Keep label values bounded: route
// templates, not paths.
//
// Thread-safety: every method may be called from any thread. Updating a cell is an
// atomic operation; with() takes a shared lock (exclusive only the first time a label
// combination appears); render() takes each family's lock in turn.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace joey::cloud {

class Counter {
 public:
  void increment(double amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void add(double amount) { value_.fetch_add(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds` are the upper bounds of the buckets, ascending; +Inf is implied.
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double value);
  // Cumulative counts per bound (the last one is +Inf), the sum and the count.
  std::vector<uint64_t> cumulative_counts() const;
  double sum() const { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_.size() + 1 entries
  std::atomic<double> sum_{0};
  std::atomic<uint64_t> count_{0};
};

// One metric name with its label names; cells by label values.
template <typename Cell>
class Family {
 public:
  using CellFactory = std::function<std::unique_ptr<Cell>()>;
  Family(std::vector<std::string> label_names, CellFactory factory)
      : label_names_(std::move(label_names)), factory_(std::move(factory)) {}

  // The cell for `label_values` (one per label name, in order; missing values are
  // empty), created on first use.
  Cell& with(std::vector<std::string> label_values) {
    label_values.resize(label_names_.size());
    {
      std::shared_lock lock(mutex_);
      auto found = cells_.find(label_values);
      if (found != cells_.end()) return *found->second;
    }
    std::unique_lock lock(mutex_);
    auto [position, inserted] = cells_.try_emplace(std::move(label_values), nullptr);
    if (inserted) position->second = factory_();
    return *position->second;
  }

  // with(), for a caller holding its label values as views (one per label name): a cell
  // that exists already is found without copying them.
  Cell& with_labels(std::span<const std::string_view> label_values) {
    if (label_values.size() == label_names_.size()) {
      std::shared_lock lock(mutex_);
      auto found = cells_.find(label_values);
      if (found != cells_.end()) return *found->second;
    }
    return with(std::vector<std::string>(label_values.begin(), label_values.end()));
  }

  // Calls `visit(label_values, cell)` for every cell, in label order.
  template <typename Visitor>
  void for_each(Visitor&& visit) const {
    std::shared_lock lock(mutex_);
    for (const auto& [values, cell] : cells_) visit(values, *cell);
  }

  const std::vector<std::string>& label_names() const { return label_names_; }

 private:
  const std::vector<std::string> label_names_;
  const CellFactory factory_;
  mutable std::shared_mutex mutex_;
  // Label values in order, compared as a vector of strings is (so for_each's order is
  // theirs), and against views too.
  struct LabelsLess {
    using is_transparent = void;
    template <typename Left, typename Right>
    bool operator()(const Left& left, const Right& right) const {
      return std::lexicographical_compare(
          left.begin(), left.end(), right.begin(), right.end(),
          [](std::string_view a, std::string_view b) { return a < b; });
    }
  };
  std::map<std::vector<std::string>, std::unique_ptr<Cell>, LabelsLess>
      cells_;  // GUARDED_BY(mutex_)
};

using CounterFamily = Family<Counter>;
using GaugeFamily = Family<Gauge>;
using HistogramFamily = Family<Histogram>;

// One sample of a gauge computed at scrape time.
struct GaugeSample {
  std::vector<std::string> label_values;
  double value = 0;
};

class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Each name must be registered once ([a-zA-Z_:][a-zA-Z0-9_:]*); `help` is one line.
  CounterFamily& counter(std::string name, std::string help, std::vector<std::string> labels);
  GaugeFamily& gauge(std::string name, std::string help, std::vector<std::string> labels);
  HistogramFamily& histogram(std::string name, std::string help, std::vector<std::string> labels,
                             std::vector<double> bounds);
  // A gauge whose samples `collect` computes on every render() — the hook for values
  // another component owns, like the database pool's open and idle connections.
  // `collect` is called without any registry lock held and must be thread-safe.
  void gauge_callback(std::string name, std::string help, std::vector<std::string> labels,
                      std::function<std::vector<GaugeSample>()> collect);

  // Every family in registration order, in the text format 0.0.4.
  std::string render() const;

 private:
  struct Entry;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Entry>> entries_;  // GUARDED_BY(mutex_); append-only
};

// The content type of render()'s output.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Latency bucket bounds in seconds, from 5 ms to 10 s.
std::vector<double> default_latency_buckets();

// joeyd's HTTP metrics: joeyd_http_requests_total{route,method,status},
// joeyd_http_request_duration_seconds{route}, joeyd_http_open_connections and
// joeyd_http_rejected_connections_total. Methods outside the standard set are counted
// as "OTHER" so clients cannot grow the label space.
class HttpMetrics {
 public:
  explicit HttpMetrics(MetricsRegistry& registry);
  void record_request(std::string_view route, std::string_view method, int status, double seconds);
  void connection_opened() { open_connections_.add(1); }
  void connection_closed() { open_connections_.add(-1); }
  void connection_rejected() { rejected_connections_.increment(); }

 private:
  CounterFamily& requests_;
  HistogramFamily& durations_;
  Gauge& open_connections_;
  Counter& rejected_connections_;
};

}  // namespace joey::cloud
