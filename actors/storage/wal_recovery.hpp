#pragma once
// WAL recovery: what a node does with its write-ahead log at start-up, before
// it serves. Reads the log's segments and the persisted group states, keeps
// the logged reports that no persisted state includes (seq > the group's
// GroupRecord::wal_seq) and that the current grouping can still produce, and
// opens a fresh log whose sequence numbers continue above everything seen.
// The caller replays `replay` through the new log (which re-logs each report
// under a new sequence), calls log->sync(), then log->drop_recovered_segments().
// CAF-free; not thread-safe (start-up only).

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "actors/storage/report_log.hpp"
#include "config/label_config.hpp"

namespace pytheas {

struct WalRecovery {
  std::unique_ptr<ReportLog> log;
  std::vector<LoggedReport> replay;  ///< in log order
  std::size_t logged = 0;            ///< intact records found in the old segments
  std::size_t already_persisted = 0;
  std::size_t ungroupable = 0;  ///< groups the current grouping cannot produce
};

/// Log directory: <state_dir>/wal. Problems in the old segments (torn tails)
/// are logged and skipped. Throws std::runtime_error if the log cannot be opened.
/// `stamp_epoch` (cluster members, non-zero): the new log stamps reports with
/// it, and every logged report is replayed whatever the persisted state says
/// (a member's state files do not tell which reports their groups' owners
/// hold; the owners' report marks skip what they have).
WalRecovery recover_report_log(const std::string& state_dir, WalSync sync, int batch_interval_ms,
                               const LabelConfig& config, std::uint64_t stamp_epoch = 0);

}  // namespace pytheas
