#include "core/state_codec.hpp"

#include <bit>
#include <cstring>

#include "core/crc32.hpp"
#include "core/errors.hpp"

namespace pytheas {
namespace {

constexpr std::size_t kHeaderSize = 4 + 2 + 4;  // magic, version, payload length
constexpr std::size_t kTrailerSize = 4;         // CRC-32

std::uint64_t load_le(std::string_view bytes, std::size_t at, int count) {
  std::uint64_t value = 0;
  for (int i = 0; i < count; ++i)
    value |= static_cast<std::uint64_t>(
                 static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]))
             << (8 * i);
  return value;
}

void store_le(std::string& out, std::uint64_t value, int count) {
  for (int i = 0; i < count; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

}  // namespace

void StateWriter::put(std::uint64_t value, int bytes) {
  store_le(bytes_, value, bytes);
}

void StateWriter::f64(double value) {
  put(std::bit_cast<std::uint64_t>(value), 8);
}

void StateWriter::str(std::string_view value) {
  u32(static_cast<std::uint32_t>(value.size()));
  bytes_.append(value);
}

std::string StateWriter::seal() const {
  std::string out;
  out.reserve(kHeaderSize + bytes_.size() + kTrailerSize);
  out.append(kStateMagic, sizeof kStateMagic);
  store_le(out, kStateFormatVersion, 2);
  store_le(out, bytes_.size(), 4);
  out.append(bytes_);
  store_le(out, crc32(out), 4);
  return out;
}

void StateReader::fail(const char* field, std::string_view problem) {
  throw CorruptState("corrupt state: " + std::string(field) + ": " + std::string(problem));
}

StateReader StateReader::open(std::string_view bytes) {
  if (bytes.size() < kHeaderSize + kTrailerSize)
    fail("envelope", "truncated (" + std::to_string(bytes.size()) + " bytes)");
  if (std::memcmp(bytes.data(), kStateMagic, sizeof kStateMagic) != 0)
    fail("magic", "not a Pytheas policy state");
  const auto version = load_le(bytes, 4, 2);
  if (version < kOldestStateFormatVersion || version > kStateFormatVersion)
    fail("version", "unsupported format version " + std::to_string(version) + " (expected " +
                        std::to_string(kOldestStateFormatVersion) + " to " +
                        std::to_string(kStateFormatVersion) + ")");
  const auto length = load_le(bytes, 6, 4);
  if (length != bytes.size() - kHeaderSize - kTrailerSize)
    fail("length", "payload length " + std::to_string(length) + " but " +
                       std::to_string(bytes.size() - kHeaderSize - kTrailerSize) +
                       " bytes present (truncated or padded)");
  const auto stored = static_cast<std::uint32_t>(load_le(bytes, bytes.size() - kTrailerSize, 4));
  if (crc32(bytes.substr(0, bytes.size() - kTrailerSize)) != stored)
    fail("checksum", "CRC-32 mismatch");
  return StateReader(bytes.substr(kHeaderSize, length), static_cast<std::uint16_t>(version));
}

std::uint64_t StateReader::get(const char* field, int bytes) {
  if (remaining() < static_cast<std::size_t>(bytes)) fail(field, "truncated");
  const auto value = load_le(payload_, offset_, bytes);
  offset_ += static_cast<std::size_t>(bytes);
  return value;
}

std::uint8_t StateReader::u8(const char* field) {
  return static_cast<std::uint8_t>(get(field, 1));
}
std::uint32_t StateReader::u32(const char* field) {
  return static_cast<std::uint32_t>(get(field, 4));
}
std::uint64_t StateReader::u64(const char* field) {
  return get(field, 8);
}
double StateReader::f64(const char* field) {
  return std::bit_cast<double>(get(field, 8));
}

bool StateReader::boolean(const char* field) {
  const auto value = u8(field);
  if (value > 1) fail(field, "not a boolean");
  return value == 1;
}

std::string StateReader::str(const char* field, std::size_t max_size) {
  const std::size_t size = u32(field);
  if (size > max_size) fail(field, "string of " + std::to_string(size) + " bytes is too long");
  if (remaining() < size) fail(field, "truncated");
  std::string value(payload_.substr(offset_, size));
  offset_ += size;
  return value;
}

void StateReader::expect_end() const {
  if (remaining() != 0) fail("payload", std::to_string(remaining()) + " unexpected trailing bytes");
}

}  // namespace pytheas
