// The metrics registry's Prometheus text output: counters and histograms by label,
// cumulative buckets, escaping, computed gauges, and joeyd's HTTP metric names.
#include "cloud/metrics.h"

#include <gtest/gtest.h>

#include <array>
#include <string_view>
#include <thread>
#include <vector>

namespace joey::cloud {
namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(MetricsTest, CountersRenderPerLabelCombination) {
  MetricsRegistry registry;
  CounterFamily& family = registry.counter("jobs_total", "Jobs done.", {"kind"});
  family.with({"a"}).increment();
  family.with({"a"}).increment(2);
  family.with({"b"}).increment();
  std::string text = registry.render();
  EXPECT_TRUE(contains(text, "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\n"));
  EXPECT_TRUE(contains(text, "jobs_total{kind=\"a\"} 3\n"));
  EXPECT_TRUE(contains(text, "jobs_total{kind=\"b\"} 1\n"));
}

// with_labels() finds the cell with() made from the same values, makes a new one as
// with() would, and a short list gets empty values for the labels it leaves out.
TEST(MetricsTest, LabelViewsReachTheSameCellsAsLabelStrings) {
  MetricsRegistry registry;
  CounterFamily& family = registry.counter("calls_total", "Calls.", {"route", "status"});
  family.with({"/a", "200"}).increment();
  const std::array<std::string_view, 2> same{"/a", "200"};
  EXPECT_EQ(&family.with_labels(same), &family.with({"/a", "200"}));
  family.with_labels(same).increment(2);
  const std::array<std::string_view, 2> other{"/a", "500"};
  family.with_labels(other).increment();
  const std::array<std::string_view, 1> short_list{"/b"};
  family.with_labels(short_list).increment();
  EXPECT_EQ(&family.with_labels(short_list), &family.with({"/b", ""}));
  const std::string text = registry.render();
  EXPECT_TRUE(contains(text, "calls_total{route=\"/a\",status=\"200\"} 3\n")) << text;
  EXPECT_TRUE(contains(text, "calls_total{route=\"/a\",status=\"500\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "calls_total{route=\"/b\",status=\"\"} 1\n")) << text;
  EXPECT_LT(text.find("status=\"200\""), text.find("status=\"500\""));
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  MetricsRegistry registry;
  HistogramFamily& family = registry.histogram("latency_seconds", "Latency.", {}, {0.1, 1});
  Histogram& histogram = family.with({});
  histogram.observe(0.05);
  histogram.observe(0.1);  // on a bound: counted in that bucket
  histogram.observe(0.5);
  histogram.observe(7);
  std::string text = registry.render();
  EXPECT_TRUE(contains(text, "latency_seconds_bucket{le=\"0.1\"} 2\n"));
  EXPECT_TRUE(contains(text, "latency_seconds_bucket{le=\"1\"} 3\n"));
  EXPECT_TRUE(contains(text, "latency_seconds_bucket{le=\"+Inf\"} 4\n"));
  EXPECT_TRUE(contains(text, "latency_seconds_count 4\n"));
  EXPECT_TRUE(contains(text, "latency_seconds_sum 7.65\n"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  MetricsRegistry registry;
  registry.counter("odd_total", "Odd.", {"v"}).with({"a\"b\\c\nd"}).increment();
  EXPECT_TRUE(contains(registry.render(), "odd_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(MetricsTest, GaugeCallbackIsCollectedAtRender) {
  MetricsRegistry registry;
  int open = 3;
  registry.gauge_callback("db_pool_connections", "Pool.", {"state"}, [&] {
    return std::vector<GaugeSample>{{{"open"}, static_cast<double>(open)}, {{"idle"}, 1}};
  });
  EXPECT_TRUE(contains(registry.render(), "db_pool_connections{state=\"open\"} 3\n"));
  open = 5;
  EXPECT_TRUE(contains(registry.render(), "db_pool_connections{state=\"open\"} 5\n"));
  EXPECT_TRUE(contains(registry.render(), "# TYPE db_pool_connections gauge\n"));
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry registry;
  CounterFamily& family = registry.counter("hits_total", "Hits.", {"route"});
  std::vector<std::thread> threads;
  for (int thread_index = 0; thread_index < 4; ++thread_index) {
    threads.emplace_back([&] {
      for (int count = 0; count < 1000; ++count) family.with({"/r"}).increment();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(family.with({"/r"}).value(), 4000);
}

TEST(MetricsTest, HttpMetricsUseJoeydNamesAndBoundMethods) {
  MetricsRegistry registry;
  HttpMetrics metrics(registry);
  metrics.record_request("/api/tokens/{id}", "DELETE", 204, 0.002);
  metrics.record_request("/api/tokens/{id}", "BREW", 405, 0.002);
  metrics.connection_opened();
  metrics.connection_opened();
  metrics.connection_closed();
  std::string text = registry.render();
  EXPECT_TRUE(contains(
      text,
      "joeyd_http_requests_total{route=\"/api/tokens/{id}\",method=\"DELETE\",status=\"204\"} 1"));
  EXPECT_TRUE(contains(
      text,
      "joeyd_http_requests_total{route=\"/api/tokens/{id}\",method=\"OTHER\",status=\"405\"} 1"));
  EXPECT_TRUE(contains(
      text,
      "joeyd_http_request_duration_seconds_bucket{route=\"/api/tokens/{id}\",le=\"0.005\"} 2"));
  EXPECT_TRUE(contains(text, "joeyd_http_open_connections 1\n"));
  EXPECT_FALSE(contains(text, "BREW"));
}

}  // namespace
}  // namespace joey::cloud
