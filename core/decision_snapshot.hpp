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
// Memory: the arm names live in an ArmNames list shared with the policy that
// took the snapshot; the per-arm values and the policy name live in one block.
// Thread-safety: all const methods are safe to call concurrently.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/arm_names.hpp"
#include "core/rng.hpp"

namespace pytheas {

/// A request's candidate decisions (non-empty, no duplicates).
using Candidates = std::span<const std::string_view>;

/// One arm as given to the convenience constructor.
struct ArmSnapshot {
  std::string name;
  double weight = 0;  ///< pick probability when all known arms are candidates
  double rank = 0;    ///< higher is preferred when no weight applies
  double mean = 0;    ///< (discounted) mean score, in the caller's score units
  double count = 0;   ///< (discounted) number of observations
};

/// An arm's values in a snapshot (same meaning as ArmSnapshot's).
struct ArmValues {
  double weight = 0;
  double rank = 0;
  double mean = 0;
  double count = 0;
};

/// One arm of a snapshot, as read back: a view valid while the snapshot lives.
struct SnapshotArm {
  std::string_view name;
  double weight = 0;
  double rank = 0;
  double mean = 0;
  double count = 0;
};

struct PickResult {
  std::size_t index = 0;  ///< index into the request's candidates
  double propensity = 1;  ///< probability this pick had, in (0, 1]
};

/// Stable 64-bit hash of a decision name (FNV-1a); the same in every process.
std::uint64_t hash_decision(std::string_view name);

class DecisionSnapshot {
 public:
  static constexpr double kExploreUnseen = -1;

  /// `unseen_weight` < 0 (the default) applies rule 1; >= 0 gives unseen
  /// candidates that weight in rule 2 instead. A non-finite or negative
  /// weight counts as 0, a NaN rank as -infinity. Throws InvalidInput on an
  /// empty or duplicated arm name.
  DecisionSnapshot(std::string_view policy, std::span<const ArmSnapshot> arms, double taken_at,
                   std::uint64_t version, double unseen_weight = kExploreUnseen);
  DecisionSnapshot(std::string_view policy, const std::vector<ArmSnapshot>& arms, double taken_at,
                   std::uint64_t version, double unseen_weight = kExploreUnseen)
      : DecisionSnapshot(policy, std::span<const ArmSnapshot>(arms), taken_at, version,
                         unseen_weight) {}
  DecisionSnapshot(std::string_view policy, std::initializer_list<ArmSnapshot> arms,
                   double taken_at, std::uint64_t version, double unseen_weight = kExploreUnseen)
      : DecisionSnapshot(policy, std::span<const ArmSnapshot>(arms.begin(), arms.size()), taken_at,
                         version, unseen_weight) {}

  /// What policies use: `names` shared (not copied), values[i] for names[i].
  /// Throws InvalidInput when the sizes differ or names is null.
  DecisionSnapshot(std::string_view policy, ArmNames::Ptr names, std::span<const ArmValues> values,
                   double taken_at, std::uint64_t version, double unseen_weight = kExploreUnseen);

  /// Picks among `candidates` by the rules above. Throws InvalidInput when
  /// candidates is empty or holds a duplicate.
  PickResult pick(Candidates candidates, Rng& rng) const;

  /// Uniform pick with propensity 1/size: the documented fallback for a group
  /// that has no snapshot yet. Throws InvalidInput like pick().
  static PickResult uniform_pick(Candidates candidates, Rng& rng);

  /// The arms, in the policy's order: size(), empty(), [i], at(i), iteration.
  class Arms {
   public:
    class iterator {
     public:
      using value_type = SnapshotArm;
      using difference_type = std::ptrdiff_t;
      iterator() = default;
      iterator(const DecisionSnapshot* snapshot, std::size_t i) : snapshot_(snapshot), i_(i) {}
      SnapshotArm operator*() const { return snapshot_->arm(i_); }
      iterator& operator++() {
        ++i_;
        return *this;
      }
      iterator operator++(int) {
        auto old = *this;
        ++i_;
        return old;
      }
      bool operator==(const iterator& other) const { return i_ == other.i_; }

     private:
      const DecisionSnapshot* snapshot_ = nullptr;
      std::size_t i_ = 0;
    };
    explicit Arms(const DecisionSnapshot& snapshot) : snapshot_(snapshot) {}
    std::size_t size() const { return snapshot_.names_->size(); }
    bool empty() const { return size() == 0; }
    SnapshotArm operator[](std::size_t i) const { return snapshot_.arm(i); }
    /// Throws std::out_of_range beyond size().
    SnapshotArm at(std::size_t i) const;
    iterator begin() const { return {&snapshot_, 0}; }
    iterator end() const { return {&snapshot_, size()}; }

   private:
    const DecisionSnapshot& snapshot_;
  };

  Arms arms() const { return Arms(*this); }
  SnapshotArm arm(std::size_t i) const {
    const ArmValues& v = block_[i];
    return {(*names_)[i], v.weight, v.rank, v.mean, v.count};
  }
  const ArmNames::Ptr& names() const { return names_; }

  std::string_view policy() const;
  double taken_at() const { return taken_at_; }       ///< policy time (s) of the snapshot
  std::uint64_t version() const { return version_; }  ///< increases with every snapshot
  double unseen_weight() const { return unseen_weight_; }

 private:
  void init(std::string_view policy, std::span<const ArmValues> values);
  PickResult pick_large(Candidates candidates, Rng& rng) const;
  /// Rules 2 and 3 over `n` matched candidates: arm_of[i] is candidate i's
  /// arm (or ArmNames::kNotFound), cumulative[i] the sum of the rule-2
  /// weights of candidates 0..i.
  PickResult pick_by_weight_or_rank(const std::int32_t* arm_of, const double* cumulative,
                                    std::size_t n, Rng& rng) const;

  ArmNames::Ptr names_;
  // One block: ArmValues for each arm, then the policy's name (its bytes
  // stored in as many further ArmValues as they need) unless it is one of
  // the built-in kinds, which the snapshot refers to by number.
  std::unique_ptr<ArmValues[]> block_;
  std::uint32_t policy_size_ = 0;
  std::uint8_t known_policy_ = 0;  // 1 + index into the built-in kinds; 0: in block_
  double taken_at_;
  std::uint64_t version_;
  double unseen_weight_;
};

using SnapshotPtr = std::shared_ptr<const DecisionSnapshot>;

}  // namespace pytheas
