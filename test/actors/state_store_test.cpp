#include "actors/storage/state_store.hpp"
#include "actors/storage/stamp_epoch.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <random>

#include "core/crc32.hpp"
#include "core/errors.hpp"
#include "core/raw_bytes.hpp"
#include "test/support/temp_dir.hpp"

using namespace pytheas;
using pytheas::test::TempDir;
namespace fs = std::filesystem;

namespace {

GroupRecord sample(const std::string& key, double last) {
  GroupRecord record;
  record.key = key;
  record.decisions = 12;
  record.reports = 34;
  record.last_activity = last;
  record.policy_state = std::string("policy\0bytes", 12);
  return record;
}
}  // namespace

TEST_CASE("records round-trip through files", "[store]") {
  TempDir dir;
  StateStore store(dir.path());
  store.save({sample("Asn=7922", 5), sample("Asn=701;City=New York/NY", 9)});
  auto loaded = store.load("Asn=701;City=New York/NY");
  REQUIRE(loaded);
  CHECK(loaded->key == "Asn=701;City=New York/NY");
  CHECK(loaded->decisions == 12);
  CHECK(loaded->reports == 34);
  CHECK(loaded->last_activity == 9);
  CHECK(loaded->policy_state == std::string("policy\0bytes", 12));
  CHECK_FALSE(store.load("Asn=1"));
  auto entries = store.list();
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].key == "Asn=701;City=New York/NY");  // most recent first
  // Saving again replaces, and leaves no temp files behind.
  store.save({sample("Asn=7922", 20)});
  CHECK(store.load("Asn=7922")->last_activity == 20);
  for (auto& f : fs::directory_iterator(store.directory())) CHECK(f.path().extension() == ".group");
}

TEST_CASE("file names are safe and distinct", "[store]") {
  CHECK(StateStore::file_name("Asn=7922") == "Asn=7922.group");
  CHECK(StateStore::file_name("../etc/passwd").find('/') == std::string::npos);
  CHECK(StateStore::file_name("..")[0] != '.');
  CHECK(StateStore::file_name("a b") != StateStore::file_name("a_b"));
  CHECK(StateStore::file_name(std::string(1000, 'x')).size() < 200);
  CHECK(StateStore::file_name(std::string(1000, 'x')) !=
        StateStore::file_name(std::string(999, 'x') + "y"));
}

TEST_CASE("every corruption is detected and named", "[store]") {
  auto bytes = StateStore::encode(sample("g", 1));
  CHECK(StateStore::decode(bytes, "f").key == "g");
  auto flipped = bytes;
  flipped[flipped.size() - 3] ^= 0x40;
  CHECK_THROWS_WITH(StateStore::decode(flipped, "f"), "f: checksum mismatch");
  CHECK_THROWS_WITH(StateStore::decode(bytes.substr(0, 5), "f"),
                    "f: not a Pytheas group state file (bad magic)");
  CHECK_THROWS_AS(StateStore::decode(bytes.substr(0, bytes.size() - 4), "f"), CorruptState);
  auto future = bytes;
  future[8] = 9;  // format version
  CHECK_THROWS_WITH(StateStore::decode(future, "f"), "f: unsupported format version 9");
}

namespace {

// A file as builds before version 4 wrote it: the lowest version that held
// the record (1: no sequence, 2: a sequence, 3: marks).
std::string legacy_file(const GroupRecord& record, std::uint32_t version) {
  std::string body;
  auto put_bytes = [&](std::string_view bytes) {
    append_raw(body, static_cast<std::uint32_t>(bytes.size()));
    body.append(bytes);
  };
  put_bytes(record.key);
  append_raw(body, record.decisions);
  append_raw(body, record.reports);
  append_raw(body, record.last_activity);
  put_bytes(record.policy_state);
  if (version >= 2) append_raw(body, record.wal_seq);
  if (version >= 3) {
    record.marks.append_to(body);
    record.floor.append_to(body);
    put_bytes(record.confirmer);
  }
  std::string out("PYTGRP\r\n", 8);
  append_raw(out, version);
  append_raw(out, crc32(body));
  return out + body;
}

}  // namespace

TEST_CASE("the write-ahead log sequence is read from version 2, version 1 reads as 0",
          "[store][wal]") {
  auto plain = sample("Asn=7922", 5);
  auto v1 = legacy_file(plain, 1);
  CHECK(StateStore::decode(v1, "f").wal_seq == 0);

  auto logged = plain;
  logged.wal_seq = 0x1234'5678'9abcull;
  auto v2 = legacy_file(logged, 2);
  auto back = StateStore::decode(v2, "f");
  CHECK(back.wal_seq == logged.wal_seq);
  CHECK(back.policy_state == logged.policy_state);
  CHECK(back.reports == logged.reports);

  // A version 2 body without its sequence (or a version 1 body with one) is refused.
  auto relabeled = v1;
  relabeled[8] = 2;
  CHECK_THROWS_WITH(StateStore::decode(relabeled, "f"), "f: truncated at wal_seq");
  relabeled = v2;
  relabeled[8] = 1;
  CHECK_THROWS_WITH(StateStore::decode(relabeled, "f"), "f: trailing bytes");

  TempDir dir;
  StateStore store(dir.path());
  store.save({logged, sample("other", 9)});
  auto listed = store.list();
  REQUIRE(listed.size() == 2);
  CHECK(listed[0].key == "other");
  CHECK(listed[0].wal_seq == 0);
  CHECK(listed[1].wal_seq == logged.wal_seq);
}

