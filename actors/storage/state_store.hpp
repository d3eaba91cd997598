#pragma once
// StateStore: persists group state under a node's --state-dir, one file per
// group in <dir>/groups/. Writes are atomic (write a temp file, flush it to
// disk, rename over the old one, sync the directory), so a crash leaves either
// the old or the new state, never a torn file. Every file is versioned and
// checksummed; a file that fails a check is reported, never half-loaded.
//
// File layout (little-endian): "PYTGRP\r\n" magic, u32 format version (1 or
// 2), u32 CRC-32 of everything after it, then u32-length-prefixed key, u64
// decisions, u64 reports, f64 last activity, u32-length-prefixed policy state
// (itself core/ serialize() output, with its own version and checksum), and in
// version 2 and 3: u64 write-ahead log sequence (GroupRecord::wal_seq); in
// version 3: the report marks, then the floor (ReportMarks::append_to),
// then the u32-length-prefixed confirmer.
// Version 1 files read as wal_seq 0; a record is written in the lowest version
// that holds it, so a node run without --wal or a cluster stays readable by
// older builds.
//
// Not thread-safe: one owner (the node's store actor) uses it.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "actors/common/group_record.hpp"

namespace pytheas {

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

  static std::string encode(const GroupRecord& record);
  /// Throws CorruptState naming `origin` and the failed check.
  static GroupRecord decode(std::string_view bytes, const std::string& origin);

 private:
  std::filesystem::path groups_dir_;
};

}  // namespace pytheas
