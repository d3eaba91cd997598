#pragma once
// RecentDecisions: the decision log writer's memory of recent decisions, so a
// report record can say how long after its decision it came (delay) and a
// report that names no event id (the legacy `update`, a JSON report by
// features) can be joined to its decision:
//   claim_event(id)     the decision with that event id;
//   claim_latest(key)   the latest *unreported* decision whose join key
//                       (features and chosen decision, see join_key()) is
//                       `key`; a decision is claimed at most once.
// Only decisions inside the event window are found; beyond `capacity`
// entries the oldest are forgotten (their reports then carry no delay, and a
// report by features for them is logged as unmatched). Memory: about 150
// bytes per entry.
// Not thread-safe: the writer thread owns it.

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

namespace pytheas::evaluation {

/// The key a report by features is joined on: a 64-bit hash of the feature
/// values and the decision (length-prefixed, so no two lists collide by
/// concatenation).
std::uint64_t join_key(std::span<const std::string_view> features, std::string_view decision);

class RecentDecisions {
 public:
  RecentDecisions(double window_s, std::size_t capacity);

  /// Remembers a decision made at `time` (seconds).
  void add(double time, std::string event_id, std::uint64_t key);

  /// The decision time of `event_id`, if remembered and inside the window at
  /// `now`; marks it reported.
  std::optional<double> claim_event(std::string_view event_id, double now);

  struct Claimed {
    std::string event_id;
    double time = 0;
  };
  /// The latest unreported decision with join key `key` inside the window at
  /// `now`; marks it reported.
  std::optional<Claimed> claim_latest(std::uint64_t key, double now);

  std::size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    double time = 0;
    std::string event_id;
    std::uint64_t key = 0;
    bool reported = false;
  };

  void expire(double now);
  Entry* at(std::uint64_t sequence);

  const double window_s_;
  const std::size_t capacity_;
  std::deque<Entry> entries_;  ///< sequence first_ .. first_ + size - 1, oldest first
  std::uint64_t first_ = 0;
  std::unordered_map<std::uint64_t, std::uint64_t> by_event_;            ///< id hash -> sequence
  std::unordered_map<std::uint64_t, std::deque<std::uint64_t>> by_key_;  ///< key -> sequences
};

}  // namespace pytheas::evaluation
