#include "core/event_token.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace pytheas {

namespace {

constexpr std::uint8_t kVersion = 1;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Writes into a caller's buffer of the size encode() computed first: no
/// allocation while an id is built (it is on every decision's path).
class Writer {
 public:
  explicit Writer(char* out) : out_(out) {}
  void le(std::uint64_t value, int bytes) {
    for (int i = 0; i < bytes; ++i, value >>= 8) *out_++ = static_cast<char>(value & 0xff);
  }
  /// A string: its length as a varint (one byte below 128), then the bytes.
  void str(std::string_view value) {
    auto size = value.size();
    for (; size >= 0x80; size >>= 7) *out_++ = static_cast<char>((size & 0x7f) | 0x80);
    *out_++ = static_cast<char>(size);
    if (value.empty()) return;  // an empty view's data() may be null: no memcpy from it
    std::memcpy(out_, value.data(), value.size());
    out_ += value.size();
  }
  char* end() const { return out_; }

 private:
  char* out_;
};

std::size_t str_size(std::string_view value) {
  std::size_t bytes = 1;
  for (auto size = value.size(); size >= 0x80; size >>= 7) ++bytes;
  return bytes + value.size();
}

std::uint64_t milliseconds(double seconds) {
  return static_cast<std::uint64_t>(std::llround(std::max(0.0, seconds) * 1000)) &
         ((std::uint64_t{1} << 48) - 1);
}

void base64url(std::string_view bytes, std::string& out) {
  out.resize((bytes.size() * 4 + 2) / 3);
  char* to = out.data();
  auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
  };
  std::size_t at = 0;
  for (; at + 3 <= bytes.size(); at += 3) {
    const auto n = (byte(at) << 16) | (byte(at + 1) << 8) | byte(at + 2);
    *to++ = kAlphabet[(n >> 18) & 63];
    *to++ = kAlphabet[(n >> 12) & 63];
    *to++ = kAlphabet[(n >> 6) & 63];
    *to++ = kAlphabet[n & 63];
  }
  const auto left = bytes.size() - at;
  if (left > 0) {
    const auto n = (byte(at) << 16) | (left == 2 ? byte(at + 1) << 8 : 0);
    *to++ = kAlphabet[(n >> 18) & 63];
    *to++ = kAlphabet[(n >> 12) & 63];
    if (left == 2) *to++ = kAlphabet[(n >> 6) & 63];
  }
}

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

/// Decodes unpadded base64url; false on any other character or a length
/// that no byte string encodes to.
bool from_base64url(std::string_view text, std::string& out) {
  if (text.size() % 4 == 1) return false;
  out.clear();
  out.reserve(text.size() * 3 / 4);
  std::uint32_t bits = 0;
  int held = 0;
  for (char c : text) {
    const int value = sextet(c);
    if (value < 0) return false;
    bits = (bits << 6) | static_cast<std::uint32_t>(value);
    held += 6;
    if (held >= 8) {
      held -= 8;
      out.push_back(static_cast<char>((bits >> held) & 0xff));
    }
  }
  // Leftover bits must be zero, so that each id has one spelling only.
  return (bits & ((1u << held) - 1)) == 0;
}

/// Bounds-checked reads over the decoded bytes.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  bool le(int size, std::uint64_t& value) {
    if (bytes_.size() - at_ < static_cast<std::size_t>(size)) return false;
    value = 0;
    for (int i = 0; i < size; ++i)
      value |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes_[at_ + i])) << (8 * i);
    at_ += static_cast<std::size_t>(size);
    return true;
  }
  bool str(std::string& value) {
    std::uint64_t size = 0;
    for (int shift = 0;; shift += 7) {
      std::uint64_t part = 0;
      if (shift > 14 || !le(1, part)) return false;  // no string in an id is 2 MB long
      size |= (part & 0x7f) << shift;
      if (!(part & 0x80)) break;
    }
    if (bytes_.size() - at_ < size) return false;
    value.assign(bytes_.data() + at_, size);
    at_ += size;
    return true;
  }
  std::size_t at() const { return at_; }

 private:
  std::string_view bytes_;
  std::size_t at_ = 0;
};

}  // namespace

std::string EventTokenCodec::encode(const EventFacts& facts, FeatureView features) const {
  const auto count = std::min<std::size_t>(features.size(), 0xff);
  std::size_t size = 1 + 6 + 6 + 4 + 8 + str_size(facts.group) + str_size(facts.decision) + 1 + 8;
  for (std::size_t i = 0; i < count; ++i) size += str_size(features[i]);
  // Most ids fit on the stack; a decision with long features takes the heap.
  char stack[512];
  std::string heap;
  char* bytes = stack;
  if (size > sizeof stack) {
    heap.resize(size);
    bytes = heap.data();
  }
  Writer writer(bytes);
  writer.le(kVersion, 1);
  writer.le(milliseconds(facts.issued_s), 6);
  writer.le(milliseconds(facts.issued_monotonic_s), 6);
  writer.le(facts.issuer, 4);
  writer.le(facts.nonce, 8);
  writer.str(facts.group);
  writer.str(facts.decision);
  writer.le(count, 1);
  for (std::size_t i = 0; i < count; ++i) writer.str(features[i]);
  writer.le(siphash24(key_, std::string_view(bytes, size - 8)), 8);
  std::string out;
  base64url(std::string_view(bytes, size), out);
  return out;
}

EventTokenCodec::Check EventTokenCodec::decode(std::string_view token, EventFacts& facts,
                                               std::uint64_t& tag) const {
  if (token.empty() || token.size() > kMaxTokenSize) return Check::malformed;
  std::string bytes;
  if (!from_base64url(token, bytes) || bytes.size() < 1 + 6 + 6 + 4 + 8 + 8)
    return Check::malformed;
  if (static_cast<std::uint8_t>(bytes[0]) != kVersion) return Check::malformed;
  Reader reader(std::string_view(bytes).substr(0, bytes.size() - 8));
  std::uint64_t version = 0, issued_ms = 0, monotonic_ms = 0, issuer = 0, count = 0;
  facts.features.clear();
  bool ok = reader.le(1, version) && reader.le(6, issued_ms) && reader.le(6, monotonic_ms) &&
            reader.le(4, issuer) && reader.le(8, facts.nonce) && reader.str(facts.group) &&
            reader.str(facts.decision) && reader.le(1, count);
  for (std::uint64_t i = 0; ok && i < count; ++i) ok = reader.str(facts.features.emplace_back());
  if (!ok || reader.at() != bytes.size() - 8) return Check::malformed;
  Reader tail(std::string_view(bytes).substr(bytes.size() - 8));
  tail.le(8, tag);
  if (siphash24(key_, std::string_view(bytes).substr(0, bytes.size() - 8)) != tag)
    return Check::forged;
  facts.issued_s = static_cast<double>(issued_ms) / 1000;
  facts.issued_monotonic_s = static_cast<double>(monotonic_ms) / 1000;
  facts.issuer = static_cast<std::uint32_t>(issuer);
  return Check::ok;
}

}  // namespace pytheas
