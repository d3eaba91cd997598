#include "http/metrics.hpp"

#include <fmt/format.h>

#include <iterator>

namespace pytheas::http {

namespace {

constexpr std::array<std::string_view, kRouteCount> kRouteLabels = {
    "/v1/decide",  "/v1/report", "/player.php", "/v1/groups", "/v1/groups/{key}",
    "/v1/cluster", "/metrics",   "/livez",      "/readyz",    "/v1/stats",
    "/dashboard",  "unknown",    "rejected"};

constexpr std::array<std::string_view, kReportOutcomeCount> kOutcomeLabels = {
    "accepted", "unknown_event", "duplicate", "overloaded", "invalid"};

}  // namespace

std::string_view route_label(Route route) {
  return kRouteLabels[static_cast<std::size_t>(route)];
}

std::size_t Metrics::status_index(unsigned status) {
  for (std::size_t i = 0; i < kStatuses.size(); ++i)
    if (kStatuses[i] == status) return i;
  return kStatuses.size();
}

void Metrics::record(Route route, unsigned status, std::chrono::nanoseconds latency) {
  const auto r = static_cast<std::size_t>(route);
  requests_[r][status_index(status)].fetch_add(1, std::memory_order_relaxed);
  const double seconds = static_cast<double>(latency.count()) * 1e-9;
  std::size_t bucket = 0;
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  latency_buckets_[r][bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_[r].fetch_add(static_cast<std::uint64_t>(latency.count()),
                               std::memory_order_relaxed);
}

void Metrics::record_report(ReportOutcome outcome) {
  reports_[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Metrics::requests(Route route, unsigned status) const {
  return requests_[static_cast<std::size_t>(route)][status_index(status)].load(
      std::memory_order_relaxed);
}

std::uint64_t Metrics::reports(ReportOutcome outcome) const {
  return reports_[static_cast<std::size_t>(outcome)].load(std::memory_order_relaxed);
}

void Metrics::write_histogram(std::string& out, std::string_view name, std::string_view help,
                              const LatencyHistogram& histogram) {
  auto it = std::back_inserter(out);
  fmt::format_to(it, "# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  std::uint64_t cumulative = 0;
  for (int b = 0; b < LatencyHistogram::kBuckets; ++b) {
    cumulative += histogram.bucket(b);
    fmt::format_to(it, "{}_bucket{{le=\"{:.6g}\"}} {}\n", name, LatencyHistogram::upper_bound(b),
                   cumulative);
  }
  cumulative += histogram.bucket(LatencyHistogram::kBuckets);
  fmt::format_to(it, "{}_bucket{{le=\"+Inf\"}} {}\n{}_sum {}\n{}_count {}\n", name, cumulative,
                 name, histogram.sum_seconds(), name, cumulative);
}

// What /v1/cluster shows, as series an operator's Prometheus can alert on:
// links (a member's view of each peer), the group table and, per cluster,
// the groups this member owns (summed over members: one owner each, or not).
void Metrics::write_cluster_status(const ClusterStatus& status, std::string& out) {
  auto it = std::back_inserter(out);
  out.append(
      "# HELP pytheas_peer_up Whether this node's link to a peer is up (1) or down (0).\n"
      "# TYPE pytheas_peer_up gauge\n");
  for (const auto& peer : status.peers)
    fmt::format_to(it, "pytheas_peer_up{{peer=\"{}\",peer_role=\"{}\",peer_cluster=\"{}\"}} {}\n",
                   peer.name, peer.role, peer.cluster, peer.healthy ? 1 : 0);
  out.append(
      "# HELP pytheas_peer_last_seen_seconds Seconds since this node last heard from a peer "
      "(-1: never).\n"
      "# TYPE pytheas_peer_last_seen_seconds gauge\n");
  for (const auto& peer : status.peers)
    fmt::format_to(it, "pytheas_peer_last_seen_seconds{{peer=\"{}\"}} {:.3f}\n", peer.name,
                   peer.last_seen_s);
  fmt::format_to(it,
                 "# HELP pytheas_peer_timeout_seconds Silence after which a peer is marked down "
                 "(federation.peer_timeout_s).\n"
                 "# TYPE pytheas_peer_timeout_seconds gauge\n"
                 "pytheas_peer_timeout_seconds {}\n"
                 "# HELP pytheas_group_table_version The group table version installed here.\n"
                 "# TYPE pytheas_group_table_version gauge\n"
                 "pytheas_group_table_version {}\n"
                 "# HELP pytheas_group_table_groups Groups the installed table gives each "
                 "frontend cluster.\n"
                 "# TYPE pytheas_group_table_groups gauge\n",
                 status.peer_timeout_s, status.table_version);
  for (const auto& [cluster, n] : status.table_groups_by_cluster)
    fmt::format_to(it, "pytheas_group_table_groups{{table_cluster=\"{}\"}} {}\n", cluster, n);
  if (!status.owned_by_cluster.empty()) {
    out.append(
        "# HELP pytheas_owned_groups Groups of the table this node owns in its view, by the "
        "cluster the table gives them.\n"
        "# TYPE pytheas_owned_groups gauge\n");
    for (const auto& [cluster, n] : status.owned_by_cluster)
      fmt::format_to(it, "pytheas_owned_groups{{table_cluster=\"{}\"}} {}\n", cluster, n);
  }
  if (status.regroup_interval_s > 0)
    fmt::format_to(it,
                   "# HELP pytheas_regroup_last_timestamp_seconds Backend: unix time of its last "
                   "regroup pass (whether or not the table changed).\n"
                   "# TYPE pytheas_regroup_last_timestamp_seconds gauge\n"
                   "pytheas_regroup_last_timestamp_seconds {:.3f}\n"
                   "# HELP pytheas_regroup_interval_seconds Backend: how often it regroups "
                   "(federation.regroup_interval_s).\n"
                   "# TYPE pytheas_regroup_interval_seconds gauge\n"
                   "pytheas_regroup_interval_seconds {}\n",
                   status.regrouped_at, status.regroup_interval_s);
}

void Metrics::write(const NodeStats& stats, std::string& out) const {
  auto it = std::back_inserter(out);
  out.append(
      "# HELP pytheas_http_requests_total HTTP requests answered, by route and status.\n"
      "# TYPE pytheas_http_requests_total counter\n");
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    for (std::size_t s = 0; s <= kStatuses.size(); ++s) {
      const auto n = requests_[r][s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      if (s < kStatuses.size())
        fmt::format_to(it, "pytheas_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n",
                       kRouteLabels[r], kStatuses[s], n);
      else
        fmt::format_to(it, "pytheas_http_requests_total{{route=\"{}\",status=\"other\"}} {}\n",
                       kRouteLabels[r], n);
    }
  }
  out.append(
      "# HELP pytheas_http_request_duration_seconds Time to handle a request (parse to "
      "response), by route.\n"
      "# TYPE pytheas_http_request_duration_seconds histogram\n");
  for (std::size_t r = 0; r < kRouteCount; ++r) {
    std::uint64_t cumulative = 0;
    std::array<std::uint64_t, kLatencyBuckets.size() + 1> counts{};
    for (std::size_t b = 0; b < counts.size(); ++b)
      counts[b] = latency_buckets_[r][b].load(std::memory_order_relaxed);
    std::uint64_t total = 0;
    for (auto c : counts) total += c;
    if (total == 0) continue;
    for (std::size_t b = 0; b < kLatencyBuckets.size(); ++b) {
      cumulative += counts[b];
      fmt::format_to(it,
                     "pytheas_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                     kRouteLabels[r], kLatencyBuckets[b], cumulative);
    }
    fmt::format_to(it,
                   "pytheas_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n"
                   "pytheas_http_request_duration_seconds_sum{{route=\"{}\"}} {}\n"
                   "pytheas_http_request_duration_seconds_count{{route=\"{}\"}} {}\n",
                   kRouteLabels[r], total, kRouteLabels[r],
                   static_cast<double>(latency_sum_ns_[r].load(std::memory_order_relaxed)) * 1e-9,
                   kRouteLabels[r], total);
  }
  out.append(
      "# HELP pytheas_reports_total Reports received over HTTP, by outcome.\n"
      "# TYPE pytheas_reports_total counter\n");
  for (std::size_t o = 0; o < kReportOutcomeCount; ++o)
    fmt::format_to(it, "pytheas_reports_total{{result=\"{}\"}} {}\n", kOutcomeLabels[o],
                   reports_[o].load(std::memory_order_relaxed));
  fmt::format_to(
      it,
      "# HELP pytheas_http_open_connections Open client connections.\n"
      "# TYPE pytheas_http_open_connections gauge\n"
      "pytheas_http_open_connections {}\n"
      "# HELP pytheas_http_refused_connections_total Connections refused at the cap (503).\n"
      "# TYPE pytheas_http_refused_connections_total counter\n"
      "pytheas_http_refused_connections_total {}\n"
      "# HELP pytheas_active_groups Groups with a live actor.\n"
      "# TYPE pytheas_active_groups gauge\n"
      "pytheas_active_groups {}\n"
      "# HELP pytheas_group_passivations_total Groups passivated to disk.\n"
      "# TYPE pytheas_group_passivations_total counter\n"
      "pytheas_group_passivations_total {}\n"
      "# HELP pytheas_group_restarts_total Group actors restarted after a crash.\n"
      "# TYPE pytheas_group_restarts_total counter\n"
      "pytheas_group_restarts_total {}\n"
      "# HELP pytheas_report_queue_depth Reports accepted but not yet applied.\n"
      "# TYPE pytheas_report_queue_depth gauge\n"
      "pytheas_report_queue_depth {}\n"
      "# HELP pytheas_report_queue_capacity Report queue capacity (503 beyond it).\n"
      "# TYPE pytheas_report_queue_capacity gauge\n"
      "pytheas_report_queue_capacity {}\n"
      "# HELP pytheas_reports_applied_total Reports applied to group policies.\n"
      "# TYPE pytheas_reports_applied_total counter\n"
      "pytheas_reports_applied_total {}\n"
      "# HELP pytheas_reports_lost_total Accepted reports lost to a crashed group actor.\n"
      "# TYPE pytheas_reports_lost_total counter\n"
      "pytheas_reports_lost_total {}\n"
      "# HELP pytheas_reports_duplicate_total Reports a group skipped because its state "
      "already included them (sent again after a move of state or ownership).\n"
      "# TYPE pytheas_reports_duplicate_total counter\n"
      "pytheas_reports_duplicate_total {}\n"
      "# HELP pytheas_events_evicted_total Reports by event id refused because claims of "
      "their age had to be forgotten early (limits.event_capacity).\n"
      "# TYPE pytheas_events_evicted_total counter\n"
      "pytheas_events_evicted_total {}\n"
      "# HELP pytheas_events_forged_total Reports by event id refused as not signed with this "
      "node's key (altered ids, or another cluster's).\n"
      "# TYPE pytheas_events_forged_total counter\n"
      "pytheas_events_forged_total {}\n"
      "# HELP pytheas_event_claims Reported event ids remembered to tell duplicates apart.\n"
      "# TYPE pytheas_event_claims gauge\n"
      "pytheas_event_claims {}\n"
      "# HELP pytheas_group_stalls_total Groups found holding accepted reports they applied "
      "none of for the stall bound (logged; /readyz 503 while it lasts).\n"
      "# TYPE pytheas_group_stalls_total counter\n"
      "pytheas_group_stalls_total {}\n"
      "# HELP pytheas_stalled_groups Groups stalled now.\n"
      "# TYPE pytheas_stalled_groups gauge\n"
      "pytheas_stalled_groups {}\n"
      "# HELP pytheas_report_queue_over_released_total Queue slots freed that were not "
      "taken (a bug; expected 0).\n"
      "# TYPE pytheas_report_queue_over_released_total counter\n"
      "pytheas_report_queue_over_released_total {}\n",
      open_connections(), refused_connections_.load(std::memory_order_relaxed), stats.active_groups,
      stats.passivations, stats.restarts, stats.queue_depth, stats.queue_capacity,
      stats.reports_applied, stats.reports_lost, stats.reports_duplicate, stats.events_evicted,
      stats.events_forged, stats.event_claims, stats.stalls, stats.stalled_groups,
      stats.queue_over_released);
  // Snapshot age as a report sees it: accepted -> visible in its group's snapshot.
  if (stats.freshness)
    write_histogram(out, "pytheas_snapshot_age_seconds",
                    "Time from a report's acceptance to its group's next snapshot.",
                    *stats.freshness);
  if (const auto& log = stats.decision_log) {
    fmt::format_to(
        it,
        "# HELP pytheas_decision_log_records_total Decision log records (--decision-log), by "
        "kind and result; dropped: the writer's queue was full or a write failed.\n"
        "# TYPE pytheas_decision_log_records_total counter\n"
        "pytheas_decision_log_records_total{{kind=\"decision\",result=\"written\"}} {}\n"
        "pytheas_decision_log_records_total{{kind=\"report\",result=\"written\"}} {}\n"
        "pytheas_decision_log_records_total{{kind=\"any\",result=\"dropped\"}} {}\n"
        "# HELP pytheas_decision_log_report_joins_total Reports by features (legacy update) in "
        "the decision log, by join: inferred (to the latest matching decision) or unmatched.\n"
        "# TYPE pytheas_decision_log_report_joins_total counter\n"
        "pytheas_decision_log_report_joins_total{{join=\"inferred\"}} {}\n"
        "pytheas_decision_log_report_joins_total{{join=\"unmatched\"}} {}\n"
        "# HELP pytheas_decision_log_files_deleted_total Decision log files deleted by the "
        "disk cap.\n"
        "# TYPE pytheas_decision_log_files_deleted_total counter\n"
        "pytheas_decision_log_files_deleted_total {}\n"
        "# HELP pytheas_decision_log_bytes Size of the decision log files on disk.\n"
        "# TYPE pytheas_decision_log_bytes gauge\n"
        "pytheas_decision_log_bytes {}\n",
        log->decisions, log->reports, log->dropped, log->inferred_joins, log->unmatched_reports,
        log->files_deleted, log->bytes);
  }
  if (const FederationShared* fed = stats.federation) {
    fmt::format_to(
        it,
        "# HELP pytheas_forwarded_reports_total Reports forwarded to the node owning their "
        "group, by direction (out: acknowledged by the owner; in: applied here).\n"
        "# TYPE pytheas_forwarded_reports_total counter\n"
        "pytheas_forwarded_reports_total{{direction=\"out\"}} {}\n"
        "pytheas_forwarded_reports_total{{direction=\"in\"}} {}\n"
        "# HELP pytheas_forward_rerouted_total Reports sent again because their group's owner "
        "changed.\n"
        "# TYPE pytheas_forward_rerouted_total counter\n"
        "pytheas_forward_rerouted_total {}\n"
        "# HELP pytheas_samples_total Reports sampled to the backend, by outcome.\n"
        "# TYPE pytheas_samples_total counter\n"
        "pytheas_samples_total{{result=\"sent\"}} {}\n"
        "pytheas_samples_total{{result=\"dropped\"}} {}\n"
        "# HELP pytheas_group_adoptions_total Groups this node came to own that took their "
        "state from another member's copy.\n"
        "# TYPE pytheas_group_adoptions_total counter\n"
        "pytheas_group_adoptions_total {}\n"
        "# HELP pytheas_group_handoffs_total Groups whose state this node gave to their new "
        "owner.\n"
        "# TYPE pytheas_group_handoffs_total counter\n"
        "pytheas_group_handoffs_total {}\n"
        "# HELP pytheas_refused_peers_total Federation handshakes refused.\n"
        "# TYPE pytheas_refused_peers_total counter\n"
        "pytheas_refused_peers_total {}\n"
        "# HELP pytheas_forward_refused_total Forwarded reports refused here: their group is "
        "not ours in our view (their origin sends them again).\n"
        "# TYPE pytheas_forward_refused_total counter\n"
        "pytheas_forward_refused_total {}\n"
        "# HELP pytheas_reports_retained Reports accepted here that their group's home has not "
        "yet confirmed durable (kept to send again).\n"
        "# TYPE pytheas_reports_retained gauge\n"
        "pytheas_reports_retained {}\n"
        "# HELP pytheas_reports_confirmed_total Reports accepted here that their group's home "
        "confirmed durable.\n"
        "# TYPE pytheas_reports_confirmed_total counter\n"
        "pytheas_reports_confirmed_total {}\n"
        "# HELP pytheas_retain_overflow_total Reports dropped from retention (per-group cap); "
        "they may be lost if their group's state moves before its home confirms them.\n"
        "# TYPE pytheas_retain_overflow_total counter\n"
        "pytheas_retain_overflow_total {}\n"
        "# HELP pytheas_group_settles_total Groups this node came to own and settled.\n"
        "# TYPE pytheas_group_settles_total counter\n"
        "pytheas_group_settles_total {}\n"
        "# HELP pytheas_group_rebases_total Settles that replaced this node's state by a newer "
        "copy (their origins then sent their reports again).\n"
        "# TYPE pytheas_group_rebases_total counter\n"
        "pytheas_group_rebases_total {}\n",
        fed->forwarded_out.load(), fed->forwarded_in.load(), fed->forward_rerouted.load(),
        fed->samples_sent.load(), fed->samples_dropped.load(), fed->adoptions.load(),
        fed->handoffs.load(), fed->refused_peers.load(), fed->forward_refused.load(),
        fed->retained.load(), fed->confirmed.load(), fed->retain_overflow.load(),
        fed->settles.load(), fed->rebases.load());
    write_histogram(out, "pytheas_forward_latency_seconds",
                    "Time from a report's acceptance at another node to its arrival here.",
                    fed->forward_latency);
    if (auto status = fed->status.load()) write_cluster_status(*status, out);
  }
}

}  // namespace pytheas::http
