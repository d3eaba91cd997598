#include "core/state_codec.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "bandit_harness.hpp"
#include "core/arm_policy.hpp"
#include "core/crc32.hpp"
#include "core/errors.hpp"
#include "core/policy.hpp"

using namespace pytheas;
using pytheas::testing::run_bandit;

namespace {

double drifting(int t, int arm) {
  return 0.3 + 0.2 * arm + (t > 700 && arm == 0 ? 0.5 : 0.0);
}

std::vector<PolicyConfig> every_kind() {
  std::vector<PolicyConfig> configs;
  for (std::string kind : {"ducb", "ucb", "swucb", "egreedy", "thompson", "random", "fixed"}) {
    PolicyConfig config;
    config.kind = kind;
    config.fixed_decision = "arm1";
    config.window_s = 200;
    config.forget_after_s = 300;
    configs.push_back(config);
  }
  configs.push_back(PolicyConfig::original_ducb());
  return configs;
}

std::string valid_state() {
  auto policy = make_policy(PolicyConfig{}, 1);
  policy->update({"a", 1.0, 1});
  policy->update({"b", 0.5, 2});
  return policy->serialize(0);
}

}  // namespace

TEST_CASE("writer and reader round-trip every field type", "[codec]") {
  StateWriter writer;
  writer.u8(7);
  writer.u32(0xDEADBEEF);
  writer.u64(0x0123456789ABCDEFull);
  writer.i64(-5);
  writer.f64(-0.1);
  writer.f64(std::nextafter(1.0, 2.0));
  writer.str("héllo");
  writer.str("");
  const std::string bytes = writer.seal();
  auto reader = StateReader::open(bytes);
  CHECK(reader.u8("a") == 7);
  CHECK(reader.u32("b") == 0xDEADBEEF);
  CHECK(reader.u64("c") == 0x0123456789ABCDEFull);
  CHECK(reader.i64("d") == -5);
  CHECK(reader.f64("e") == -0.1);
  CHECK(reader.f64("f") == std::nextafter(1.0, 2.0));
  CHECK(reader.str("g") == "héllo");
  CHECK(reader.str("h").empty());
  reader.expect_end();
  CHECK_THROWS_WITH(reader.u8("beyond"), Catch::Contains("beyond") && Catch::Contains("truncated"));
}

TEST_CASE("serialize then restore continues with identical decisions", "[codec]") {
  for (const auto& config : every_kind()) {
    DYNAMIC_SECTION(config.kind << (config.batch_s > 0 ? " (original)" : "")) {
      auto original = make_policy(config, 31);
      run_bandit(*original, 3, 600, drifting, 5);
      const std::string bytes = original->serialize(0);
      auto restored = restore_policy(bytes, 0);
      CHECK(restored->serialize(0) == bytes);
      CHECK(restored->config() == config);
      CHECK(restored->arm_count() == original->arm_count());

      auto continued = run_bandit(*original, 3, 600, drifting, 77, 600);
      auto resumed = run_bandit(*restored, 3, 600, drifting, 77, 600);
      CHECK(continued.choices == resumed.choices);
      CHECK(original->serialize(0) == restored->serialize(0));
      auto a = original->snapshot(1300);
      auto b = restored->snapshot(1300);
      CHECK(a->version() == b->version());
      REQUIRE(a->arms().size() == b->arms().size());
      for (std::size_t i = 0; i < a->arms().size(); ++i) {
        CHECK(a->arms()[i].name == b->arms()[i].name);
        CHECK(a->arms()[i].weight == b->arms()[i].weight);
        CHECK(a->arms()[i].mean == b->arms()[i].mean);
      }
    }
  }
}

