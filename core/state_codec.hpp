#pragma once
// StateWriter / StateReader: the binary envelope and field encoding of
// serialized policy state (Policy::serialize, restore_policy).
//
// Envelope: "PYPS" magic | u16 format version | u32 payload length | payload |
// u32 CRC-32 of everything before it. Fields are little-endian; doubles are
// their IEEE-754 bits, so a restore reproduces every value exactly; strings
// are a u32 length then the bytes.
// A reader never reads past its payload: every read is bounds-checked and a
// failed check throws CorruptState naming the field. Both classes are plain
// values, not thread-safe; use one per thread.

#include <cstdint>
#include <string>
#include <string_view>

namespace pytheas {

inline constexpr char kStateMagic[4] = {'P', 'Y', 'P', 'S'};
/// 2: change detection (the config's change_threshold, per-arm detectors).
/// 3: times are ages relative to the writing instant, not instants of the
/// writer's clock (the same fields, moved; docs/RELIABILITY.md "Time").
/// Readers accept 1 (detection then starts from scratch) and 2 (times moved
/// so that the last update is the writing instant).
inline constexpr std::uint16_t kStateFormatVersion = 3;
inline constexpr std::uint16_t kOldestStateFormatVersion = 1;

class StateWriter {
 public:
  void u8(std::uint8_t value) { bytes_.push_back(static_cast<char>(value)); }
  void u32(std::uint32_t value) { put(value, 4); }
  void u64(std::uint64_t value) { put(value, 8); }
  void i64(std::int64_t value) { put(static_cast<std::uint64_t>(value), 8); }
  void f64(double value);
  void str(std::string_view value);

  /// The payload wrapped in the envelope (magic, version, length, checksum).
  std::string seal() const;

 private:
  void put(std::uint64_t value, int bytes);
  std::string bytes_;
};

class StateReader {
 public:
  /// Checks the envelope of `bytes` (magic, version, length, checksum) and
  /// returns a reader over its payload. `bytes` must outlive the reader.
  static StateReader open(std::string_view bytes);

  std::uint8_t u8(const char* field);
  std::uint32_t u32(const char* field);
  std::uint64_t u64(const char* field);
  std::int64_t i64(const char* field) { return static_cast<std::int64_t>(u64(field)); }
  double f64(const char* field);
  /// A string of at most `max_size` bytes.
  std::string str(const char* field, std::size_t max_size = 1 << 20);
  bool boolean(const char* field);

  /// Throws CorruptState unless the whole payload was read.
  void expect_end() const;
  /// Throws CorruptState("corrupt state: <field>: <problem>").
  [[noreturn]] static void fail(const char* field, std::string_view problem);

  std::size_t remaining() const { return payload_.size() - offset_; }
  /// The envelope's format version.
  std::uint16_t version() const { return version_; }

 private:
  StateReader(std::string_view payload, std::uint16_t version)
      : payload_(payload), version_(version) {}
  std::uint64_t get(const char* field, int bytes);

  std::string_view payload_;
  std::size_t offset_ = 0;
  std::uint16_t version_;
};

}  // namespace pytheas
