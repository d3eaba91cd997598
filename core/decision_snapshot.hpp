#pragma once
// DecisionSnapshot: an immutable picture of one group's policy, taken after a
// batch of updates, from which any number of threads pick decisions without
// locks or messages. Each known arm carries the probability the policy gives it
// when every known arm is a candidate (`weight`), a tie-break `rank` used when
// no weighted arm is among a request's candidates, and its statistics for
// inspection (discounted mean and count).
//
// Pick rules, in order (documented in docs/POLICIES.md):
//   1. candidates the policy has never seen are explored first: uniform among
//      them, propensity 1/#unseen;
//   2. otherwise sample a candidate with probability weight / (sum of the
//      candidates' weights);
//   3. if those weights sum to 0, take the candidate with the highest rank
//      (propensity 1; ties go to the earliest candidate).
// Baselines that must not explore (random, fixed) replace rule 1 by giving
// unseen candidates a fixed `unseen_weight` (>= 0) and rank -infinity.
// Thread-safety: all const methods are safe to call concurrently.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/rng.hpp"

namespace pytheas {

/// A request's candidate decisions (non-empty, no duplicates).
using Candidates = std::span<const std::string_view>;

struct ArmSnapshot {
  std::string name;
  std::uint64_t hash = 0;  ///< hash_decision(name), for fast candidate matching
  double weight = 0;       ///< pick probability when all known arms are candidates
  double rank = 0;         ///< higher is preferred when no weight applies
  double mean = 0;         ///< (discounted) mean score, in the caller's score units
  double count = 0;        ///< (discounted) number of observations
};

struct PickResult {
  std::size_t index = 0;  ///< index into the request's candidates
  double propensity = 1;  ///< probability this pick had, in (0, 1]
};

namespace detail {
/// A decision name's length and first and last 8 bytes: the snapshot's fast
/// matching key (decision_snapshot.cpp).
/// Trivially constructible on purpose: pick() keeps an uninitialized stack
/// array of them.
struct NameKey {
  std::uint64_t head;
  std::uint64_t tail;
  std::uint64_t size;
  bool operator==(const NameKey&) const = default;
};
}  // namespace detail

/// Stable 64-bit hash of a decision name (FNV-1a); the same in every process.
std::uint64_t hash_decision(std::string_view name);

class DecisionSnapshot {
 public:
  /// `unseen_weight` < 0 (the default) applies rule 1; >= 0 gives unseen
  /// candidates that weight in rule 2 instead. Arm hashes are (re)computed
  /// from the names; a non-finite or negative weight counts as 0, a NaN rank
  /// as -infinity. Throws InvalidInput on an empty or duplicated arm name.
  DecisionSnapshot(std::string policy, std::vector<ArmSnapshot> arms, double taken_at,
                   std::uint64_t version, double unseen_weight = kExploreUnseen);

  static constexpr double kExploreUnseen = -1;

  /// Picks among `candidates` by the rules above. Throws InvalidInput when
  /// candidates is empty or holds a duplicate.
  PickResult pick(Candidates candidates, Rng& rng) const;

  /// Uniform pick with propensity 1/size: the documented fallback for a group
  /// that has no snapshot yet. Throws InvalidInput like pick().
  static PickResult uniform_pick(Candidates candidates, Rng& rng);

  const std::string& policy() const { return policy_; }
  const std::vector<ArmSnapshot>& arms() const { return arms_; }
  double taken_at() const { return taken_at_; }       ///< policy time (s) of the snapshot
  std::uint64_t version() const { return version_; }  ///< increases with every snapshot
  double unseen_weight() const { return unseen_weight_; }

 private:
  static constexpr std::int32_t kUnseen = -1;
  /// Index of the arm named `name` (with key `key`), or kUnseen. The scan
  /// starts at arm `hint` and wraps around: requests usually list candidates
  /// in the order the arms were first seen, so hint = previous match + 1
  /// usually hits first time.
  std::int32_t find_arm(const detail::NameKey& key, std::string_view name, std::size_t hint) const;

  std::string policy_;
  std::vector<ArmSnapshot> arms_;
  double taken_at_;
  std::uint64_t version_;
  double unseen_weight_;
  // Hot-path copies of the arms' fields, contiguous for cache-friendly scans.
  // Candidates are matched by NameKey (O(1) per name, unlike a full hash;
  // exact for names up to 16 bytes), longer names confirmed by comparison.
  std::vector<detail::NameKey> keys_;
  std::vector<double> weights_;
  std::vector<double> ranks_;
  // (fingerprint, arm index) sorted, used instead of a scan for many arms.
  std::vector<std::pair<std::uint64_t, std::int32_t>> sorted_prints_;
};

using SnapshotPtr = std::shared_ptr<const DecisionSnapshot>;

}  // namespace pytheas
