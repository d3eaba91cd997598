#include "core/trace_compact.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "core/errors.hpp"

namespace pytheas {
namespace {

constexpr std::size_t kMaxInternedLength = 64;
constexpr std::size_t kMaxStringLength = 1 << 20;
constexpr std::uint64_t kMaxCount = 1 << 16;  // decisions, loads, steps per session
// Numbers: varint (zigzag(m) << 3 | k) for m / 10^k, k < kMaxDecimals, or
// kRawDouble followed by the 8 bytes of the double.
constexpr std::size_t kMaxDecimals = 7;
constexpr std::uint64_t kRawDouble = 7;
constexpr double kPowersOf10[kMaxDecimals] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};

}  // namespace

CompactTraceWriter::CompactTraceWriter(std::ostream& out, std::size_t feature_count)
    : out_(out), feature_count_(feature_count) {
  if (feature_count == 0) throw InvalidInput("compact trace: feature count must be positive");
  buffer_.append(kCompactTraceMagic, 4);
  buffer_ += static_cast<char>(kCompactTraceVersion);
  buffer_.append(3, '\0');
  put_varint(feature_count);
}

CompactTraceWriter::~CompactTraceWriter() {
  try {
    flush();
  } catch (...) {
    // A destructor cannot report; callers who care call flush() themselves.
  }
}

void CompactTraceWriter::put_varint(std::uint64_t value) {
  while (value >= 0x80) {
    buffer_ += static_cast<char>((value & 0x7F) | 0x80);
    value >>= 7;
  }
  buffer_ += static_cast<char>(value);
}

void CompactTraceWriter::put_double(double value) {
  // Most trace numbers are short decimals: m / 10^k with a small integer m.
  for (std::size_t k = 0; k < kMaxDecimals; ++k) {
    const double scaled = value * kPowersOf10[k];
    if (!(std::fabs(scaled) < 0x1p53)) break;
    const auto m = static_cast<std::int64_t>(std::llround(scaled));
    if (static_cast<double>(m) / kPowersOf10[k] != value) continue;
    const auto zigzag = (static_cast<std::uint64_t>(m) << 1) ^ static_cast<std::uint64_t>(m >> 63);
    put_varint((zigzag << 3) | k);
    return;
  }
  put_varint(kRawDouble);
  auto bits = std::bit_cast<std::uint64_t>(value);
  for (int i = 0; i < 8; ++i) buffer_ += static_cast<char>((bits >> (8 * i)) & 0xFF);
}

void CompactTraceWriter::put_string(const std::string& text) {
  if (text.size() <= kMaxInternedLength) {
    auto it = interned_.find(text);
    if (it != interned_.end()) {
      put_varint(it->second + 2);
      return;
    }
    if (interned_.size() < kMaxInterned) {
      interned_.emplace(text, interned_.size());
      put_varint(1);
      put_varint(text.size());
      buffer_ += text;
      return;
    }
  }
  put_varint(0);
  put_varint(text.size());
  buffer_ += text;
}

void CompactTraceWriter::write(const TraceSession& session) {
  if (session.features.size() != feature_count_)
    throw InvalidInput("compact trace: session has " + std::to_string(session.features.size()) +
                       " features, the trace " + std::to_string(feature_count_));
  if (session.time_ms < last_time_ms_)
    throw InvalidInput("compact trace: time " + std::to_string(session.time_ms) +
                       " is earlier than the previous " + std::to_string(last_time_ms_));
  // The text form's checks apply too: a compact trace must convert to text.
  scratch_.clear();
  append_trace_line(session, scratch_);

  put_varint(static_cast<std::uint64_t>(session.time_ms - last_time_ms_));
  last_time_ms_ = session.time_ms;
  for (std::size_t i = 1; i < session.features.size(); ++i) put_string(session.features[i]);
  put_varint(session.decisions.size());
  for (const auto& entry : session.decisions) {
    put_string(entry.decision);
    put_double(entry.cost.value);
  }
  put_varint(session.loads.size());
  for (const auto& load : session.loads) {
    put_string(load.decision);
    // The step list is encoded on its own and interned like a string: LoadMaps
    // repeat from session to session.
    const auto mark = buffer_.size();
    put_varint(load.steps.size());
    for (const auto& step : load.steps) {
      put_double(step.threshold.value);
      put_double(step.factor.value);
    }
    std::string steps = buffer_.substr(mark);
    buffer_.resize(mark);
    put_string(steps);
  }
  if (buffer_.size() >= 64 * 1024) flush();
}

void CompactTraceWriter::flush() {
  if (buffer_.empty()) return;
  out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  buffer_.clear();
  if (!out_) throw std::runtime_error("compact trace: write failed");
}

CompactTraceReader::CompactTraceReader(std::istream& in) : in_(in), buffer_(64 * 1024) {
  char header[8];
  for (char& c : header) {
    if (at_end()) throw CorruptState("compact trace: truncated header");
    c = static_cast<char>(get_byte());
  }
  if (std::memcmp(header, kCompactTraceMagic, 4) != 0)
    throw CorruptState("compact trace: bad magic (not a compact trace)");
  if (static_cast<std::uint8_t>(header[4]) != kCompactTraceVersion)
    throw CorruptState("compact trace: unknown version " +
                       std::to_string(static_cast<std::uint8_t>(header[4])));
  if (at_end()) throw CorruptState("compact trace: truncated header");
  feature_count_ = get_varint();
  if (feature_count_ == 0 || feature_count_ > kMaxCount)
    throw CorruptState("compact trace: bad feature count " + std::to_string(feature_count_));
}

