#include "core/ucb_index.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace pytheas {

double ucb_index(double mean, double count, double total_count, double exploration) {
  if (!(count > 0)) return std::numeric_limits<double>::infinity();
  const double log_total = std::max(std::log(total_count), 0.0);
  return mean + exploration * std::sqrt(2 * log_total / count);
}

void ucb_pick_list(std::span<const ArmView> stats, double exploration, int pick_list,
                   std::span<double> weights, std::span<double> ranks) {
  const std::size_t n = stats.size();
  if (n == 0) return;
  double total = 0;
  double best_played_mean = -std::numeric_limits<double>::infinity();
  for (const auto& arm : stats) {
    total += arm.count;
    if (arm.count > 0) best_played_mean = std::max(best_played_mean, arm.mean);
  }
  if (!std::isfinite(best_played_mean)) best_played_mean = 0;

  std::vector<double> counts(n);
  std::vector<double> means(n);
  for (std::size_t i = 0; i < n; ++i) {
    ranks[i] = ucb_index(stats[i].mean, stats[i].count, total, exploration);
    weights[i] = 0;
    counts[i] = std::max(stats[i].count, 0.0);
    means[i] = stats[i].count > 0 ? stats[i].mean : best_played_mean;
  }
  const int picks = std::max(pick_list, 1);
  double virtual_total = total;
  for (int pick = 0; pick < picks; ++pick) {
    std::size_t best = 0;
    double best_index = -std::numeric_limits<double>::infinity();
    for (std::size_t i = 0; i < n; ++i) {
      const double index = ucb_index(means[i], counts[i], virtual_total, exploration);
      if (index > best_index) {
        best_index = index;
        best = i;
      }
    }
    weights[best] += 1;
    counts[best] += 1;
    virtual_total += 1;
  }
  for (std::size_t i = 0; i < n; ++i) weights[i] /= picks;
}

}  // namespace pytheas
