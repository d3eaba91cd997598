#pragma once
// The UCB index and pick list shared by ducb, ucb and swucb:
//   index_i = mean_i + B * sqrt(2 ln N / n_i),  N = sum of the arms' n_i,
// unplayed arms (n_i == 0) first. ln N is clamped at 0, so with less than one
// (discounted) observation in total the index is the mean.
// Snapshot weights come from a list of `pick_list` picks: each pick is the
// arm with the highest index, then added as a virtual pull (n_i and N grow by
// one, the mean stays; an unplayed arm takes the best played mean) before the
// next pick; an arm's weight is its share of the list. Ties go to the arm seen
// first. Pure functions, thread-safe.

#include <span>

#include "core/arm_stats.hpp"

namespace pytheas {

/// The index of one arm (+infinity when unplayed).
double ucb_index(double mean, double count, double total_count, double exploration);

/// Fills weights (pick-list shares) and ranks (the index) for `stats`.
void ucb_pick_list(std::span<const ArmView> stats, double exploration, int pick_list,
                   std::span<double> weights, std::span<double> ranks);

}  // namespace pytheas
