#include "core/event_token.hpp"

#include <cmath>

namespace pytheas {

namespace {

constexpr std::uint8_t kVersion = 1;
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i, value >>= 8) out.push_back(static_cast<char>(value & 0xff));
}

void put_str(std::string& out, std::string_view value) {
  const auto size = std::min<std::size_t>(value.size(), 0xffff);
  put_le(out, size, 2);
  out.append(value.data(), size);
}

std::string base64url(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t at = 0;
  auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
  };
  for (; at + 3 <= bytes.size(); at += 3) {
    const auto n = (byte(at) << 16) | (byte(at + 1) << 8) | byte(at + 2);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  const auto left = bytes.size() - at;
  if (left > 0) {
    const auto n = (byte(at) << 16) | (left == 2 ? byte(at + 1) << 8 : 0);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    if (left == 2) out.push_back(kAlphabet[(n >> 6) & 63]);
  }
  return out;
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
    if (!le(2, size) || bytes_.size() - at_ < size) return false;
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

std::string EventTokenCodec::encode(std::string_view group, std::string_view decision,
                                    double issued_s, std::uint64_t nonce,
                                    FeatureView features) const {
  std::string bytes;
  bytes.reserve(32 + group.size() + decision.size());
  bytes.push_back(static_cast<char>(kVersion));
  put_le(bytes, static_cast<std::uint64_t>(std::llround(std::max(0.0, issued_s) * 1000)), 6);
  put_le(bytes, nonce, 8);
  put_str(bytes, group);
  put_str(bytes, decision);
  const auto count = std::min<std::size_t>(features.size(), 0xff);
  bytes.push_back(static_cast<char>(count));
  for (std::size_t i = 0; i < count; ++i) put_str(bytes, features[i]);
  put_le(bytes, siphash24(key_, bytes), 8);
  return base64url(bytes);
}

EventTokenCodec::Check EventTokenCodec::decode(std::string_view token, EventFacts& facts,
                                               std::uint64_t& tag) const {
  if (token.empty() || token.size() > kMaxTokenSize) return Check::malformed;
  std::string bytes;
  if (!from_base64url(token, bytes) || bytes.size() < 1 + 6 + 8 + 8) return Check::malformed;
  if (static_cast<std::uint8_t>(bytes[0]) != kVersion) return Check::malformed;
  Reader reader(std::string_view(bytes).substr(0, bytes.size() - 8));
  std::uint64_t version = 0, issued_ms = 0, count = 0;
  facts.features.clear();
  bool ok = reader.le(1, version) && reader.le(6, issued_ms) && reader.le(8, facts.nonce) &&
            reader.str(facts.group) && reader.str(facts.decision) && reader.le(1, count);
  for (std::uint64_t i = 0; ok && i < count; ++i) ok = reader.str(facts.features.emplace_back());
  if (!ok || reader.at() != bytes.size() - 8) return Check::malformed;
  Reader tail(std::string_view(bytes).substr(bytes.size() - 8));
  tail.le(8, tag);
  if (siphash24(key_, std::string_view(bytes).substr(0, bytes.size() - 8)) != tag)
    return Check::forged;
  facts.issued_s = static_cast<double>(issued_ms) / 1000;
  return Check::ok;
}

}  // namespace pytheas
