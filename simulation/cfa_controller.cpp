#include "simulation/cfa_controller.hpp"

#include <cmath>
#include <limits>

#include "core/errors.hpp"

namespace pytheas::sim {

CfaController::CfaController(CfaConfig config, std::uint64_t seed) : config_(config), rng_(seed) {
  if (!(config_.refresh_s > 0)) throw InvalidInput("cfa: refresh_s must be positive");
  if (!(config_.window_s >= config_.refresh_s))
    throw InvalidInput("cfa: window_s must be >= refresh_s");
  if (!(config_.explore >= 0 && config_.explore <= 1))
    throw InvalidInput("cfa: explore must be in [0, 1]");
  ring_size_ = static_cast<std::size_t>(std::ceil(config_.window_s / config_.refresh_s)) + 1;
}

std::int64_t CfaController::epoch_of(double time_s) const {
  return static_cast<std::int64_t>(std::floor(time_s / config_.refresh_s));
}

CfaController::Group& CfaController::group(std::uint32_t id) {
  if (id >= groups_.size()) groups_.resize(id + 1);
  auto& g = groups_[id];
  if (g.buckets.empty()) g.buckets.resize(ring_size_);
  return g;
}

void CfaController::refresh(Group& g, std::int64_t epoch) {
  // Predictions from the buckets of the last window (epochs before `epoch`).
  const auto window = static_cast<std::int64_t>(ring_size_) - 1;
  std::size_t decisions = 0;
  for (const auto& b : g.buckets) decisions = std::max(decisions, b.sum.size());
  g.prediction.assign(decisions, std::numeric_limits<double>::quiet_NaN());
  for (std::size_t d = 0; d < decisions; ++d) {
    double sum = 0, count = 0;
    for (const auto& b : g.buckets) {
      if (b.epoch < epoch - window || b.epoch >= epoch || d >= b.sum.size()) continue;
      sum += b.sum[d];
      count += b.count[d];
    }
    if (count > 0) g.prediction[d] = sum / count;
  }
  g.epoch = epoch;
}

std::size_t CfaController::choose(std::uint32_t group_id, std::span<const std::uint32_t> candidates,
                                  double time_s) {
  auto& g = group(group_id);
  const auto epoch = epoch_of(time_s);
  if (epoch > g.epoch) refresh(g, epoch);
  if (rng_.uniform() < config_.explore) return rng_.below(candidates.size());
  std::size_t best = candidates.size();
  double best_score = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const auto d = candidates[i];
    if (d >= g.prediction.size() || std::isnan(g.prediction[d])) continue;
    if (g.prediction[d] > best_score) {
      best_score = g.prediction[d];
      best = i;
    }
  }
  if (best == candidates.size()) return rng_.below(candidates.size());  // nothing known yet
  return best;
}

void CfaController::report(std::uint32_t group_id, std::uint32_t decision, double score,
                           double time_s) {
  auto& g = group(group_id);
  const auto epoch = epoch_of(time_s);
  auto& b = g.buckets[static_cast<std::size_t>(epoch) % ring_size_];
  if (b.epoch != epoch) {
    b.epoch = epoch;
    std::fill(b.sum.begin(), b.sum.end(), 0.0);
    std::fill(b.count.begin(), b.count.end(), 0.0);
  }
  if (decision >= b.sum.size()) {
    b.sum.resize(decision + 1, 0.0);
    b.count.resize(decision + 1, 0.0);
  }
  b.sum[decision] += score;
  b.count[decision] += 1;
}

}  // namespace pytheas::sim
