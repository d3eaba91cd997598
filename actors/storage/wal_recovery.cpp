#include "actors/storage/wal_recovery.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

#include "actors/storage/state_store.hpp"

namespace pytheas {

WalRecovery recover_report_log(const std::string& state_dir, WalSync sync, int batch_interval_ms,
                               const LabelConfig& config, std::uint64_t stamp_epoch) {
  const auto dir = std::filesystem::path(state_dir) / "wal";
  auto old = ReportLog::read_segments(dir);
  for (const auto& problem : old.problems) spdlog::warn("write-ahead log: {}", problem);

  // Persisted sequences per group; their maximum also bounds the numbers in
  // use when a clean stop left no segment behind.
  std::unordered_map<std::string, std::uint64_t> persisted;
  std::uint64_t max_seq = old.max_seq;
  std::vector<std::string> corrupt;
  for (auto& entry : StateStore(state_dir).list(&corrupt)) {
    max_seq = std::max(max_seq, entry.wal_seq);
    persisted.emplace(std::move(entry.key), entry.wal_seq);
  }

  WalRecovery out;
  out.logged = old.reports.size();
  for (auto& report : old.reports) {
    auto it = persisted.find(report.group);
    if (stamp_epoch == 0 && it != persisted.end() && report.seq <= it->second) {
      ++out.already_persisted;
    } else if (!config.can_produce(report.group)) {
      ++out.ungroupable;
    } else {
      out.replay.push_back(std::move(report));
    }
  }
  ReportLogOptions options;
  options.dir = dir;
  options.sync = sync;
  options.batch_interval = std::chrono::milliseconds(std::max(1, batch_interval_ms));
  options.stamp_epoch = stamp_epoch;
  out.log = std::make_unique<ReportLog>(std::move(options), max_seq + 1);
  return out;
}

}  // namespace pytheas
