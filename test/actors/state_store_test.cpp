#include "actors/storage/state_store.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <random>

#include "core/crc32.hpp"
#include "core/errors.hpp"
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

TEST_CASE("the write-ahead log sequence is stored in version 2, version 1 reads as 0",
          "[store][wal]") {
  auto plain = sample("Asn=7922", 5);
  auto v1 = StateStore::encode(plain);
  CHECK(v1[8] == 1);  // no sequence: still written as version 1, readable by older builds
  CHECK(StateStore::decode(v1, "f").wal_seq == 0);

  auto logged = plain;
  logged.wal_seq = 0x1234'5678'9abcull;
  auto v2 = StateStore::encode(logged);
  CHECK(v2[8] == 2);
  CHECK(v2.size() == v1.size() + 8);
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

TEST_CASE("report marks and floor are stored in version 3 (cluster members)", "[store]") {
  auto record = sample("Asn=7922", 5);
  record.wal_seq = 77;
  record.marks.advance({origin_id("fe-a"), 100, 5});
  record.marks.advance({origin_id("fe-b"), 200, 9});
  record.floor.advance({origin_id("fe-a"), 100, 4});
  auto v3 = StateStore::encode(record);
  CHECK(v3[8] == 3);
  auto back = StateStore::decode(v3, "f");
  CHECK(back.marks == record.marks);
  CHECK(back.floor == record.floor);
  CHECK(back.wal_seq == 77);
  CHECK(back.policy_state == record.policy_state);
  // Cut inside the floor: refused, naming the field.
  auto cut = v3.substr(0, v3.size() - 8);
  auto body = cut.substr(16);
  std::uint32_t crc = crc32(body);
  std::memcpy(cut.data() + 12, &crc, 4);
  CHECK_THROWS_WITH(StateStore::decode(cut, "f"), "f: truncated at floor");
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
