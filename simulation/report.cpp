#include "simulation/report.hpp"
#include "core/csv.hpp"
#include "simulation/output_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>

namespace pytheas::sim {
namespace {

const LaneResult* find_policy(const SimulationResult& result, const std::string& policy) {
  for (const auto& lane : result.lanes)
    if (lane.policy == policy) return &lane;
  return nullptr;
}

std::optional<double> improvement(double baseline, double cost) {
  if (baseline == 0) return std::nullopt;
  return (baseline - cost) / baseline * 100;
}

std::string percent(std::optional<double> value) {
  return value ? fmt::format("{:+.1f}%", *value) : std::string("n/a");
}

std::string csv_number(std::optional<double> value) {
  return value ? fmt::format("{:.2f}", *value) : std::string();
}

/// One lane against the random and CFA baselines (when they ran).
struct Comparison {
  std::optional<double> mean_vs_random, p90_vs_random, mean_vs_cfa, p90_vs_cfa;
  double sessions_per_s = 0;
};

Comparison compare(const LaneResult& lane, const SimulationResult& result) {
  Comparison c;
  if (const auto* random = find_policy(result, "random")) {
    c.mean_vs_random = improvement(random->mean_cost, lane.mean_cost);
    c.p90_vs_random = improvement(random->p90_cost, lane.p90_cost);
  }
  if (const auto* cfa = find_policy(result, "cfa")) {
    c.mean_vs_cfa = improvement(cfa->mean_cost, lane.mean_cost);
    c.p90_vs_cfa = improvement(cfa->p90_cost, lane.p90_cost);
  }
  c.sessions_per_s = lane.seconds > 0 ? static_cast<double>(lane.sessions) / lane.seconds : 0;
  return c;
}

}  // namespace

std::string lane_file_stem(const std::string& lane) {
  std::string stem = lane;
  for (char& c : stem)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) c = '_';
  return stem;
}

std::string format_summary(const SimulationResult& result) {
  std::string out = fmt::format("{:<22} {:>8} {:>11} {:>11} {:>11} {:>11} {:>10} {:>10} {:>12}\n",
                                "policy", "groups", "mean cost", "p90 cost", "mean/rand",
                                "p90/rand", "mean/cfa", "p90/cfa", "sessions/s");
  for (const auto& lane : result.lanes) {
    const auto c = compare(lane, result);
    out += fmt::format("{:<22} {:>8} {:>11.2f} {:>11.2f} {:>11} {:>11} {:>10} {:>10} {:>12.0f}\n",
                       lane.name, lane.groups, lane.mean_cost, lane.p90_cost,
                       percent(c.mean_vs_random), percent(c.p90_vs_random), percent(c.mean_vs_cfa),
                       percent(c.p90_vs_cfa), c.sessions_per_s);
  }
  return out;
}

void write_simulation_outputs(const std::string& dir, const SimulationResult& result) {
  namespace fs = std::filesystem;
  std::error_code error;
  fs::create_directories(dir, error);
  if (error)
    throw std::runtime_error("cannot create output directory '" + dir + "': " + error.message());
  const fs::path root(dir);

  for (const auto& lane : result.lanes) {
    std::string text = "interval_start_s,sessions,mean_cost,p90_cost\n";
    for (const auto& row : lane.intervals)
      text += fmt::format("{},{},{:.4f},{:.4f}\n", row.start_s, row.sessions, row.mean_cost,
                          row.p90_cost);
    write_output_file(root / (lane_file_stem(lane.name) + ".csv"), text);
  }

  std::string header;
  for (const auto& lane : result.lanes) header += "," + csv_field(lane.name);
  {
    std::string text = "interval_start_s" + header + "\n";
    const std::size_t rows = result.lanes.empty() ? 0 : result.lanes[0].intervals.size();
    for (std::size_t r = 0; r < rows; ++r) {
      text += fmt::format("{}", result.lanes[0].intervals[r].start_s);
      for (const auto& lane : result.lanes)
        text += fmt::format(",{:.4f}", lane.intervals[r].mean_cost);
      text += "\n";
    }
    write_output_file(root / "timeseries.csv", text);
  }
  {
    std::vector<std::vector<float>> sorted;
    for (const auto& lane : result.lanes) {
      sorted.push_back(lane.session_costs);
      std::sort(sorted.back().begin(), sorted.back().end());
    }
    std::string text = "quantile" + header + "\n";
    constexpr int kPoints = 200;
    for (int q = 0; q <= kPoints; ++q) {
      const double p = static_cast<double>(q) / kPoints;
      text += fmt::format("{:.3f}", p);
      for (const auto& costs : sorted) {
        if (costs.empty()) {
          text += ",";
          continue;
        }
        const auto index = std::min(
            costs.size() - 1, static_cast<std::size_t>(p * static_cast<double>(costs.size())));
        text += fmt::format(",{:.4f}", costs[index]);
      }
      text += "\n";
    }
    write_output_file(root / "cdf.csv", text);
  }
  {
    std::string text =
        "policy,grouping,groups,sessions,mean_cost,p90_cost,mean_vs_random_pct,p90_vs_random_pct,"
        "mean_vs_cfa_pct,p90_vs_cfa_pct,sessions_per_s,changes_detected\n";
    for (const auto& lane : result.lanes) {
      const auto c = compare(lane, result);
      text += fmt::format("{},{},{},{},{:.4f},{:.4f},{},{},{},{},{:.0f},{}\n", csv_field(lane.name),
                          csv_field(lane.grouping), lane.groups, lane.sessions, lane.mean_cost,
                          lane.p90_cost, csv_number(c.mean_vs_random), csv_number(c.p90_vs_random),
                          csv_number(c.mean_vs_cfa), csv_number(c.p90_vs_cfa), c.sessions_per_s,
                          lane.changes_detected);
    }
    write_output_file(root / "summary.csv", text);
  }
  write_output_file(root / "summary.txt", format_summary(result));
  if (!result.regroups.empty()) {
    std::string text = "time_s,samples,groups,split_features,learn_seconds,changed,inherited\n";
    for (const auto& regroup : result.regroups)
      text += fmt::format("{:.0f},{},{},{},{:.4f},{},{}\n", regroup.time_s, regroup.samples,
                          regroup.groups,
                          csv_field(fmt::format("{}", fmt::join(regroup.split_features, "+"))),
                          regroup.seconds, regroup.changed ? 1 : 0, regroup.inherited);
    write_output_file(root / "regroups.csv", text);
    write_output_file(root / "learned_rules.txt", result.regroups.back().rules);
    text = "policy,time_s,sessions_before,mean_before,sessions_after,mean_after\n";
    for (const auto& lane : result.lanes)
      for (const auto& cost : lane.regroup_costs)
        text += fmt::format("{},{:.0f},{},{:.4f},{},{:.4f}\n", csv_field(lane.name), cost.time_s,
                            cost.sessions_before, cost.mean_before, cost.sessions_after,
                            cost.mean_after);
    write_output_file(root / "regroup_costs.csv", text);
  }
}

}  // namespace pytheas::sim
