#pragma once
// Report stamps and per-origin watermarks: how a group's state knows which
// reports it already includes, so that every report is applied exactly once
// however often state and reports move between cluster members.
//
// Every report a cluster member accepts is stamped by that member (its
// *origin*): (origin, epoch, seq), where epoch is the origin's incarnation
// (its start time in microseconds: a restart always starts a higher epoch)
// and seq grows with every report the origin accepts in that epoch. An origin
// sends one group's reports to one place at a time, in stamp order, and when
// the place changes it sends again every report not yet confirmed, oldest
// first (actors/federation/federation_relay.cpp). So a group state's watermark for an
// origin (the highest stamp it applied) says exactly which of that origin's
// reports it includes: a report at or below it is a duplicate.
//
// ReportMarks holds one watermark per origin (few: one per cluster member).
// A plain value; not thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pytheas {

struct ReportStamp {
  std::uint64_t origin = 0;  ///< hash of the accepting member's name; 0: unstamped
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;

  bool stamped() const { return origin != 0; }
  friend bool operator==(const ReportStamp&, const ReportStamp&) = default;
};

/// The origin id of a cluster member (stable across restarts and file edits).
std::uint64_t origin_id(std::string_view member_name);

class ReportMarks {
 public:
  struct Mark {
    std::uint64_t origin = 0;
    std::uint64_t epoch = 0;
    std::uint64_t seq = 0;
    friend bool operator==(const Mark&, const Mark&) = default;
  };

  /// Whether a report with this stamp is already included (unstamped: never).
  bool covers(const ReportStamp& stamp) const;

  /// Records `stamp` as applied (its origin's watermark moves up to it; a
  /// lower stamp leaves it). Unstamped reports are not tracked.
  void advance(const ReportStamp& stamp);

  /// The watermark of `origin` (zeros when none).
  Mark of(std::uint64_t origin) const;

  /// Whether these marks are at or above `other`'s for every origin.
  bool dominates(const ReportMarks& other) const;

  bool empty() const { return marks_.empty(); }
  const std::vector<Mark>& marks() const { return marks_; }
  std::vector<Mark>& marks() { return marks_; }  ///< for deserializers

  friend bool operator==(const ReportMarks&, const ReportMarks&) = default;

  /// Compact binary form (for state files): u32 count, then 3 x u64 each.
  void append_to(std::string& out) const;
  /// Reads what append_to wrote at `bytes[pos]`, advancing `pos`. Returns
  /// false (and leaves this unchanged) when the bytes are cut short.
  bool read_from(std::string_view bytes, std::size_t& pos);

  /// "origin@epoch:seq ..." for logs and tests.
  std::string describe() const;

 private:
  std::vector<Mark> marks_;  // sorted by origin
};

/// Stamp order: epoch first, then sequence.
inline bool stamp_after(std::uint64_t epoch, std::uint64_t seq, const ReportMarks::Mark& mark) {
  return epoch > mark.epoch || (epoch == mark.epoch && seq > mark.seq);
}

}  // namespace pytheas
