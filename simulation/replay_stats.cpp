#include "simulation/replay_stats.hpp"

#include <algorithm>
#include <cmath>

namespace pytheas::sim {

ReplaySecond& ReplayStats::at(std::size_t second) {
  if (second >= seconds_.size()) seconds_.resize(second + 1);
  return seconds_[second];
}

void ReplayStats::on_sent(std::size_t second) {
  ++at(second).sent;
  ++totals_.sessions;
}

void ReplayStats::on_decided(std::size_t second, double latency_s, bool ok,
                             const std::string& failure) {
  auto& row = at(second);
  const auto ms = static_cast<float>(latency_s * 1e3);
  if (ok) {
    latencies_ms_.push_back(ms);
    ++row.succeeded;
    ++totals_.decide_ok;
    row.latency_ms.push_back(ms);
  } else {
    ++row.failed;
    ++totals_.decide_failed;
    ++totals_.decide_failures[failure];
  }
}

void ReplayStats::on_cost(std::size_t second, double cost) {
  auto& row = at(second);
  row.cost_sum += cost;
  ++row.cost_count;
  totals_.cost_sum += cost;
  ++totals_.cost_count;
}

void ReplayStats::on_report_sent(std::size_t second) {
  ++at(second).reports_sent;
  ++totals_.reports_sent;
}

void ReplayStats::on_report_done(std::size_t second, bool ok, const std::string& failure) {
  auto& row = at(second);
  if (ok) {
    ++row.reports_ok;
    ++totals_.reports_ok;
  } else {
    ++row.reports_failed;
    ++totals_.reports_failed;
    ++totals_.report_failures[failure];
  }
}

void ReplayStats::on_group_report(const std::string& group, bool ok, bool transport_failed) {
  auto& counts = groups_[group];
  if (ok)
    ++counts.accepted;
  else if (transport_failed)
    ++counts.in_doubt;
  else
    ++counts.refused;
}

void ReplayStats::on_abandoned(std::size_t second, std::uint64_t decides, std::uint64_t reports) {
  auto& row = at(second);
  row.failed += decides;
  totals_.decide_failed += decides;
  if (decides) totals_.decide_failures["abandoned"] += decides;
  row.reports_failed += reports;
  totals_.reports_failed += reports;
  if (reports) totals_.report_failures["abandoned"] += reports;
}

double replay_quantile(std::vector<float>& values, double p) {
  if (values.empty()) return 0;
  const auto n = values.size();
  auto rank = static_cast<std::size_t>(std::ceil(p * double(n)));
  rank = std::clamp<std::size_t>(rank, 1, n);
  std::nth_element(values.begin(), values.begin() + std::ptrdiff_t(rank - 1), values.end());
  return values[rank - 1];
}

}  // namespace pytheas::sim
