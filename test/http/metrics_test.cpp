// Metrics: counters land under the right labels and the exposition is valid
// Prometheus text (cumulative buckets, _count equals the +Inf bucket).

#include "http/metrics.hpp"

#include <catch2/catch.hpp>

using namespace pytheas::http;
using namespace std::chrono_literals;

namespace {
bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}
}  // namespace

TEST_CASE("requests are counted by route and status", "[http][metrics]") {
  Metrics metrics;
  metrics.record(Route::decide, 200, 30us);
  metrics.record(Route::decide, 200, 3ms);
  metrics.record(Route::report, 404, 1us);
  metrics.record(Route::report, 418, 1us);
  CHECK(metrics.requests(Route::decide, 200) == 2);
  CHECK(metrics.requests(Route::report, 404) == 1);
  CHECK(metrics.requests(Route::decide, 404) == 0);

  std::string text;
  metrics.write(pytheas::NodeStats{}, text);
  CHECK(has_line(text, R"(pytheas_http_requests_total{route="/v1/decide",status="200"} 2)"));
  CHECK(has_line(text, R"(pytheas_http_requests_total{route="/v1/report",status="404"} 1)"));
  CHECK(has_line(text, R"(pytheas_http_requests_total{route="/v1/report",status="other"} 1)"));
  // 30 us falls in the first bucket (50 us); 3 ms only from the 5 ms bucket on.
  CHECK(has_line(
      text, R"(pytheas_http_request_duration_seconds_bucket{route="/v1/decide",le="5e-05"} 1)"));
  CHECK(has_line(
      text, R"(pytheas_http_request_duration_seconds_bucket{route="/v1/decide",le="0.0025"} 1)"));
  CHECK(has_line(
      text, R"(pytheas_http_request_duration_seconds_bucket{route="/v1/decide",le="0.005"} 2)"));
  CHECK(has_line(
      text, R"(pytheas_http_request_duration_seconds_bucket{route="/v1/decide",le="+Inf"} 2)"));
  CHECK(has_line(text, R"(pytheas_http_request_duration_seconds_count{route="/v1/decide"} 2)"));
}

TEST_CASE("reports, connections and node gauges are exposed", "[http][metrics]") {
  Metrics metrics;
  metrics.record_report(ReportOutcome::accepted);
  metrics.record_report(ReportOutcome::accepted);
  metrics.record_report(ReportOutcome::duplicate);
  metrics.connection_opened();
  metrics.connection_opened();
  metrics.connection_closed();
  metrics.connection_refused();
  pytheas::NodeStats stats;
  stats.active_groups = 42;
  stats.queue_depth = 7;
  pytheas::LatencyHistogram freshness;
  freshness.record(0.002);
  stats.freshness = &freshness;
  std::string text;
  metrics.write(stats, text);
  CHECK(has_line(text, R"(pytheas_reports_total{result="accepted"} 2)"));
  CHECK(has_line(text, R"(pytheas_reports_total{result="duplicate"} 1)"));
  CHECK(has_line(text, R"(pytheas_reports_total{result="overloaded"} 0)"));
  CHECK(has_line(text, "pytheas_http_open_connections 1"));
  CHECK(has_line(text, "pytheas_http_refused_connections_total 1"));
  CHECK(has_line(text, "pytheas_active_groups 42"));
  CHECK(has_line(text, "pytheas_report_queue_depth 7"));
  CHECK(has_line(text, R"(pytheas_snapshot_age_seconds_bucket{le="+Inf"} 1)"));
  CHECK(has_line(text, "pytheas_snapshot_age_seconds_count 1"));
  // Every sample line has a metric name with our prefix and a value.
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    auto line = text.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line[0] == '#') continue;
    INFO(line);
    CHECK(line.rfind("pytheas_", 0) == 0);
    CHECK(line.find(' ') != std::string::npos);
  }
}
