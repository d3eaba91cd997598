#pragma once
// ReportLog: the node's optional write-ahead log of accepted reports, so that
// a kill -9 (or a power cut, with `always`) does not lose reports accepted
// since the last checkpoint of group state.
//
// Every report gets a sequence number; its group's persisted state records
// the highest sequence it includes (GroupRecord::wal_seq). Because a report is
// appended and handed to the router under one lock, each group applies its
// reports in sequence order, so "state includes seq S" means "includes every
// report of that group up to S". Recovery replays, per group, the logged
// reports above the persisted sequence.
//
// The log is a directory of segments named by their first sequence number
// (<20 digits>.wal). The open segment is rotated beyond `segment_bytes`; a
// closed segment is deleted once every group with reports in it has durable
// state covering them (covered()), so the log stays about one segment long.
//
// Segment layout (little-endian): "PYTWAL\r\n", u32 version (2), u64 first
// sequence, u32 CRC-32 of the previous 12 bytes; then records: u32 body
// length, u32 CRC-32 of the body, body = u64 seq, f64 accepted_at, f64 score,
// u64 stamp epoch, u64 stamp sequence (a cluster member's report stamp,
// core/report_marks.hpp; zeros on an all-in-one node), u32-length-prefixed
// group key, u32-length-prefixed decision. Version 1 segments (no stamp) are
// still read. A record that
// is cut short or fails its CRC ends the segment (a torn write from a kill):
// it and anything after it are ignored, with a log line.
//
// Sync policies: `always` makes append() return only once the record is on
// disk (fdatasync; concurrent appenders share one sync: group commit);
// `batch` writes from a background thread every `batch_interval` and syncs
// from another, so a kill -9 loses at most one interval of reports (what was
// not yet written) and a power cut at most an interval plus a sync.
//
// Thread-safety: append(), sync(), covered() and the accessors are safe from
// any thread; read_segments() is a pure function of the directory.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "actors/storage/wal_sync.hpp"

namespace pytheas {

struct LoggedReport {
  std::uint64_t seq = 0;
  std::string group;
  std::string decision;
  double score = 0;
  double accepted_at = 0;
  std::uint64_t stamp_epoch = 0;  ///< the report's stamp (cluster members); 0: none
  std::uint64_t stamp_seq = 0;
};

/// What a directory of segments holds, oldest first.
struct RecoveredLog {
  std::vector<LoggedReport> reports;
  std::uint64_t max_seq = 0;          ///< highest sequence seen (records or headers)
  std::size_t segments = 0;           ///< segment files read
  std::size_t ignored_bytes = 0;      ///< torn or corrupt tails skipped
  std::vector<std::string> problems;  ///< one line per skipped tail or unreadable file
};

struct ReportLogOptions {
  std::filesystem::path dir;  ///< created if missing
  WalSync sync = WalSync::batch;
  std::chrono::milliseconds batch_interval{10};
  std::size_t segment_bytes = 16u << 20;
  /// Cluster members: reports appended without a stamp get (stamp_epoch, seq).
  std::uint64_t stamp_epoch = 0;
};

class ReportLog {
 public:
  /// Reads every segment under `dir` (missing dir: empty). Never throws for
  /// bad content: it is reported in `problems` and skipped.
  static RecoveredLog read_segments(const std::filesystem::path& dir);

  /// Opens a new segment whose first sequence is `next_seq` (> every sequence
  /// already used). Segments already in the directory stay until
  /// drop_recovered_segments(). Throws std::runtime_error naming the path.
  ReportLog(ReportLogOptions options, std::uint64_t next_seq);
  /// Writes and syncs what is buffered; closes. Segments fully covered are deleted.
  ~ReportLog();
  ReportLog(const ReportLog&) = delete;
  ReportLog& operator=(const ReportLog&) = delete;

  /// Appends one report and calls `route(seq)` while holding the log's lock,
  /// so routing order equals sequence order. With `always`, returns once the
  /// record is durable (unless `await_sync` is false: a caller that appends
  /// many and calls sync() once). Throws std::runtime_error if the log cannot
  /// be written (then `route` was not called, unless only the sync failed).
  /// `stamp_epoch`/`stamp_seq`: the report's stamp when it has one already (a
  /// report replayed from an older log); else, with options.stamp_epoch set,
  /// it is stamped (stamp_epoch, seq).
  template <class Route>
  std::uint64_t append(std::string_view group, std::string_view decision, double score,
                       double accepted_at, Route&& route, bool await_sync = true,
                       std::uint64_t stamp_epoch = 0, std::uint64_t stamp_seq = 0) {
    std::unique_lock lock(mutex_);
    const auto seq = stage(lock, group, decision, score, accepted_at, stamp_epoch, stamp_seq);
    route(seq);
    if (await_sync && options_.sync == WalSync::always) wait_durable(lock, seq);
    return seq;
  }

  /// Everything appended so far is written and synced. Throws on an I/O error.
  void sync();

  /// The durable state of `group` now includes every report up to `through`.
  /// Closed segments whose groups are all covered are deleted.
  void covered(std::string_view group, std::uint64_t through);

  /// Deletes the segments that were in the directory before this log opened
  /// (call after their reports were replayed and sync() returned).
  void drop_recovered_segments();

  std::uint64_t last_seq() const;
  std::uint64_t durable_seq() const;
  std::size_t segment_count() const;  ///< files this log manages, the open one included

 private:
  struct Segment {
    std::filesystem::path path;
    std::uint64_t first_seq = 0;
    /// Groups with reports in this segment -> their last sequence in it;
    /// a group leaves the map once its durable state covers that sequence.
    std::unordered_map<std::string, std::uint64_t> uncovered;
  };

  std::uint64_t stage(std::unique_lock<std::mutex>& lock, std::string_view group,
                      std::string_view decision, double score, double accepted_at,
                      std::uint64_t stamp_epoch, std::uint64_t stamp_seq);
  void wait_durable(std::unique_lock<std::mutex>& lock, std::uint64_t seq);
  bool write_step(std::unique_lock<std::mutex>& lock);
  bool sync_step(std::unique_lock<std::mutex>& lock);
  void note_result(const std::string& failure);
  void rotate(std::unique_lock<std::mutex>& lock);
  void open_segment(std::uint64_t first_seq);
  void delete_covered_closed_segments();
  void run_writer();
  void run_syncer();

  const ReportLogOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable progress_;  ///< a write or sync finished (or failed)
  std::condition_variable wake_writer_;
  int fd_ = -1;  ///< the open segment
  std::unique_ptr<Segment> open_;
  std::vector<std::unique_ptr<Segment>> closed_;  ///< oldest first
  std::vector<std::filesystem::path> recovered_;
  std::string buffer_;          ///< staged records not yet written
  std::size_t open_bytes_ = 0;  ///< written + buffered bytes of the open segment
  std::uint64_t next_seq_ = 1;
  std::uint64_t written_seq_ = 0;  ///< every record <= this is in the file (page cache)
  std::uint64_t durable_seq_ = 0;  ///< every record <= this is synced
  bool writing_ = false;           ///< one write and one sync at a time, outside the lock
  bool syncing_ = false;
  std::string error_;  ///< last write/sync failure; appends fail while set
  bool stopping_ = false;
  std::thread writer_;  ///< batch mode: writes every batch_interval
  std::thread syncer_;  ///< batch mode: syncs whatever was written
};

}  // namespace pytheas
