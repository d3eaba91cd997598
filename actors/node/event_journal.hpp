#pragma once
// EventJournal: remembers which decision each event id stands for, so that a
// later report {event_id, score} can be joined to its group and decision.
// Memory is bounded twice: entries expire after `window_s`, and beyond
// `capacity` the oldest entries are evicted early (counted in evicted()). A
// reported event stays as a tombstone until it expires, so a second report is
// told apart (duplicate) from an unknown one.
//
// Event ids are 16 lower-case hex digits: a random per-process prefix plus a
// sequence number, so ids from before a restart are not mistaken for new ones.
// Thread-safety: all methods are safe from any thread (sharded mutexes).

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pytheas {

class EventJournal {
 public:
  enum class Claim { ok, unknown, duplicate };

  struct Event {
    std::string group;
    std::string decision;
    /// Only for decisions sampled for a cluster's backend (empty otherwise,
    /// so unsampled entries pay nothing but an empty vector).
    std::vector<std::string> features;
  };

  EventJournal(std::size_t capacity, double window_s);

  /// Remembers a decision made at `now` (seconds); returns its event id.
  std::string record(std::string_view group, std::string_view decision, double now,
                     std::vector<std::string> features = {});

  /// Claims an event for a report at `now`: ok (and fills `event`) the first
  /// time within the window; duplicate after that; unknown if never issued,
  /// malformed, evicted or expired.
  Claim claim(std::string_view event_id, double now, Event& event);

  std::uint64_t evicted() const { return evicted_.load(std::memory_order_relaxed); }
  std::size_t size() const;

 private:
  struct Entry {
    Event event;
    double expires = 0;
    bool reported = false;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::uint64_t, Entry> entries;
    std::deque<std::uint64_t> order;  ///< insertion order, for expiry and eviction
  };
  static constexpr std::size_t kShards = 16;

  void trim(Shard& shard, double now);

  const std::size_t per_shard_capacity_;
  const double window_s_;
  const std::uint64_t prefix_;
  std::atomic<std::uint64_t> sequence_{0};
  std::atomic<std::uint64_t> evicted_{0};
  Shard shards_[kShards];
};

}  // namespace pytheas
