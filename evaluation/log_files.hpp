#pragma once
// LogFiles: the decision log's directory: one open file that grows, rotated
// by size and age, and the closed files kept under a disk cap (the oldest
// files, this run's or an earlier one's, are deleted first; the open file
// never is). Files are named by log_file_name(), so a directory listing in
// name order is in time order; every file starts with the header line the
// caller gives.
// Not thread-safe: the decision log's writer thread owns it.

#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pytheas::evaluation {

/// A write that failed after `written` bytes of the given lines reached the
/// files (the lines before the failure are on disk; the one cut short ends
/// its file).
class LogWriteError : public std::runtime_error {
 public:
  LogWriteError(const std::string& what, std::size_t written)
      : std::runtime_error(what), written(written) {}
  std::size_t written;
};

struct LogFilesOptions {
  std::filesystem::path dir;               ///< created if missing
  std::uint64_t rotate_bytes = 64u << 20;  ///< a file is closed beyond this size
  double rotate_seconds = 3600;            ///< ...or when it is older than this (and not empty)
  std::uint64_t cap_bytes = 1u << 30;      ///< all log files together; 0: no cap
};

class LogFiles {
 public:
  /// Creates the directory, accounts for log files already in it (they count
  /// against the cap) and opens a new file at `now` (unix seconds) starting
  /// with `header(now)`. Throws std::runtime_error naming the path.
  LogFiles(LogFilesOptions options, std::function<std::string(double now)> header, double now);
  ~LogFiles();
  LogFiles(const LogFiles&) = delete;
  LogFiles& operator=(const LogFiles&) = delete;

  /// Appends complete lines to the open file, rotating at line boundaries
  /// where the file would exceed rotate_bytes (a file holds at least one
  /// record, however long) or is older than rotate_seconds. Throws
  /// LogWriteError on a write error; the next write then starts a new file,
  /// so a line cut short by the error can only end a file.
  void write(std::string_view lines, double now);

  /// Rotates when the open file holds records and is older than rotate_seconds.
  void rotate_if_old(double now);

  /// Syncs the open file to disk (fdatasync). Throws on an error.
  void sync();

  const std::filesystem::path& current() const { return current_path_; }
  std::uint64_t files_deleted() const { return files_deleted_; }
  std::uint64_t bytes_deleted() const { return bytes_deleted_; }
  std::uint64_t total_bytes() const;  ///< closed files + the open one

 private:
  void write_lines(std::string_view lines, double now, std::size_t& written);
  void open(double now);
  void close_current();
  void enforce_cap();

  LogFilesOptions options_;
  std::function<std::string(double)> header_;
  std::uint64_t sequence_ = 0;
  int fd_ = -1;
  std::filesystem::path current_path_;
  std::uint64_t current_bytes_ = 0;
  std::uint64_t header_bytes_ = 0;
  double opened_at_ = 0;
  struct Closed {
    std::filesystem::path path;
    std::uint64_t bytes;
  };
  std::deque<Closed> closed_;  ///< oldest first
  std::uint64_t closed_bytes_ = 0;
  std::uint64_t files_deleted_ = 0;
  std::uint64_t bytes_deleted_ = 0;
  bool torn_ = false;  ///< a write failed midway (or no file is open): start a new file first
};

}  // namespace pytheas::evaluation
