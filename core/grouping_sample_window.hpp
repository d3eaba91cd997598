#pragma once
// GroupingSampleWindow: the last `capacity` grouping samples (a ring), the
// bounded input of periodic regrouping. When full, each add() replaces the
// oldest sample. Not thread-safe: one owner (e.g. the backend's grouping
// actor) adds and learns.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/grouping_sample.hpp"

namespace pytheas {

class GroupingSampleWindow {
 public:
  /// Throws InvalidInput when `capacity` is 0.
  explicit GroupingSampleWindow(std::size_t capacity);

  /// Adds a sample, evicting the oldest one when the window is full.
  void add(GroupingSample sample);

  /// The samples held, in no particular order (the learner does not care);
  /// valid until the next add() or clear().
  std::span<const GroupingSample> samples() const { return samples_; }

  std::size_t size() const { return samples_.size(); }
  std::size_t capacity() const { return capacity_; }
  /// Samples ever added (evicted ones included).
  std::uint64_t total_added() const { return total_added_; }

  void clear();

 private:
  std::size_t capacity_;
  std::size_t next_ = 0;  // slot the next add() overwrites once full
  std::uint64_t total_added_ = 0;
  std::vector<GroupingSample> samples_;
};

}  // namespace pytheas
