#pragma once
// OwnerAssignment: the backend's choice of which frontend cluster owns each
// group. Pytheas gives a group to the frontend cluster that sees most of its
// sessions, so most reports are applied where they arrive and only the rest
// cross the network. Counts of sampled sessions per (group, cluster) decay by
// half at every regroup, so the assignment follows shifts in traffic; an
// owner keeps its group unless another cluster has clearly more of it
// (`switch_margin`) by a lead that counting noise does not explain (three
// standard deviations of the two counts' total), so noise in the samples
// does not move groups (and their learned state) back and forth.
// Not thread-safe: the backend's federation actor owns it.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>

namespace pytheas {

class OwnerAssignment {
 public:
  /// `switch_margin`: a challenger needs more than owner_count x margin.
  explicit OwnerAssignment(double switch_margin = 1.25);

  /// One sampled session of `group` seen by frontend cluster `cluster`.
  void add(const std::string& group, const std::string& cluster, double weight = 1);

  /// Recomputes owners from the counts, then halves the counts. Returns
  /// whether any owner changed (the caller then bumps the table version).
  /// Groups without samples keep their owner.
  bool regroup();

  /// Replaces the owners (e.g. a table adopted from a frontend after the
  /// backend restarted without state). Counts are kept.
  void set_owners(std::map<std::string, std::string> owners);

  const std::map<std::string, std::string>& owners() const { return owners_; }

  /// Operator pins: the cluster a group must belong to (null: not pinned).
  /// A pinned group is assigned when first sampled and never moves.
  using PinFn = std::function<const std::string*(const std::string& group)>;
  void set_pins(PinFn pin) { pin_ = std::move(pin); }

 private:
  double switch_margin_;
  PinFn pin_;
  std::unordered_map<std::string, std::map<std::string, double>> counts_;
  std::map<std::string, std::string> owners_;
  static constexpr double kNoiseDeviations = 3;
};

}  // namespace pytheas
