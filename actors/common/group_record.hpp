#pragma once
// GroupRecord: a group's state as it travels: to and from disk
// (actors/storage/state_store.hpp), into the passivated store, in a regroup from
// parent to child and between cluster members. Its own header so that the
// message types (actors/common/messages.hpp) can carry it without including the
// store that writes it.

#include <cstdint>
#include <string>

#include "core/report_marks.hpp"

namespace pytheas {

struct GroupRecord {
  std::string key;
  std::uint64_t decisions = 0;
  std::uint64_t reports = 0;
  double last_activity = 0;  ///< unix seconds of the last decide/report (for people, ordering)
  std::string policy_state;  ///< Policy::serialize(written_at) output
  /// Highest write-ahead log sequence whose report this state includes
  /// (actors/storage/report_log.hpp); 0 without a log.
  std::uint64_t wal_seq = 0;
  /// Cluster members: the highest stamp of each origin's reports this state
  /// includes (core/report_marks.hpp); empty on an all-in-one node.
  ReportMarks marks;
  /// The marks as of the last time this state's home confirmed it durable to
  /// the origins: when two copies of a group meet, the one with the higher
  /// floor is the newer line of the group's history.
  ReportMarks floor;
  /// The member that set the floor (the home that confirmed it); empty: none.
  /// A new home confirms only once that member has given the group up.
  std::string confirmer;
  /// When policy_state was written, on this process's monotonic clock
  /// (clock.hpp): the state's times are ages relative to it. An instant of
  /// this process only: between members it travels as an age (the
  /// inspector in messages.hpp), to disk with the downtime rule
  /// (state_store.hpp), so a record keeps its meaning whatever the clocks.
  double written_at = 0;
};

}  // namespace pytheas
