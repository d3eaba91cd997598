#pragma once
// GroupingShared: the grouping a node's io threads key sessions by when it is
// not simply the label config's: the rules this node learned (all-in-one and
// role `all` nodes: actors/learning/grouping_actor.hpp), or the rules a cluster's
// backend learned and pushed (actors/federation/federation_ownership.cpp). Plus the
// status GET /v1/grouping shows.
// Thread-safety: every field is atomic or an immutable value behind a
// SnapshotCell; one writer (the grouping or federation actor), many readers.

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/common/snapshot_cell.hpp"
#include "core/grouping.hpp"

namespace pytheas {

/// What GET /v1/grouping shows, on every node.
struct GroupingStatus {
  std::string mode;  ///< "learned" (rules learned here or pushed), or "labels" (fixed)
  std::string by;    ///< the starting grouping (the label config's), described
  std::uint64_t table_version = 0;   ///< cluster members: the group table's version
  std::size_t samples = 0;           ///< in the learner's window (where it learns)
  std::uint64_t regroups = 0;        ///< regroups that changed the rules so far
  std::uint64_t merges_refused = 0;  ///< learns refused: they merged groups that differ
  std::string rules;                 ///< format_rules() text; empty when fixed
  std::vector<std::string> split_features;
  double learned_at = 0;                      ///< unix seconds of the last learn (0: none yet)
  double learn_seconds = 0;                   ///< how long it took
  std::map<std::string, std::string> owners;  ///< group -> frontend cluster (clusters)
  std::map<std::string, std::size_t> sizes;   ///< group -> samples at the last learn
};

struct GroupingShared {
  /// Learned rules in force; null: the label config's grouping.
  SnapshotCell<Grouping> grouping;
  std::atomic<std::uint64_t> grouping_version{0};
  SnapshotCell<GroupingStatus> status;
  /// Cluster members: the group table's version (the federation's, kept
  /// apart from `status`, which the learner writes).
  std::atomic<std::uint64_t> table_version{0};

  void install(std::shared_ptr<const Grouping> next) {
    grouping.store(std::move(next));
    grouping_version.fetch_add(1, std::memory_order_release);
  }
};

}  // namespace pytheas
