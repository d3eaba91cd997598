#include "core/event_token.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "core/siphash.hpp"

using pytheas::EventFacts;
using pytheas::EventTokenCodec;
using pytheas::SipKey;
using Check = EventTokenCodec::Check;

namespace {
// The paper's key: bytes 00..0f, read little-endian.
const SipKey kPaperKey{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
const SipKey kKey{0x1234567890abcdefULL, 0xfedcba0987654321ULL};

std::string encode(const EventTokenCodec& codec, std::string group, std::string decision,
                   double issued, std::uint64_t nonce, pytheas::FeatureView features = {}) {
  EventFacts facts;
  facts.group = std::move(group);
  facts.decision = std::move(decision);
  facts.issued_s = issued;
  facts.issued_monotonic_s = issued / 1000;
  facts.issuer = 77;
  facts.nonce = nonce;
  return codec.encode(facts, features);
}

std::string bytes_upto(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>(i));
  return out;
}
}  // namespace

TEST_CASE("siphash24 matches the paper's test vectors", "[event_token]") {
  // Aumasson & Bernstein, "SipHash: a fast short-input PRF", appendix A, and
  // the reference implementation's vectors for lengths 0, 7, 8 and 15.
  CHECK(pytheas::siphash24(kPaperKey, bytes_upto(15)) == 0xa129ca6149be45e5ULL);
  CHECK(pytheas::siphash24(kPaperKey, "") == 0x726fdb47dd0e0e31ULL);
  CHECK(pytheas::siphash24(kPaperKey, bytes_upto(7)) == 0xab0200f58b01d137ULL);
  CHECK(pytheas::siphash24(kPaperKey, bytes_upto(8)) == 0x93f5f5799a932462ULL);
}

TEST_CASE("an event id carries its decision and reads back exactly", "[event_token]") {
  EventTokenCodec codec(kKey);
  const std::vector<std::string_view> features{"7922", "Boston", "", "wifi"};
  auto id = encode(codec, "Asn=7922,City=Boston", "cdn-a", 1'700'000'000.123, 42, features);
  // URL- and JSON-safe as it is: base64url, no padding.
  for (char c : id) CHECK((std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'));
  EventFacts facts;
  std::uint64_t tag = 0;
  REQUIRE(codec.decode(id, facts, tag) == Check::ok);
  CHECK(facts.group == "Asn=7922,City=Boston");
  CHECK(facts.decision == "cdn-a");
  CHECK(facts.nonce == 42);
  CHECK(facts.issued_s == Approx(1'700'000'000.123).margin(0.0005));
  CHECK(facts.issued_monotonic_s == Approx(1'700'000.000123).margin(0.0005));
  CHECK(facts.issuer == 77);
  REQUIRE(facts.features.size() == 4);
  CHECK(facts.features[1] == "Boston");
  CHECK(facts.features[2].empty());
  CHECK(tag != 0);

  // Empty strings and features (an empty view may have a null data()).
  const std::vector<std::string_view> empties{std::string_view{}, "", "x"};
  auto sparse = encode(codec, "", "d", 1, 8, empties);
  REQUIRE(codec.decode(sparse, facts, tag) == Check::ok);
  CHECK(facts.group.empty());
  CHECK(facts.features == std::vector<std::string>{"", "", "x"});

  auto plain = encode(codec, "g", "d", 1, 7);
  REQUIRE(codec.decode(plain, facts, tag) == Check::ok);
  CHECK(facts.features.empty());
}

TEST_CASE("long features (multi-byte lengths, ids beyond the stack buffer) read back exactly",
          "[event_token]") {
  EventTokenCodec codec(kKey);
  std::vector<std::string> values{std::string(300, 'x'), std::string(127, 'y'),
                                  std::string(128, 'z')};
  for (int i = 0; i < 20; ++i) values.push_back("feature-value-" + std::to_string(i));
  const std::vector<std::string_view> features(values.begin(), values.end());
  auto id = encode(codec, std::string(200, 'g'), "cdn", 12.5, 1, features);
  EventFacts facts;
  std::uint64_t tag = 0;
  REQUIRE(codec.decode(id, facts, tag) == Check::ok);
  CHECK(facts.group == std::string(200, 'g'));
  CHECK(facts.features == values);
}

TEST_CASE("every altered id is refused: one changed character, a cut, another key",
          "[event_token]") {
  EventTokenCodec codec(kKey);
  const auto id = encode(codec, "Asn=1", "cdn-a", 1000, 9);
  EventFacts facts;
  std::uint64_t tag = 0;
  std::size_t accepted = 0;
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  for (std::size_t at = 0; at < id.size(); ++at)
    for (char c : alphabet) {
      if (c == id[at]) continue;
      auto altered = id;
      altered[at] = c;
      if (codec.decode(altered, facts, tag) == Check::ok) ++accepted;
    }
  CHECK(accepted == 0);
  for (std::size_t cut = 0; cut < id.size(); ++cut)
    CHECK(codec.decode(id.substr(0, cut), facts, tag) != Check::ok);
  CHECK(codec.decode(id + "A", facts, tag) != Check::ok);
  // Same format, another cluster's key: forged, not merely malformed.
  EventTokenCodec other({1, 2});
  CHECK(other.decode(id, facts, tag) == Check::forged);
  // A group swapped in by someone who knows the format but not the key.
  const auto mine = encode(codec, "Asn=2", "cdn-a", 1000, 9);
  CHECK(codec.decode(mine, facts, tag) == Check::ok);
  CHECK(facts.group == "Asn=2");
}

TEST_CASE("ids that are not event ids are malformed", "[event_token]") {
  EventTokenCodec codec(kKey);
  EventFacts facts;
  std::uint64_t tag = 0;
  const std::vector<std::string> bad_ids{
      "",          "0123456789abcdef",
      "not an id", "====",
      "A",         std::string(EventTokenCodec::kMaxTokenSize + 1, 'A')};
  for (const auto& bad : bad_ids) CHECK(codec.decode(bad, facts, tag) == Check::malformed);
}

TEST_CASE("ids of distinct decisions have distinct tags", "[event_token]") {
  EventTokenCodec codec(kKey);
  std::set<std::uint64_t> tags;
  EventFacts facts;
  for (std::uint64_t nonce = 0; nonce < 20000; ++nonce) {
    std::uint64_t tag = 0;
    REQUIRE(codec.decode(encode(codec, "g", "d", 5, nonce), facts, tag) == Check::ok);
    tags.insert(tag);
  }
  CHECK(tags.size() == 20000);
}
