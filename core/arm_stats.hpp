#pragma once
// ArmStats: what a policy remembers about one decision (arm): 24 bytes. The
// arm's name is not here: a policy keeps its arms' names in one ArmNames list
// (core/arm_names.hpp), in the same order, shared with its snapshots.
//
// `sum` and `count` are discounted sums held in a scaled frame: the stored
// values are the true ones multiplied by 2^(exponent(t) - reference), so an
// update adds one scaled term instead of decaying every arm (see
// ArmPolicy). A plain value type; not thread-safe.

namespace pytheas {

struct ArmStats {
  double sum = 0;        ///< scaled discounted sum of scores
  double count = 0;      ///< scaled discounted number of observations
  double last_seen = 0;  ///< policy time of the latest observation (s)
};

}  // namespace pytheas

namespace pytheas {

/// An arm's statistics as of a snapshot, in the caller's score units.
/// `count` == 0 means the arm is unplayed (in the window, or decayed to 0).
struct ArmView {
  double mean = 0;
  double count = 0;
};

}  // namespace pytheas
