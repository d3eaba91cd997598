#pragma once
// DecisionLog: a node's log of every decision (with its propensity) and every
// report, for off-policy evaluation (`pytheas evaluate`) and trace export.
// Format: evaluation/log_format.hpp; files: evaluation/log_files.hpp.
//
// The calling (io) threads only copy the record's fields into a cell of a
// bounded lock-free queue (BoundedQueue; cells reuse buffers of up to 4 KiB,
// so a warm log allocates nothing per ordinary record) and return: they
// never wait for the disk or a lock. A dedicated writer thread encodes the records as JSON Lines,
// joins reports to decisions (RecentDecisions: delays, and reports by
// features joined to the latest matching decision), writes in batches and
// rotates files. When the queue is full the record is dropped and counted
// (counters().dropped, exported in /metrics): never silently. Records lost to
// a write error are counted the same way and reported through `on_error`.
//
// Thread-safety: decision(), report_event(), report_features() and counters()
// are safe from any number of threads. close() (and the destructor) must run
// after the last of those calls returned; records offered after close() are
// dropped and counted.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "evaluation/bounded_queue.hpp"
#include "evaluation/decision_log_counters.hpp"
#include "evaluation/log_files.hpp"
#include "evaluation/log_format.hpp"

namespace pytheas::evaluation {

class RecentDecisions;

struct DecisionLogOptions {
  LogFilesOptions files;
  std::vector<std::string> features;    ///< the node's feature names, in order (the header)
  std::string node;                     ///< this node's name, for the header ("" for all-in-one)
  std::size_t queue_capacity = 16384;   ///< records waiting for the writer, at most
  double join_window_s = 600;           ///< the node's event window
  std::size_t join_capacity = 1 << 18;  ///< decisions remembered for joins, at most
  std::chrono::milliseconds flush_interval{100};  ///< written at least this often
  /// Called on the writer thread with one line when writing starts failing
  /// (once per run of failures).
  std::function<void(const std::string&)> on_error;
};

class DecisionLog {
 public:
  /// Opens the first file (synchronously, so a bad directory fails here with
  /// std::runtime_error naming it) and starts the writer thread.
  explicit DecisionLog(DecisionLogOptions options);
  ~DecisionLog();
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  /// A decision. An empty `event_id` (the legacy protocol issues none) gets
  /// one assigned by the log, written with "issued": false, so a report by
  /// features can name it.
  void decision(const DecisionLine& decision) noexcept;
  /// A report by event id (the node accepted it).
  void report_event(double time, std::string_view event_id, double score) noexcept;
  /// A report by features and decision (the node accepted it).
  void report_features(double time, std::span<const std::string_view> features,
                       std::string_view decision, double score) noexcept;

  /// Writes everything queued, syncs and stops the writer. Idempotent.
  void close();

  DecisionLogCounters counters() const;
  const std::filesystem::path& directory() const { return options_.files.dir; }

 private:
  enum class Kind : std::uint8_t { decision, report_event, report_features, broken };
  /// One queued record: fixed fields plus its strings packed in `bytes`
  /// (each as u32 length + bytes), so a cell holds one reusable buffer.
  struct Queued {
    Kind kind = Kind::broken;
    double time = 0;
    double value = 0;  ///< propensity or score
    std::uint64_t policy_version = 0;
    std::uint32_t chosen = 0;
    std::uint32_t feature_count = 0;
    std::uint32_t candidate_count = 0;
    std::string bytes;
  };

  template <class Fill>
  void offer(Fill&& fill) noexcept;
  void run();
  void encode(Queued& record, std::string& out);
  void flush(std::string& out, double now);
  std::string next_log_event_id();

  DecisionLogOptions options_;
  BoundedQueue<Queued> queue_;
  std::unique_ptr<LogFiles> files_;
  std::atomic<bool> closing_{false};
  std::atomic<bool> closed_{false};
  std::thread writer_;

  // Writer-thread state.
  std::unique_ptr<RecentDecisions> recent_;
  std::uint64_t id_prefix_ = 0;
  std::uint64_t id_sequence_ = 0;
  bool failing_ = false;
  /// The records encoded into the batch not yet written: where each line
  /// ends in it and what it is, for exact counters when a write fails.
  enum class Line : std::uint8_t { decision, report, inferred, unmatched };
  struct BatchLine {
    std::size_t end;
    Line kind;
  };
  std::vector<BatchLine> batch_;
  std::vector<std::string_view> features_scratch_;
  std::vector<std::string_view> candidates_scratch_;

  std::atomic<std::uint64_t> decisions_{0};
  std::atomic<std::uint64_t> reports_{0};
  std::atomic<std::uint64_t> inferred_{0};
  std::atomic<std::uint64_t> unmatched_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> files_deleted_{0};
  std::atomic<std::uint64_t> bytes_{0};
};

}  // namespace pytheas::evaluation