TEST_CASE("restore rejects corrupt state with a precise error", "[codec]") {
  const std::string good = valid_state();
  REQUIRE_NOTHROW(restore_policy(good, 0));

  SECTION("empty and truncated input") {
    CHECK_THROWS_AS(restore_policy("", 0), CorruptState);
    CHECK_THROWS_WITH(restore_policy(good.substr(0, good.size() - 1), 0),
                      Catch::Contains("length"));
    CHECK_THROWS_AS(restore_policy(good.substr(0, 9), 0), CorruptState);
  }
  SECTION("trailing bytes") {
    CHECK_THROWS_WITH(restore_policy(good + "x", 0), Catch::Contains("length"));
  }
  SECTION("wrong magic") {
    auto bad = good;
    bad[0] = 'X';
    CHECK_THROWS_WITH(restore_policy(bad, 0), Catch::Contains("magic"));
  }
  SECTION("unknown version") {
    auto bad = good;
    bad[4] = 9;
    CHECK_THROWS_WITH(restore_policy(bad, 0), Catch::Contains("version"));
  }
  SECTION("any flipped payload bit fails the checksum") {
    for (std::size_t at = 10; at + 4 < good.size(); at += 7) {
      auto bad = good;
      bad[at] = static_cast<char>(bad[at] ^ 0x10);
      CHECK_THROWS_WITH(restore_policy(bad, 0), Catch::Contains("checksum"));
    }
  }
  SECTION("a well-formed envelope with an invalid config") {
    StateWriter writer;
    writer.str("nope");
    CHECK_THROWS_AS(restore_policy(writer.seal(), 0), CorruptState);
    PolicyConfig config;
    config.epsilon = 3;
    StateWriter bad_epsilon;
    bad_epsilon.str(config.kind);
    for (double value :
         {config.half_life_s, config.batch_s, config.batch_discount, config.exploration})
      bad_epsilon.f64(value);
    bad_epsilon.u8(1);
    bad_epsilon.u32(10);
    bad_epsilon.f64(config.window_s);
    bad_epsilon.f64(config.epsilon);
    bad_epsilon.u32(64);
    bad_epsilon.str("");
    bad_epsilon.f64(0);
    bad_epsilon.f64(config.change_threshold);
    bad_epsilon.f64(config.max_observations);
    CHECK_THROWS_WITH(restore_policy(bad_epsilon.seal(), 0), Catch::Contains("epsilon"));
  }
  SECTION("a checksummed payload with a non-finite field") {
    // ducb without change detection has no extra state: the payload ends with
    // the last arm's last-seen time and the "no detectors" byte.
    PolicyConfig config;
    config.change_threshold = 0;
    auto policy = make_policy(config, 1);
    policy->update({"a", 1.0, 1});
    const auto plain = policy->serialize(0);
    auto reader = StateReader::open(plain);
    std::string payload;
    while (reader.remaining() > 9) payload.push_back(static_cast<char>(reader.u8("byte")));
    StateWriter writer;
    for (char byte : payload) writer.u8(static_cast<std::uint8_t>(byte));
    writer.f64(std::numeric_limits<double>::quiet_NaN());
    writer.u8(0);
    CHECK_THROWS_WITH(restore_policy(writer.seal(), 0), Catch::Contains("arm last seen"));
  }
  SECTION("a valid config followed by a truncated body") {
    auto policy = make_policy(PolicyConfig{}, 1);
    const std::string full = policy->serialize(0);
    // Re-seal a prefix of the payload so only the body check can catch it.
    auto reader = StateReader::open(full);
    StateWriter writer;
    const std::size_t keep = reader.remaining() - 5;
    for (std::size_t i = 0; i < keep; ++i) writer.u8(reader.u8("byte"));
    CHECK_THROWS_WITH(restore_policy(writer.seal(), 0), Catch::Contains("truncated"));
  }
}

