#pragma once
// DecisionLogCounters: what a node's decision log has done so far, for
// /metrics (through NodeStats). A plain value.

#include <cstdint>

namespace pytheas::evaluation {

struct DecisionLogCounters {
  std::uint64_t decisions = 0;          ///< decision records written
  std::uint64_t reports = 0;            ///< report records written
  std::uint64_t inferred_joins = 0;     ///< reports by features joined to a decision
  std::uint64_t unmatched_reports = 0;  ///< reports by features with no decision to join
  std::uint64_t dropped = 0;            ///< records lost: queue full, write error, after close
  std::uint64_t files_deleted = 0;      ///< closed files deleted by the disk cap
  std::uint64_t bytes = 0;              ///< size of the log files on disk
};

}  // namespace pytheas::evaluation
