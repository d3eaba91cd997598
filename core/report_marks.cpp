#include "core/report_marks.hpp"

#include <algorithm>

#include "core/decision_snapshot.hpp"  // hash_decision
#include "core/raw_bytes.hpp"

namespace pytheas {

std::uint64_t origin_id(std::string_view member_name) {
  const auto id = hash_decision(member_name);
  return id == 0 ? 1 : id;  // 0 means "unstamped"
}

namespace {

auto find_origin(const std::vector<ReportMarks::Mark>& marks, std::uint64_t origin) {
  return std::lower_bound(
      marks.begin(), marks.end(), origin,
      [](const ReportMarks::Mark& mark, std::uint64_t o) { return mark.origin < o; });
}

}  // namespace

bool ReportMarks::covers(const ReportStamp& stamp) const {
  if (!stamp.stamped()) return false;
  auto it = find_origin(marks_, stamp.origin);
  if (it == marks_.end() || it->origin != stamp.origin) return false;
  return !stamp_after(stamp.epoch, stamp.seq, *it);
}

void ReportMarks::advance(const ReportStamp& stamp) {
  if (!stamp.stamped()) return;
  auto it = find_origin(marks_, stamp.origin);
  if (it == marks_.end() || it->origin != stamp.origin) {
    marks_.insert(it, Mark{stamp.origin, stamp.epoch, stamp.seq});
    return;
  }
  auto& mark = marks_[static_cast<std::size_t>(it - marks_.begin())];
  if (stamp_after(stamp.epoch, stamp.seq, mark)) {
    mark.epoch = stamp.epoch;
    mark.seq = stamp.seq;
  }
}

ReportMarks::Mark ReportMarks::of(std::uint64_t origin) const {
  auto it = find_origin(marks_, origin);
  if (it == marks_.end() || it->origin != origin) return Mark{origin, 0, 0};
  return *it;
}

bool ReportMarks::dominates(const ReportMarks& other) const {
  for (const auto& theirs : other.marks_) {
    if (theirs.epoch == 0 && theirs.seq == 0) continue;
    if (stamp_after(theirs.epoch, theirs.seq, of(theirs.origin))) return false;
  }
  return true;
}

void ReportMarks::append_to(std::string& out) const {
  append_raw<std::uint32_t>(out, static_cast<std::uint32_t>(marks_.size()));
  for (const auto& mark : marks_) {
    append_raw(out, mark.origin);
    append_raw(out, mark.epoch);
    append_raw(out, mark.seq);
  }
}

bool ReportMarks::read_from(std::string_view bytes, std::size_t& pos) {
  if (bytes.size() - pos < sizeof(std::uint32_t)) return false;
  const auto count = read_raw<std::uint32_t>(bytes, pos);
  const std::size_t need = sizeof(std::uint32_t) + std::size_t{count} * 3 * sizeof(std::uint64_t);
  if (bytes.size() - pos < need) return false;
  std::vector<Mark> marks(count);
  std::size_t at = pos + sizeof(std::uint32_t);
  for (auto& mark : marks) {
    mark.origin = read_raw<std::uint64_t>(bytes, at);
    mark.epoch = read_raw<std::uint64_t>(bytes, at + 8);
    mark.seq = read_raw<std::uint64_t>(bytes, at + 16);
    at += 24;
  }
  std::sort(marks.begin(), marks.end(),
            [](const Mark& a, const Mark& b) { return a.origin < b.origin; });
  marks_ = std::move(marks);
  pos += need;
  return true;
}

std::string ReportMarks::describe() const {
  std::string out;
  for (const auto& mark : marks_) {
    if (!out.empty()) out += ' ';
    out += std::to_string(mark.origin % 100000) + '@' + std::to_string(mark.epoch) + ':' +
           std::to_string(mark.seq);
  }
  return out.empty() ? "none" : out;
}

}  // namespace pytheas
