#pragma once
// run_replay: plays a trace's sessions against live nodes, as the original
// trace player drove its frontends, and measures them end to end.
//
// Per session, at its due time (trace time / speed, or i / rps): a decide
// goes to node i mod #nodes (round robin over the targets); with the
// decision (or, when the decide failed or timed out, the fallback decision:
// the session's first DecisionMap candidate, counted as a failure), the
// session's cost is DecisionMap cost x LoadMap factor of the decision's share
// of this trace minute's sessions (the sessions decided so far in the minute,
// this one included, over the minute's total: the simulator's and the
// original player's model, via TraceSession::load_factor); `report_delay`
// after a successful decide its report goes to the same node.
//
// Everything runs on one io_context on the calling thread: the pacing timer,
// one report timer over a FIFO of due reports (the delay is constant), the
// connection pools and the progress timer. Bounded: the trace is read one
// minute at a time, the client queue per node is capped, every request has a
// deadline, and the run ends at most report_delay + 2 x timeout + 1 s after
// the last decide was sent (whatever is still outstanding then is counted as a
// failure, "abandoned").
// Not thread-safe: one replay per thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/features.hpp"
#include "core/grouping.hpp"
#include "core/trace_source.hpp"
#include "simulation/replay_protocol.hpp"
#include "simulation/replay_stats.hpp"
#include "simulation/replay_target.hpp"

namespace pytheas::sim {

struct ReplayOptions {
  std::vector<std::string> urls;
  ReplayProtocolKind protocol = ReplayProtocolKind::json;
  double speed = 1;       ///< trace seconds per wall second (used when rps == 0)
  double rps = 0;         ///< > 0: sessions per second, ignoring trace times
  double duration_s = 0;  ///< > 0: stop sending after this many wall seconds
  double report_delay_s = 2;
  std::chrono::milliseconds timeout{3000};
  std::size_t connections = 32;    ///< per URL
  std::size_t max_queue = 100000;  ///< per URL; beyond: the request fails "queue_full"
  bool allow_remote = false;       ///< else only loopback targets are accepted
  /// Client-side failover, as a load balancer or a multi-URL player would do:
  /// a request that fails at the transport level (refused, reset, timeout)
  /// marks its URL down for `failover_hold_s` and is retried once on the next
  /// URL; while down, a URL gets no new sessions and no reports.
  bool failover = false;
  double failover_hold_s = 2;
  FeatureSchema schema = FeatureSchema::original();
  /// Count reports per group of this grouping (accepted, in doubt, refused)
  /// in ReplayStats::groups (and groups.csv): lets a test compare what the
  /// nodes applied with what they accepted. Null: not counted.
  std::shared_ptr<const Grouping> count_by;

  /// Throws InvalidInput naming the first bad value: no URL, a malformed
  /// URL, speed/rps/delay/timeout out of range, a non-loopback target
  /// without allow_remote.
  void validate() const;
};

/// Progress, handed to the progress callback about 4 times a second.
struct ReplayProgress {
  double elapsed_s = 0;
  std::uint64_t sent = 0;
  std::uint64_t decide_ok = 0;
  std::uint64_t decide_failed = 0;
  std::uint64_t reports_ok = 0;
  double trace_position_s = 0;  ///< trace time of the last session sent, from the first
};

struct ReplayResult {
  double elapsed_s = 0;         ///< wall time of the whole run
  double sending_s = 0;         ///< wall time from the start to the last decide sent
  double answering_s = 0;       ///< wall time from the start to the last decide settled
  std::uint64_t abandoned = 0;  ///< requests still outstanding at the hard stop
  std::uint64_t failovers = 0;  ///< requests retried on another URL (with failover)
  std::vector<std::size_t> connections_opened;  ///< per URL
  /// Per URL: requests sent again on a new connection because the node had
  /// closed their idle keep-alive one (ReplayHttpPool::retries).
  std::vector<std::size_t> idle_retries;
};

/// Plays `source` against options.urls, recording into `stats`. Names are
/// resolved once at the start (a name that does not resolve throws
/// InvalidInput; a non-loopback address without allow_remote too). Throws
/// what the source throws on a bad trace.
ReplayResult run_replay(TraceSource& source, const ReplayOptions& options, ReplayStats& stats,
                        const std::function<void(const ReplayProgress&)>& progress = {});

}  // namespace pytheas::sim
