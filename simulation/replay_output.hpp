#pragma once
// The result files of `pytheas replay`, in its --out directory:
//   replay.csv       one row per wall second since the start:
//                    second,sent,succeeded,failed,p50_ms,p90_ms,p99_ms,max_ms,
//                    avg_cost,reports_sent,reports_ok,reports_failed
//                    (latencies of the decides answered that second; empty
//                    when none was; avg_cost of the sessions decided that second)
//   latency_cdf.csv  latency_ms,fraction: the CDF of successful decide latency
//   summary.txt      key=value lines (the totals; what scripts parse)
// and the one-line summary `replay` prints.

#include <string>

#include "simulation/replay.hpp"
#include "simulation/replay_stats.hpp"

namespace pytheas::sim {

/// key=value lines: sessions, decide_ok, decide_failed, reports_sent,
/// reports_ok, reports_failed, elapsed_s, sending_s, answering_s, rps_sent,
/// rps_ok (decide_ok over answering_s),
/// p50_ms, p90_ms, p99_ms, max_ms, mean_cost, abandoned, and one
/// decide_failed.REASON / report_failed.REASON per failure reason.
std::string format_replay_keys(const ReplayStats& stats, const ReplayResult& result);

/// One line for humans, e.g. "replay: 3000 sessions in 5.0 s (600/s) ...".
std::string format_replay_summary(const ReplayStats& stats, const ReplayResult& result);

/// Creates `dir` if needed and writes the files above. Throws
/// std::runtime_error naming the file that could not be written.
void write_replay_outputs(const std::string& dir, const ReplayStats& stats,
                          const ReplayResult& result);

}  // namespace pytheas::sim
