#include "http/stats_json.hpp"

#include <algorithm>
#include <vector>

#include "http/json_codec.hpp"
#include "http/json_writer.hpp"
#include "http/metrics.hpp"

namespace pytheas::http {

namespace {

// What the group's current decision shares would score: sum of weight x mean
// over its arms (weights sum to 1). Null when no arm has a weight yet.
double expected_score(const DecisionSnapshot& snapshot, bool& defined) {
  double weighted = 0;
  double total_weight = 0;
  for (const auto& arm : snapshot.arms()) {
    if (arm.count <= 0) continue;
    weighted += arm.weight * arm.mean;
    total_weight += arm.weight;
  }
  defined = total_weight > 0;
  return defined ? weighted / total_weight : 0;
}

void write_group(const GroupInfo& group, double now, JsonWriter& w) {
  JsonCodec::write_group_head(group, w);
  if (!group.snapshot) {
    w.raw(
        ",\"policy\":null,\"snapshot_version\":null,\"snapshot_age_s\":null,"
        "\"expected_score\":null,\"arms\":[]}");
    return;
  }
  const auto& snapshot = *group.snapshot;
  w.raw(",\"policy\":");
  w.string(snapshot.policy());
  w.raw(",\"snapshot_version\":");
  w.number(snapshot.version());
  w.raw(",\"snapshot_age_s\":");
  w.number(std::max(0.0, now - group.last_update));
  w.raw(",\"expected_score\":");
  bool defined = false;
  const double score = expected_score(snapshot, defined);
  if (defined)
    w.number(score);
  else
    w.raw("null");
  w.raw(",");
  JsonCodec::write_arms(snapshot, w);
  w.raw("}");
}

}  // namespace

void write_stats(const DecisionService& service, const Metrics& metrics,
                 const StatsOptions& options, std::string& out) {
  const NodeStats stats = service.stats();
  std::vector<GroupInfo> groups = service.groups();
  // Busiest first (most reports, then most decisions), key as the tie-break
  // so the order is stable between polls.
  const auto busier = [](const GroupInfo& a, const GroupInfo& b) {
    if (a.reports != b.reports) return a.reports > b.reports;
    if (a.decisions != b.decisions) return a.decisions > b.decisions;
    return a.key < b.key;
  };
  const std::size_t listed = std::min(options.max_groups, groups.size());
  std::partial_sort(groups.begin(), groups.begin() + static_cast<std::ptrdiff_t>(listed),
                    groups.end(), busier);

  std::uint64_t rejected = 0;
  for (auto outcome : {ReportOutcome::unknown_event, ReportOutcome::duplicate,
                       ReportOutcome::overloaded, ReportOutcome::invalid})
    rejected += metrics.reports(outcome);

  JsonWriter w(std::move(out));
  w.raw("{\"ready\":");
  w.raw(service.ready() ? "true" : "false");
  w.raw(",\"now\":");
  w.number(options.now);
  w.raw(",\"active_groups\":");
  w.number(stats.active_groups);
  w.raw(",\"group_count\":");
  w.number(static_cast<std::uint64_t>(groups.size()));
  w.raw(",\"decisions\":");
  w.number(metrics.requests(Route::decide, 200));
  w.raw(",\"legacy_requests\":");
  w.number(metrics.requests(Route::legacy, 200));
  w.raw(",\"reports_accepted\":");
  w.number(metrics.reports(ReportOutcome::accepted));
  w.raw(",\"reports_rejected\":");
  w.number(rejected);
  w.raw(",\"reports_applied\":");
  w.number(stats.reports_applied);
  w.raw(",\"reports_lost\":");
  w.number(stats.reports_lost);
  w.raw(",\"queue_depth\":");
  w.number(stats.queue_depth);
  w.raw(",\"queue_capacity\":");
  w.number(stats.queue_capacity);
  w.raw(",\"passivations\":");
  w.number(stats.passivations);
  w.raw(",\"restarts\":");
  w.number(stats.restarts);
  w.raw(",\"events_evicted\":");
  w.number(stats.events_evicted);
  w.raw(",\"events_forged\":");
  w.number(stats.events_forged);
  w.raw(",\"freshness\":{\"count\":");
  if (const LatencyHistogram* freshness = stats.freshness; freshness && freshness->count() > 0) {
    const auto count = freshness->count();
    w.number(count);
    w.raw(",\"mean_s\":");
    w.number(freshness->sum_seconds() / static_cast<double>(count));
    w.raw(",\"p50_s\":");
    w.number(freshness->quantile(0.5));
    w.raw(",\"p99_s\":");
    w.number(freshness->quantile(0.99));
    w.raw("}");
  } else {
    w.raw("0,\"mean_s\":null,\"p50_s\":null,\"p99_s\":null}");
  }
  w.raw(",\"groups\":[");
  for (std::size_t i = 0; i < listed; ++i) {
    if (i > 0) w.raw(",");
    write_group(groups[i], options.now, w);
  }
  w.raw("]}\n");
  out = w.take();
}

}  // namespace pytheas::http
