#include "actors/group/passivated_store.hpp"

#include <catch2/catch.hpp>

#include <map>

#include "core/policy.hpp"
#include "core/report_marks.hpp"
#include "core/rng.hpp"

using namespace pytheas;

namespace {

// A realistic record: a ducb group that saw three arms a few times.
GroupRecord group(int g, std::uint64_t wal_seq = 0) {
  auto policy = make_policy(PolicyConfig{}, static_cast<std::uint64_t>(g) + 1);
  for (int r = 0; r < 5; ++r)
    for (int a = 0; a < 3; ++a)
      policy->update({"cdn-" + std::to_string(a), 1.0 + a + r * 0.37 + g * 0.01, 1.7e9 + r + g});
  GroupRecord record;
  record.key = "Asn=" + std::to_string(g);
  record.decisions = static_cast<std::uint64_t>(g) * 3;
  record.reports = 15;
  record.last_activity = 1.7e9 + g;
  record.policy_state = policy->serialize(0);
  record.wal_seq = wal_seq;
  if (g % 3 == 0) {  // a cluster member's group: its marks, floor and confirmer stay
    const auto u = static_cast<std::uint64_t>(g);
    record.marks.advance({origin_id("fe-a1"), 1700000000000000 + u, 40 + u});
    record.marks.advance({origin_id("fe-b1"), 1700000000000001, 7});
    record.floor.advance({origin_id("fe-a1"), 1700000000000000 + u, 30 + u});
    record.confirmer = "be-a";
  }
  return record;
}

void check_same(const GroupRecord& a, const GroupRecord& b) {
  CHECK(a.key == b.key);
  CHECK(a.decisions == b.decisions);
  CHECK(a.reports == b.reports);
  CHECK(a.last_activity == b.last_activity);
  CHECK(a.policy_state == b.policy_state);
  CHECK(a.wal_seq == b.wal_seq);
  CHECK(a.marks == b.marks);
  CHECK(a.floor == b.floor);
  CHECK(a.confirmer == b.confirmer);
}

}  // namespace

TEST_CASE("passivated records come back byte for byte", "[passivated]") {
  PassivatedStore store;
  CHECK_FALSE(store.get("Asn=1"));
  for (int g = 0; g < 20; ++g) store.put(group(g, g % 2 ? 0 : 77));
  REQUIRE(store.size() == 20);
  for (int g = 0; g < 20; ++g) {
    auto back = store.get("Asn=" + std::to_string(g));
    REQUIRE(back);
    check_same(*back, group(g, g % 2 ? 0 : 77));
    // The state is usable: it restores a policy.
    CHECK(restore_policy(back->policy_state, 0)->arm_count() == 3);
  }
  std::size_t seen = 0;
  store.for_each([&](GroupRecord&& record) {
    CHECK(record.policy_state.size() > 100);
    ++seen;
  });
  CHECK(seen == 20);
}

TEST_CASE("passivated records take far fewer bytes than their encoding", "[passivated]") {
  PassivatedStore store;
  std::size_t encoded = 0;
  for (int g = 0; g < 20000; ++g) {
    auto record = group(g);
    encoded += StateStore::encode(record).size();
    store.put(record);
  }
  // Segments (256 KB each) and index together, against the bare encodings
  // (~330 bytes each).
  CHECK(store.bytes() < encoded * 2 / 3);
}

TEST_CASE("a newer put survives the acknowledgement of an older one", "[passivated]") {
  PassivatedStore store;
  const auto first = store.put(group(1));
  auto newer = group(1);
  newer.reports = 99;
  const auto second = store.put(newer);
  CHECK(store.size() == 1);
  CHECK_FALSE(store.erase_if_stamp("Asn=1", first));
  CHECK(store.get("Asn=1")->reports == 99);
  CHECK(store.erase_if_stamp("Asn=1", second));
  CHECK_FALSE(store.contains("Asn=1"));
  CHECK_FALSE(store.erase("Asn=1"));
}

TEST_CASE("the store agrees with a map through growth and many erases", "[passivated]") {
  PassivatedStore store;
  std::map<std::string, std::uint64_t> expected;  // key -> reports
  Rng rng(3);
  for (int step = 0; step < 6000; ++step) {
    const int g = static_cast<int>(rng.below(700));
    const auto key = "Asn=" + std::to_string(g);
    if (rng.below(3) == 0) {
      CHECK(store.erase(key) == (expected.erase(key) == 1));
    } else {
      auto record = group(g);
      record.reports = static_cast<std::uint64_t>(step);
      store.put(record);
      expected[key] = record.reports;
    }
  }
  REQUIRE(store.size() == expected.size());
  for (const auto& [key, reports] : expected) {
    auto back = store.get(key);
    REQUIRE(back);
    CHECK(back->reports == reports);
  }
}

TEST_CASE("replaced records are compacted away and the log stays bounded", "[passivated]") {
  PassivatedStore store;
  for (int g = 0; g < 3000; ++g) store.put(group(g));
  const std::size_t filled = store.bytes();
  // Replace every record many times: dead records pile up in old segments,
  // which get compacted (their live records moved) and freed.
  for (int round = 0; round < 8; ++round)
    for (int g = 0; g < 3000; ++g) {
      auto record = group(g);
      record.reports = static_cast<std::uint64_t>(round);
      store.put(record);
    }
  CHECK(store.size() == 3000);
  CHECK(store.bytes() < 3 * filled);
  for (int g = 0; g < 3000; g += 7) CHECK(store.get("Asn=" + std::to_string(g))->reports == 7);
  // Erase most: segments empty out and are released.
  for (int g = 0; g < 3000; ++g)
    if (g % 10) store.erase("Asn=" + std::to_string(g));
  CHECK(store.size() == 300);
  CHECK(store.bytes() < filled);
  for (int g = 0; g < 3000; g += 10)
    check_same(*store.get("Asn=" + std::to_string(g)), [&] {
      auto record = group(g);
      record.reports = 7;
      return record;
    }());
}

TEST_CASE("a record bigger than a segment is stored on its own", "[passivated]") {
  PassivatedStore store;
  store.put(group(1));
  GroupRecord big;
  big.key = "big";
  big.decisions = 1;
  big.reports = 2;
  big.last_activity = 3;
  big.policy_state = std::string(600 * 1024, 'x');
  Rng rng(5);
  for (auto& c : big.policy_state) c = static_cast<char>(rng.below(256));  // incompressible
  store.put(big);
  CHECK(store.get("big")->policy_state == big.policy_state);
  CHECK(store.erase("big"));
  CHECK(store.get("Asn=1")->key == "Asn=1");
}
