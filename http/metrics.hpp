#pragma once
// Metrics: the HTTP layer's counters and the Prometheus text exposition of
// them plus the node's gauges (GET /metrics, names prefixed pytheas_).
// Counters are relaxed atomics in fixed arrays (route x status, route x
// latency bucket), so recording never allocates or locks.
// Thread-safety: every method may be called concurrently.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "actors/node/decision_service.hpp"

namespace pytheas::http {

/// Routes as metric labels. `rejected` counts requests refused before routing
/// (limits, malformed HTTP, connection cap).
enum class Route : std::uint8_t {
  decide,
  report,
  legacy,
  groups,
  group,
  cluster,
  metrics,
  livez,
  readyz,
  stats,
  dashboard,
  unknown,
  rejected,
};
inline constexpr std::size_t kRouteCount = 13;
std::string_view route_label(Route route);

/// What became of a report (POST /v1/report and legacy update).
enum class ReportOutcome : std::uint8_t { accepted, unknown_event, duplicate, overloaded, invalid };
inline constexpr std::size_t kReportOutcomeCount = 5;

class Metrics {
 public:
  /// Upper bounds (seconds) of the latency histogram's buckets; +Inf is implied.
  static constexpr std::array<double, 11> kLatencyBuckets = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1.0};
  /// Statuses counted by their own label; any other is counted as "other".
  static constexpr std::array<unsigned, 14> kStatuses = {200, 202, 400, 404, 405, 408, 409,
                                                         413, 415, 431, 500, 501, 503, 505};

  void record(Route route, unsigned status, std::chrono::nanoseconds latency);
  void record_report(ReportOutcome outcome);
  void connection_opened() { open_connections_.fetch_add(1, std::memory_order_relaxed); }
  void connection_closed() { open_connections_.fetch_sub(1, std::memory_order_relaxed); }
  void connection_refused() { refused_connections_.fetch_add(1, std::memory_order_relaxed); }

  std::uint64_t requests(Route route, unsigned status) const;
  std::uint64_t reports(ReportOutcome outcome) const;
  std::int64_t open_connections() const {
    return open_connections_.load(std::memory_order_relaxed);
  }

  /// The Prometheus text exposition (version 0.0.4) of every metric, with the
  /// node's gauges from `stats`, appended to `out`.
  void write(const NodeStats& stats, std::string& out) const;

  /// Appends `histogram` in the Prometheus text format as `name`.
  static void write_histogram(std::string& out, std::string_view name, std::string_view help,
                              const LatencyHistogram& histogram);

  /// Appends a cluster member's view (links, group table, owned groups).
  static void write_cluster_status(const ClusterStatus& status, std::string& out);

 private:
  static std::size_t status_index(unsigned status);

  using Counter = std::atomic<std::uint64_t>;
  std::array<std::array<Counter, kStatuses.size() + 1>, kRouteCount> requests_{};
  std::array<std::array<Counter, kLatencyBuckets.size() + 1>, kRouteCount> latency_buckets_{};
  std::array<Counter, kRouteCount> latency_sum_ns_{};
  std::array<Counter, kReportOutcomeCount> reports_{};
  std::atomic<std::int64_t> open_connections_{0};
  Counter refused_connections_{0};
};

}  // namespace pytheas::http
