#pragma once
// The compact trace form: the same sessions as the text form, in a binary
// file about 5x smaller and faster to read, for large traces.
//
//   header  "PYTR" | version byte (1) | 3 zero bytes | varint feature_count
//   record  varint time delta (ms, from the previous record; the first from 0)
//           feature_count-1 string refs (features[1..]; features[0] is the time)
//           varint #decisions, then per decision: string ref, number cost
//           varint #loads, then per load: string ref (decision), string ref
//             (the step list: varint #steps, then per step: number threshold,
//             number factor; interned as a string since LoadMaps repeat)
//   string ref  varint r: 0 = literal (varint length, bytes);
//               1 = new interned string (varint length, bytes), next id;
//               r >= 2 = interned string number r-2.
//   number  varint t: t = 7: an IEEE-754 double follows (8 bytes, little-
//           endian); else the value is m / 10^k with k = t & 7 (< 7) and m the
//           zigzag-decoded t >> 3 (short decimals take 1-3 bytes).
//   varint = unsigned LEB128.
// The file ends after the last complete record. Strings are interned up to
// kMaxInterned (longer than 64 bytes: never), so memory stays bounded.
// Numbers are stored as values: text -> compact -> text is byte-exact for
// text whose numbers are in shortest form (TraceNumber::of); other text is
// rewritten in shortest form. docs/SIMULATION.md documents the form.
// Not thread-safe.

#include <cstdint>
#include <istream>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/trace_format.hpp"
#include "core/trace_source.hpp"

namespace pytheas {

inline constexpr char kCompactTraceMagic[4] = {'P', 'Y', 'T', 'R'};
inline constexpr std::uint8_t kCompactTraceVersion = 1;

class CompactTraceWriter : public TraceSink {
 public:
  static constexpr std::size_t kMaxInterned = 1 << 20;

  /// Writes the header at once. Throws InvalidInput when feature_count is 0.
  CompactTraceWriter(std::ostream& out, std::size_t feature_count);
  ~CompactTraceWriter() override;
  CompactTraceWriter(const CompactTraceWriter&) = delete;
  CompactTraceWriter& operator=(const CompactTraceWriter&) = delete;

  /// Throws InvalidInput on a session the text form could not hold either,
  /// a different feature count, or time going backwards.
  void write(const TraceSession& session) override;
  void flush() override;

 private:
  void put_varint(std::uint64_t value);
  void put_double(double value);
  void put_string(const std::string& text);

  std::ostream& out_;
  std::size_t feature_count_;
  std::int64_t last_time_ms_ = 0;
  std::string buffer_;
  std::string scratch_;
  std::unordered_map<std::string, std::uint64_t> interned_;
};

class CompactTraceReader : public TraceSource {
 public:
  /// Reads the header at once. Throws CorruptState on a bad magic, an unknown
  /// version or a truncated header.
  explicit CompactTraceReader(std::istream& in);

  /// Throws CorruptState("compact trace record N: ...") on truncation or a
  /// bad field.
  bool next(TraceSession& out) override;
  std::size_t feature_count() const override { return feature_count_; }

 private:
  bool at_end();
  std::uint8_t get_byte();
  std::uint64_t get_varint();
  double get_double();
  /// Reads a string ref into `out`; returns its intern id, or -1 for a literal.
  std::int64_t get_string(std::string& out);
  void decode_steps(std::string_view bytes, std::vector<LoadStep>& out) const;
  double decode_decimal(std::uint64_t tag) const;
  [[noreturn]] void corrupt(const std::string& what) const;

  std::istream& in_;
  std::size_t feature_count_ = 0;
  std::size_t record_ = 0;
  std::int64_t last_time_ms_ = 0;
  std::vector<char> buffer_;
  std::size_t pos_ = 0, end_ = 0;
  std::vector<std::string> interned_;
  std::string steps_;
  std::vector<std::optional<std::vector<LoadStep>>> decoded_steps_;  // by intern id
};

}  // namespace pytheas
