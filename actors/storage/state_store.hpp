#pragma once
// StateStore: persists group state under a node's --state-dir, one file per
// group in <dir>/groups/. Writes are atomic (write a temp file, flush it to
// disk, rename over the old one, sync the directory), so a crash leaves either
// the old or the new state, never a torn file. Every file is versioned and
// checksummed; a file that fails a check is reported, never half-loaded.
//
// File layout (little-endian): "PYTGRP\r\n" magic, u32 format version (1 to
// 4), u32 CRC-32 of everything after it, then u32-length-prefixed key, u64
// decisions, u64 reports, f64 last activity (unix seconds), u32-length-prefixed
// policy state (itself core/ serialize() output, with its own version and
// checksum), and in version 2 and up: u64 write-ahead log sequence
// (GroupRecord::wal_seq); in version 3 and up: the report marks, then the
// floor (ReportMarks::append_to), then the u32-length-prefixed confirmer; in
// version 4: when the policy state was written, as f64 unix seconds, f64
// monotonic seconds and u64 hash of the kernel's boot id (WrittenAt).
// Version 1 files read as wal_seq 0. Every record is written in version 4
// (its policy state is format 3, which older builds cannot read anyway).
//
// Reading a record places its policy state on this process's clock by the
// downtime rule (restored_written_at, docs/RELIABILITY.md "Time"): the time
// since it was written counts as elapsed (its statistics decay by it), as
// measured by the monotonic clock when written during this boot (exact,
// whatever the wall clock did), else by the wall clock; negative counts as 0,
// and at most kMaxChargedDowntime counts. Files of versions 1-3 (policy state
// with instants of the old wall clock) count from their last activity.
//
// Not thread-safe: one owner (the node's store actor) uses it.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "actors/common/group_record.hpp"

namespace pytheas {

/// The most of a downtime (or of a state's age on disk) that its restore
/// charges as elapsed: 5 default half-lives (counts fall to 1/32, means
/// stay, so a group re-checks its ranking within seconds but starts from
/// it), and well under forget_after_s (no arm is dropped for a downtime).
/// A wall clock that stepped while the node was down, or a machine's clock
/// reset at boot, then costs a group at most this much of what it learned.
inline constexpr double kMaxChargedDowntime = 300;

/// When a record's policy state was written, in terms that outlive the process.
struct WrittenAt {
  double wall = 0;         ///< unix seconds
  double monotonic = -1;   ///< monotonic seconds (< 0: unknown)
  std::uint64_t boot = 0;  ///< boot_hash() of the boot it was written in (0: unknown)
};

/// The clocks a record is read against.
struct ClockReading {
  double wall = 0;
  double monotonic = 0;
  std::uint64_t boot = 0;
  /// This process's clocks and boot, now.
  static ClockReading now();
};

/// A hash of the kernel's boot id (/proc/sys/kernel/random/boot_id): the
/// monotonic clock is comparable only within one boot. 0 when unreadable.
std::uint64_t boot_hash();

/// The downtime rule: the monotonic instant, on `now`'s clock, at which a
/// state written at `written` counts as written (see the file comment).
double restored_written_at(const WrittenAt& written, const ClockReading& now);

class StateStore {
 public:
  /// Creates <dir>/groups if needed. Throws std::runtime_error naming the
  /// directory when it cannot be created or written.
  explicit StateStore(std::filesystem::path dir);

  /// Writes records atomically (each file is all-or-nothing) with one disk
  /// sync for the whole batch. Throws std::runtime_error on an I/O failure.
  void save(const std::vector<GroupRecord>& records);

  /// The record for `key`, or nullopt if none is stored. Throws CorruptState
  /// (core/errors.hpp) naming the file and the failed check.
  std::optional<GroupRecord> load(const std::string& key) const;

  /// Every stored record's key with its last activity, most recent first.
  /// Files that fail their checks are skipped and listed in `corrupt`.
  struct Entry {
    std::string key;
    double last_activity;
    std::uint64_t wal_seq = 0;
  };
  std::vector<Entry> list(std::vector<std::string>* corrupt = nullptr) const;

  void remove(const std::string& key);

  const std::filesystem::path& directory() const { return groups_dir_; }

  /// File name for a key: safe characters kept, others %XX-escaped; long keys
  /// are shortened with a hash (the key itself is stored inside the file).
  static std::string file_name(const std::string& key);

  /// `now`: the clocks to express record.written_at in (default: this
  /// process's, now).
  static std::string encode(const GroupRecord& record,
                            const ClockReading& now = ClockReading::now());
  /// Throws CorruptState naming `origin` and the failed check. Sets the
  /// record's written_at by the downtime rule against `now`.
  static GroupRecord decode(std::string_view bytes, const std::string& origin,
                            const ClockReading& now = ClockReading::now());

 private:
  std::filesystem::path groups_dir_;
};

}  // namespace pytheas
