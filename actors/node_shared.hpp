#pragma once
// NodeShared: the few counters and helpers that the node facade (io threads),
// the supervisor and the group actors all touch. Every field is atomic or
// immutable, so any thread may use it. Owned by a shared_ptr held by the node
// and by every actor, so it outlives whichever stops last.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "actors/group_table.hpp"
#include "core/latency_histogram.hpp"

namespace pytheas {

struct NodeShared {
  GroupTable table;

  /// Reports accepted at ingress and not yet applied by a group actor: the
  /// router's bounded queue. Ingress refuses (503) beyond `queue_capacity`.
  std::atomic<std::uint64_t> queued{0};
  std::atomic<std::uint64_t> queue_capacity{100000};

  std::atomic<std::uint64_t> reports_applied{0};
  std::atomic<std::uint64_t> reports_lost{0};  ///< only in a group crash; always logged
  /// Stamped reports a group already included (sent again after a move): skipped.
  std::atomic<std::uint64_t> reports_duplicate{0};
  std::atomic<std::uint64_t> passivations{0};
  std::atomic<std::uint64_t> restarts{0};
  std::atomic<std::uint64_t> spawns{0};

  /// Accepted-report -> visible-in-snapshot latency, per report.
  LatencyHistogram freshness;

  /// Tries to admit one report into the queue.
  bool admit() {
    if (queued.fetch_add(1, std::memory_order_relaxed) >=
        queue_capacity.load(std::memory_order_relaxed)) {
      queued.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  void release(std::uint64_t n = 1) { queued.fetch_sub(n, std::memory_order_relaxed); }
};

/// Wall-clock seconds: the time base of live policies (persisted state must
/// decay correctly across restarts, so a monotonic clock would not do).
inline double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace pytheas
