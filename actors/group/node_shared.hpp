#pragma once
// NodeShared: the few counters and helpers that the node facade (io threads),
// the supervisor and the group actors all touch. Every field is atomic or
// immutable, so any thread may use it. Owned by a shared_ptr held by the node
// and by every actor, so it outlives whichever stops last.

#include <atomic>
#include <cstdint>
#include <string>

#include "actors/common/clock.hpp"
#include "actors/common/snapshot_cell.hpp"
#include "actors/group/group_table.hpp"
#include "actors/group/report_queue.hpp"
#include "core/latency_histogram.hpp"

namespace pytheas {

struct NodeShared {
  GroupTable table;

  /// Reports accepted at ingress and not yet applied by a group actor.
  ReportQueue queue;

  std::atomic<std::uint64_t> reports_applied{0};
  std::atomic<std::uint64_t> reports_lost{0};  ///< only in a group crash; always logged
  /// Stamped reports a group already included (sent again after a move): skipped.
  std::atomic<std::uint64_t> reports_duplicate{0};
  std::atomic<std::uint64_t> passivations{0};
  std::atomic<std::uint64_t> restarts{0};
  std::atomic<std::uint64_t> spawns{0};

  // The supervisor's stall watch (supervisor.cpp, watch_stalls): /readyz
  // answers 503 while a group is stalled or the supervisor stops sweeping.
  std::atomic<std::uint64_t> stalls{0};          ///< stalls detected so far
  std::atomic<std::uint64_t> stalled_groups{0};  ///< groups stalled now
  SnapshotCell<std::string> stall_reason;        ///< the first of them, said; null if none
  std::atomic<double> supervisor_beat{0};        ///< monotonic seconds of its last sweep
  /// Set (with a critical log line) if the supervisor actor ends while the
  /// node is not stopping: every later report would be accepted and lost.
  std::atomic<bool> supervisor_down{false};

  /// Accepted-report -> visible-in-snapshot latency, per report.
  LatencyHistogram freshness;
};

}  // namespace pytheas
