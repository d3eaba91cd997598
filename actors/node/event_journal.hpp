#pragma once
// EventJournal: issues event ids and accepts each one's report once. An id is
// a signed token that carries its decision (core/event_token.hpp), so
// nothing is stored per outstanding decision: a report is accepted for the
// whole `window_s` whatever the decide rate, by any node holding the key.
// What is stored is the claimed ids' tags (a 64-bit signature each, ~16-21 B
// in an open-addressing set), kept in generations by issue time until their
// window ends, so a second report of an id is told apart (duplicate). Beyond
// `capacity` claimed ids the oldest generation is forgotten early, and
// reports for decisions of that age are then refused as unknown (counted in
// evicted()): a duplicate is never accepted.
// Time: an id carries its decision's wall-clock and monotonic time. An id
// this journal issued is aged on the monotonic clock, so a step of the wall
// clock neither expires open ids nor keeps them longer; an id from another
// member (or an earlier process) can only be aged by the wall clocks, which
// assumes the members' clocks agree to well within the window.
// Thread-safety: all methods are safe from any thread (sharded mutexes; an
// id is issued without a lock).

#include <atomic>
#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "actors/group/open_addressing.hpp"
#include "core/event_token.hpp"

namespace pytheas {

class EventJournal {
 public:
  enum class Claim { ok, unknown, duplicate };

  struct Event {
    std::string group;
    std::string decision;
    /// Only for decisions sampled for the learner (empty otherwise).
    std::vector<std::string> features;
  };

  /// `key` signs and checks ids: random per node, or the cluster's (so any
  /// member accepts a report for another member's decision).
  EventJournal(std::size_t capacity, double window_s, SipKey key);

  /// Now, on both clocks (seconds).
  struct Time {
    double wall = 0;
    double monotonic = 0;
  };

  /// The id of a decision made at `now`; `features` are carried in it for
  /// the learner when the decision is sampled.
  std::string record(std::string_view group, std::string_view decision, Time now,
                     FeatureView features = {});

  /// Claims an event for a report at `now`: ok (and fills `event`) the first
  /// time within the window; duplicate after that; unknown if malformed,
  /// not signed with this key (forged), expired, or forgotten early.
  Claim claim(std::string_view event_id, Time now, Event& event);

  /// Reports refused because their claims had to be forgotten early.
  std::uint64_t evicted() const { return evicted_.load(std::memory_order_relaxed); }
  /// Ids refused as not signed with this key (altered, or another cluster's).
  std::uint64_t forged() const { return forged_.load(std::memory_order_relaxed); }
  /// Claimed ids remembered.
  std::size_t size() const;
  /// Bytes the remembered claims take (their sets' slots).
  std::size_t memory_bytes() const;

 private:
  /// Claimed tags in the project's open-addressing index: 8 B a bucket, at
  /// most 3/4 full. A bucket whose hash is 0 is empty, so tag 0 is stored as 1.
  struct TagBucket {
    std::uint64_t hash = 0;
  };
  struct TagTraits {
    static std::size_t home(std::uint64_t tag) { return static_cast<std::size_t>(tag); }
    static constexpr std::size_t kInitial = 64;
  };
  using TagSet = OpenAddressing<TagBucket, TagTraits>;
  /// The claims of ids issued within one span of time.
  struct Generation {
    std::int64_t epoch = 0;  ///< issued (on this process's monotonic clock) / span, rounded down
    TagSet tags;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::deque<Generation> generations;  ///< by epoch, oldest first
    std::size_t size = 0;
    /// Ids issued before this (monotonic) were forgotten early: their reports are refused.
    double forgotten_before = -std::numeric_limits<double>::infinity();
  };
  static constexpr std::size_t kShards = 16;
  static constexpr int kGenerationsPerWindow = 16;

  void expire(Shard& shard, double now);

  const EventTokenCodec codec_;
  const std::size_t per_shard_capacity_;
  const double window_s_;
  const double span_s_;
  const std::uint32_t issuer_;  ///< random: which ids this journal issued
  std::atomic<std::uint64_t> nonce_;
  std::atomic<std::uint64_t> evicted_{0};
  std::atomic<std::uint64_t> forged_{0};
  Shard shards_[kShards];
};

}  // namespace pytheas
