#include "simulation/replay_output.hpp"
#include "core/csv.hpp"
#include "simulation/output_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace pytheas::sim {
namespace {

struct LatencySummary {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

LatencySummary summarize(std::vector<float> values) {
  LatencySummary summary;
  if (values.empty()) return summary;
  summary.max = *std::max_element(values.begin(), values.end());
  summary.p50 = replay_quantile(values, 0.50);
  summary.p90 = replay_quantile(values, 0.90);
  summary.p99 = replay_quantile(values, 0.99);
  return summary;
}

double rate(std::uint64_t count, double seconds) {
  return seconds > 0 ? double(count) / seconds : 0;
}

}  // namespace

std::string format_replay_keys(const ReplayStats& stats, const ReplayResult& result) {
  const auto& t = stats.totals();
  const auto latency = summarize(stats.latencies_ms());
  // Sent over the sending time, ok over the time to the last answer (so a
  // node that falls behind shows a lower rate); at least 1 s each, so a tiny
  // run is not inflated.
  const double window = std::max(result.sending_s, 1.0);
  const double answer_window = std::max(result.answering_s, 1.0);
  std::string out;
  out += fmt::format("sessions={}\ndecide_ok={}\ndecide_failed={}\n", t.sessions, t.decide_ok,
                     t.decide_failed);
  out += fmt::format("reports_sent={}\nreports_ok={}\nreports_failed={}\n", t.reports_sent,
                     t.reports_ok, t.reports_failed);
  out += fmt::format(
      "elapsed_s={:.3f}\nsending_s={:.3f}\nanswering_s={:.3f}\nrps_sent={:.1f}\nrps_ok={:.1f}\n",
      result.elapsed_s, result.sending_s, result.answering_s, rate(t.sessions, window),
      rate(t.decide_ok, answer_window));
  out += fmt::format("p50_ms={:.3f}\np90_ms={:.3f}\np99_ms={:.3f}\nmax_ms={:.3f}\n", latency.p50,
                     latency.p90, latency.p99, latency.max);
  std::size_t idle_retries = 0;
  for (auto count : result.idle_retries) idle_retries += count;
  out += fmt::format("mean_cost={:.4f}\nabandoned={}\nfailovers={}\nidle_retries={}\n",
                     t.mean_cost(), result.abandoned, result.failovers, idle_retries);
  for (const auto& [reason, count] : t.decide_failures)
    out += fmt::format("decide_failed.{}={}\n", reason, count);
  for (const auto& [reason, count] : t.report_failures)
    out += fmt::format("report_failed.{}={}\n", reason, count);
  return out;
}

std::string format_replay_summary(const ReplayStats& stats, const ReplayResult& result) {
  const auto& t = stats.totals();
  const auto latency = summarize(stats.latencies_ms());
  const double window = std::max(result.sending_s, 1.0);
  const double answer_window = std::max(result.answering_s, 1.0);
  std::string failures;
  for (const auto& [reason, count] : t.decide_failures)
    failures += fmt::format("{}{} {}", failures.empty() ? " (" : ", ", count, reason);
  if (!failures.empty()) failures += ")";
  return fmt::format(
      "replay: {} sessions in {:.1f} s ({:.0f}/s sent, {:.0f}/s ok); decides ok {} failed {}{}; "
      "reports ok {} failed {}; latency ms p50 {:.3f} p90 {:.3f} p99 {:.3f} max {:.3f}; "
      "mean cost {:.2f}",
      t.sessions, result.elapsed_s, rate(t.sessions, window), rate(t.decide_ok, answer_window),
      t.decide_ok, t.decide_failed, failures, t.reports_ok, t.reports_failed, latency.p50,
      latency.p90, latency.p99, latency.max, t.mean_cost());
}

void write_replay_outputs(const std::string& dir, const ReplayStats& stats,
                          const ReplayResult& result) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) throw std::runtime_error("cannot create '" + dir + "': " + error.message());
  const std::filesystem::path root(dir);

  std::string csv =
      "second,sent,succeeded,failed,p50_ms,p90_ms,p99_ms,max_ms,avg_cost,reports_sent,reports_ok,"
      "reports_failed\n";
  const auto& seconds = stats.seconds();
  for (std::size_t i = 0; i < seconds.size(); ++i) {
    const auto& row = seconds[i];
    std::string latency = ",,,";
    if (!row.latency_ms.empty()) {
      const auto s = summarize(row.latency_ms);
      latency = fmt::format("{:.3f},{:.3f},{:.3f},{:.3f}", s.p50, s.p90, s.p99, s.max);
    }
    const std::string cost =
        row.cost_count ? fmt::format("{:.4f}", row.cost_sum / double(row.cost_count)) : "";
    csv += fmt::format("{},{},{},{},{},{},{},{},{}\n", i, row.sent, row.succeeded, row.failed,
                       latency, cost, row.reports_sent, row.reports_ok, row.reports_failed);
  }
  write_output_file(root / "replay.csv", csv);

  if (!stats.groups().empty()) {
    std::string groups = "group,accepted,in_doubt,refused\n";
    for (const auto& [group, counts] : stats.groups()) {
      groups += fmt::format("{},{},{},{}\n", csv_field(group), counts.accepted, counts.in_doubt,
                            counts.refused);
    }
    write_output_file(root / "groups.csv", groups);
  }

  // CDF at up to 1000 evenly spaced ranks.
  std::vector<float> sorted = stats.latencies_ms();
  std::sort(sorted.begin(), sorted.end());
  std::string cdf = "latency_ms,fraction\n";
  const std::size_t n = sorted.size();
  const std::size_t points = std::min<std::size_t>(n, 1000);
  for (std::size_t k = 1; k <= points; ++k) {
    const std::size_t rank = (k * n + points - 1) / points;  // 1-based, last point is n
    cdf += fmt::format("{:.4f},{:.6f}\n", sorted[rank - 1], double(rank) / double(n));
  }
  write_output_file(root / "latency_cdf.csv", cdf);
  write_output_file(root / "summary.txt", format_replay_keys(stats, result));
}

}  // namespace pytheas::sim