TEST_CASE("report marks and floor are stored (cluster members), and read from version 3",
          "[store]") {
  auto record = sample("Asn=7922", 5);
  record.wal_seq = 77;
  record.marks.advance({origin_id("fe-a"), 100, 5});
  record.marks.advance({origin_id("fe-b"), 200, 9});
  record.floor.advance({origin_id("fe-a"), 100, 4});
  for (const auto& bytes : {StateStore::encode(record), legacy_file(record, 3)}) {
    auto back = StateStore::decode(bytes, "f");
    CHECK(back.marks == record.marks);
    CHECK(back.floor == record.floor);
    CHECK(back.wal_seq == 77);
    CHECK(back.policy_state == record.policy_state);
  }
  // Cut inside the floor: refused, naming the field.
  auto v3 = legacy_file(record, 3);
  auto cut = v3.substr(0, v3.size() - 8);
  auto body = cut.substr(16);
  std::uint32_t crc = crc32(body);
  std::memcpy(cut.data() + 12, &crc, 4);
  CHECK_THROWS_WITH(StateStore::decode(cut, "f"), "f: truncated at floor");
}

TEST_CASE("version 4 records when its state was written; reading charges the downtime rule",
          "[store][time]") {
  auto record = sample("g", 1000);
  const std::uint64_t boot = 0xB007;
  const ClockReading then{1'700'000'000, 5000, boot};
  record.written_at = 4990;  // 10 s before `then`, on its monotonic clock
  const auto bytes = StateStore::encode(record, then);
  CHECK(bytes[8] == 4);
  auto read_at = [&](double wall, double monotonic, std::uint64_t at_boot) {
    return StateStore::decode(bytes, "f", ClockReading{wall, monotonic, at_boot}).written_at;
  };
  // The same boot: the monotonic clock measures it, whatever the wall clock did.
  CHECK(read_at(then.wall + 60, 5060, boot) == 4990);
  CHECK(read_at(then.wall + 3600 + 60, 5060, boot) == 4990);  // wall stepped +1 h
  CHECK(read_at(then.wall - 3600 + 60, 5060, boot) == 4990);  // wall stepped -1 h
  // Another boot (the monotonic clock restarted): the wall clock, 10 s + downtime.
  CHECK(read_at(then.wall + 100, 20, 0xB008) == Approx(20 - 110));
  // A wall clock stepped back across the reboot: nothing elapsed.
  CHECK(read_at(then.wall - 3600, 20, 0xB008) == 20);
  // A long downtime, or a clock stepped far ahead: at most kMaxChargedDowntime.
  CHECK(read_at(then.wall + 86400, 20, 0xB008) == 20 - kMaxChargedDowntime);
  // A state that waited longer than the cap in this boot: capped the same.
  CHECK(read_at(then.wall + 3600, 5000 + 3600, boot) == 5000 + 3600 - kMaxChargedDowntime);

  // Older files have no writing instant: their last activity stands for it.
  const auto v3 = legacy_file(record, 3);
  CHECK(StateStore::decode(v3, "f", ClockReading{1060, 500, boot}).written_at == 500 - 60);
  CHECK(StateStore::decode(v3, "f", ClockReading{900, 500, boot}).written_at == 500);
}

TEST_CASE("a corrupt file is reported by list and load", "[store]") {
  TempDir dir;
  StateStore store(dir.path());
  store.save({sample("good", 1), sample("bad", 2)});
  {
    std::ofstream out(store.directory() / StateStore::file_name("bad"), std::ios::binary);
    out << "garbage";
  }
  std::vector<std::string> corrupt;
  auto entries = store.list(&corrupt);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].key == "good");
  REQUIRE(corrupt.size() == 1);
  CHECK(corrupt[0].find("bad.group") != std::string::npos);
  CHECK_THROWS_AS(store.load("bad"), CorruptState);
}

TEST_CASE("an unwritable state dir is a clear error", "[store]") {
  CHECK_THROWS_WITH(StateStore("/proc/pytheas-cannot-exist"),
                    Catch::Contains("/proc/pytheas-cannot-exist"));
}

TEST_CASE("a member's report stamp epoch never goes back, even when its clock does",
          "[store][time]") {
  pytheas::test::TempDir dir;
  const auto state = dir.path().string();
  CHECK(pytheas::next_stamp_epoch(state, 5'000) == 5'000);
  // Restarted after the clock stepped back: still above the last run's.
  CHECK(pytheas::next_stamp_epoch(state, 1'000) == 5'001);
  CHECK(pytheas::next_stamp_epoch(state, 1'000) == 5'002);
  // The clock ahead again: its time.
  CHECK(pytheas::next_stamp_epoch(state, 9'000) == 9'000);
  {
    std::ofstream broken(dir.path_of("stamp-epoch"));
    broken << "not a number\n";
  }
  CHECK_THROWS_WITH(pytheas::next_stamp_epoch(state, 10'000),
                    Catch::Contains("expected a report stamp epoch"));
}