void CompactTraceReader::corrupt(const std::string& what) const {
  throw CorruptState("compact trace record " + std::to_string(record_) + ": " + what);
}

bool CompactTraceReader::at_end() {
  if (pos_ < end_) return false;
  in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
  end_ = static_cast<std::size_t>(in_.gcount());
  pos_ = 0;
  if (in_.bad()) throw CorruptState("compact trace: read error");
  return end_ == 0;
}

std::uint8_t CompactTraceReader::get_byte() {
  if (at_end()) corrupt("truncated");
  return static_cast<std::uint8_t>(buffer_[pos_++]);
}

std::uint64_t CompactTraceReader::get_varint() {
  std::uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    auto byte = get_byte();
    value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  corrupt("varint longer than 10 bytes");
}

void CompactTraceReader::decode_steps(std::string_view bytes, std::vector<LoadStep>& out) const {
  std::size_t pos = 0;
  auto varint = [&]() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= bytes.size()) corrupt("bad load step list");
      const auto byte = static_cast<std::uint8_t>(bytes[pos++]);
      value |= static_cast<std::uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    corrupt("bad load step list");
  };
  auto number = [&]() {
    const auto tag = varint();
    if (tag == kRawDouble) {
      if (bytes.size() - pos < 8) corrupt("bad load step list");
      std::uint64_t bits = 0;
      for (int i = 0; i < 8; ++i)
        bits |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(bytes[pos++])) << (8 * i);
      const double value = std::bit_cast<double>(bits);
      if (!std::isfinite(value)) corrupt("non-finite number");
      return value;
    }
    return decode_decimal(tag);
  };
  const auto steps = varint();
  if (steps > kMaxCount) corrupt("bad load step count");
  out.resize(steps);
  for (auto& step : out) {
    step.threshold = TraceNumber::of(number());
    step.factor = TraceNumber::of(number());
  }
  if (pos != bytes.size()) corrupt("bad load step list");
}

double CompactTraceReader::decode_decimal(std::uint64_t tag) const {
  const auto k = tag & 7;
  if (k >= kMaxDecimals) corrupt("bad number tag");
  const auto zigzag = tag >> 3;
  const auto m = static_cast<std::int64_t>(zigzag >> 1) ^ -static_cast<std::int64_t>(zigzag & 1);
  return static_cast<double>(m) / kPowersOf10[k];
}

double CompactTraceReader::get_double() {
  const auto tag = get_varint();
  if (tag != kRawDouble) return decode_decimal(tag);
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= static_cast<std::uint64_t>(get_byte()) << (8 * i);
  double value = std::bit_cast<double>(bits);
  if (!std::isfinite(value)) corrupt("non-finite number");
  return value;
}

std::int64_t CompactTraceReader::get_string(std::string& out) {
  auto ref = get_varint();
  if (ref >= 2) {
    if (ref - 2 >= interned_.size()) corrupt("string ref " + std::to_string(ref) + " undefined");
    out = interned_[ref - 2];
    return static_cast<std::int64_t>(ref - 2);
  }
  auto length = get_varint();
  if (length > kMaxStringLength) corrupt("string length " + std::to_string(length));
  out.resize(length);
  for (auto& c : out) c = static_cast<char>(get_byte());
  if (ref == 1) {
    if (interned_.size() >= CompactTraceWriter::kMaxInterned) corrupt("too many interned strings");
    interned_.push_back(out);
    return static_cast<std::int64_t>(interned_.size() - 1);
  }
  return -1;
}

bool CompactTraceReader::next(TraceSession& out) {
  if (at_end()) return false;
  ++record_;
  auto delta = get_varint();
  if (delta > static_cast<std::uint64_t>(INT64_MAX - last_time_ms_)) corrupt("time overflow");
  last_time_ms_ += static_cast<std::int64_t>(delta);
  out.time_ms = last_time_ms_;
  out.features.resize(feature_count_);
  out.features[0] = std::to_string(last_time_ms_);
  for (std::size_t i = 1; i < feature_count_; ++i) get_string(out.features[i]);

  auto decisions = get_varint();
  if (decisions == 0 || decisions > kMaxCount) corrupt("bad decision count");
  out.decisions.resize(decisions);
  for (auto& entry : out.decisions) {
    get_string(entry.decision);
    if (entry.decision.empty()) corrupt("empty decision");
    entry.cost = TraceNumber::of(get_double());
  }
  auto loads = get_varint();
  if (loads > decisions) corrupt("more loads than decisions");
  out.loads.resize(loads);
  for (auto& load : out.loads) {
    get_string(load.decision);
    const auto id = get_string(steps_);
    // LoadMaps repeat: decode each interned step list once.
    if (id >= 0 && static_cast<std::size_t>(id) < decoded_steps_.size() &&
        decoded_steps_[static_cast<std::size_t>(id)]) {
      load.steps = *decoded_steps_[static_cast<std::size_t>(id)];
      continue;
    }
    decode_steps(steps_, load.steps);
    if (id >= 0) {
      if (decoded_steps_.size() <= static_cast<std::size_t>(id))
        decoded_steps_.resize(static_cast<std::size_t>(id) + 1);
      decoded_steps_[static_cast<std::size_t>(id)] = load.steps;
    }
  }
  return true;
}

}  // namespace pytheas
