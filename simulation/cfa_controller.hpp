#pragma once
// CfaController: a prediction-based baseline in the spirit of CFA (the system
// Pytheas was compared against). Per group it keeps per-decision score sums in
// buckets of `refresh_s`; every `refresh_s` it predicts each decision's QoE as
// its mean score over the last `window_s` and from then on sends every session
// to the best predicted candidate. With probability `explore` a session gets a
// uniform candidate instead, so predictions exist for every decision (CFA
// learned from the measurements of existing traffic; without some spread of
// decisions there is nothing to learn from). Unlike the E2 policies it reacts
// only at refresh boundaries and never weighs uncertainty.
// Not thread-safe: the simulator loop owns it.

#include <cstdint>
#include <span>
#include <vector>

#include "core/rng.hpp"

namespace pytheas::sim {

struct CfaConfig {
  double refresh_s = 60;
  double window_s = 300;
  double explore = 0.1;
};

class CfaController {
 public:
  /// Throws InvalidInput when refresh_s <= 0, window_s < refresh_s or explore
  /// is outside [0, 1].
  CfaController(CfaConfig config, std::uint64_t seed);

  /// Picks one of `candidates` (decision ids) for a session of `group` at
  /// `time_s`; returns its index in `candidates`.
  std::size_t choose(std::uint32_t group, std::span<const std::uint32_t> candidates, double time_s);

  /// Records a report (score = QoE, higher is better).
  void report(std::uint32_t group, std::uint32_t decision, double score, double time_s);

 private:
  struct Bucket {
    std::int64_t epoch = -1;
    std::vector<double> sum, count;  // by decision id
  };
  struct Group {
    std::int64_t epoch = -1;         // epoch of the current predictions
    std::vector<Bucket> buckets;     // ring, epoch % size
    std::vector<double> prediction;  // by decision id; NaN: no data
  };

  Group& group(std::uint32_t id);
  void refresh(Group& group, std::int64_t epoch);
  std::int64_t epoch_of(double time_s) const;

  CfaConfig config_;
  std::size_t ring_size_;
  Rng rng_;
  std::vector<Group> groups_;
};

}  // namespace pytheas::sim