// Format 1 (before change detection) had no change_threshold in the config
// and no detectors after the arms: such a state still restores, keeping its
// statistics, and takes today's default change detection.
TEST_CASE("a format-1 state restores with today's default change detection", "[codec]") {
  PolicyConfig config;
  config.change_threshold = 0;
  auto policy = make_policy(config, 1);
  policy->update({"a", 1.0, 1});
  policy->update({"b", 0.5, 2});
  // Format 2 without detectors, taken apart: the config ends with
  // forget_after_s, change_threshold and max_observations; the payload with
  // the u8 flag.
  const std::string v2 = policy->serialize(0);  // the readers below view it
  auto reader = StateReader::open(v2);
  read_policy_config(reader);
  const std::size_t config_end =
      StateReader::open(v2).remaining() - reader.remaining();  // just after max_observations
  auto all = StateReader::open(v2);
  std::string payload;
  while (all.remaining() > 0) payload.push_back(static_cast<char>(all.u8("byte")));
  std::string v1 = payload.substr(0, config_end - 16) +
                   payload.substr(config_end, payload.size() - config_end - 1);
  // The format-1 envelope: magic, version 1, length, payload, CRC-32.
  std::string bytes(kStateMagic, 4);
  bytes += std::string("\x01\x00", 2);
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((v1.size() >> (8 * i)) & 0xFF));
  bytes += v1;
  const std::uint32_t crc = crc32(bytes);
  for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));

  // Its last update (t = 2) lands at the time given: here, where it was.
  auto restored = restore_policy(bytes, 2);
  CHECK(restored->config().change_threshold == PolicyConfig{}.change_threshold);
  auto a = restored->snapshot(3);
  auto b = policy->snapshot(3);
  REQUIRE(a->arms().size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(a->arms()[i].name == b->arms()[i].name);
    CHECK(a->arms()[i].mean == b->arms()[i].mean);
    CHECK(a->arms()[i].count == b->arms()[i].count);
  }
  // Written again in today's format, it reads back to the same state.
  CHECK(restore_policy(restored->serialize(0), 0)->serialize(0) == restored->serialize(0));
}

// Format 3 holds ages, not instants: a state written on one clock and read on
// another an hour ahead or behind (another member, a stepped clock, the next
// boot's monotonic clock) means the same there: its snapshot at the matching
// instant is the original's.
TEST_CASE("a state moved to a clock an hour off keeps what it learned", "[codec][time]") {
  for (const auto& config : every_kind()) {
    for (double skew : {3600.0, -3600.0, 1.2e6}) {
      DYNAMIC_SECTION(config.kind << (config.batch_s > 0 ? " (original)" : "") << " skew "
                                  << skew) {
        auto original = make_policy(config, 31);
        run_bandit(*original, 3, 600, drifting, 5);
        const double written = 605;  // the writer's clock, a little after its last update
        auto moved = restore_policy(original->serialize(written), written + skew);
        for (double later : {0.0, 30.0, 250.0}) {
          auto a = original->snapshot(written + later);
          auto b = moved->snapshot(written + skew + later);
          REQUIRE(a->arms().size() == b->arms().size());
          for (std::size_t i = 0; i < a->arms().size(); ++i) {
            INFO("arm " << a->arms()[i].name << " at +" << later);
            CHECK(b->arms()[i].name == a->arms()[i].name);
            CHECK(b->arms()[i].count == Approx(a->arms()[i].count).epsilon(1e-9).margin(1e-12));
            CHECK(b->arms()[i].mean == Approx(a->arms()[i].mean).epsilon(1e-9));
            CHECK(b->arms()[i].weight == Approx(a->arms()[i].weight).epsilon(1e-9).margin(1e-12));
          }
        }
      }
    }
  }
}

// Before format 3 a state held its writer's wall-clock instants; read on a
// monotonic clock (seconds since boot) they would lie in the far future or
// past (everything decayed, or every arm forgotten). Such a state's last
// update becomes the writing instant the reader gives.
TEST_CASE("a format-2 state (wall-clock instants) moves its last update to the given time",
          "[codec][time]") {
  auto policy = make_policy(PolicyConfig{}, 3);
  const double wall = 1.7e9;
  for (int i = 0; i < 100; ++i) policy->update({i % 2 ? "x" : "y", i % 2 ? 9.0 : 1.0, wall + i});
  // Format 3 at writing instant 0 holds the instants unchanged: relabelled
  // as format 2, it is the state an older build wrote.
  std::string v2 = policy->serialize(0);
  v2[4] = 2;
  const std::uint32_t crc = crc32(v2.substr(0, v2.size() - 4));
  for (int i = 0; i < 4; ++i) v2[v2.size() - 4 + i] = static_cast<char>((crc >> (8 * i)) & 0xFF);
  auto restored = restore_policy(v2, 500);  // a node 500 s after boot
  auto a = policy->snapshot(wall + 99);
  auto b = restored->snapshot(500);
  REQUIRE(b->arms().size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(b->arms()[i].count == Approx(a->arms()[i].count));
    CHECK(b->arms()[i].mean == Approx(a->arms()[i].mean));
  }
  CHECK(b->arms()[0].count > 20);  // nothing decayed away, no arm forgotten
}
