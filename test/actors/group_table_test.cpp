#include "actors/group/group_table.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "core/policy.hpp"

using namespace pytheas;

TEST_CASE("insert, visit, erase", "[table]") {
  GroupTable table;
  CHECK_FALSE(table.visit("a", [](GroupSlot&) {}));
  auto slot = table.insert("a");
  CHECK(table.insert("a") == slot);
  CHECK(table.size() == 1);
  bool seen = false;
  CHECK(table.visit(std::string_view("a"), [&](GroupSlot& s) { seen = s.key == "a"; }));
  CHECK(seen);
  CHECK(table.erase("a") == slot);
  CHECK(table.erase("a") == nullptr);
  CHECK(table.size() == 0);
  // An erased slot stays usable by whoever holds it.
  slot->reports += 1;
  CHECK(slot->reports == 1);
}

TEST_CASE("the table agrees with a map through growth and many erases", "[table]") {
  GroupTable table;
  std::map<std::string, GroupSlotPtr> expected;
  Rng rng(7);
  for (int step = 0; step < 40000; ++step) {
    const auto key = "Asn=" + std::to_string(rng.below(3000));
    if (rng.below(3) == 0) {
      auto it = expected.find(key);
      CHECK(table.erase(key) == (it == expected.end() ? nullptr : it->second));
      if (it != expected.end()) expected.erase(it);
    } else {
      auto slot = table.insert(key);
      auto [it, inserted] = expected.try_emplace(key, slot);
      CHECK(it->second == slot);  // an existing key keeps its slot
    }
  }
  REQUIRE(table.size() == expected.size());
  for (const auto& [key, slot] : expected) CHECK(table.find(key) == slot);
  CHECK(table.find("Asn=absent") == nullptr);
  CHECK(table.all().size() == expected.size());
}

TEST_CASE("a slot put back keeps its identity and counters", "[table]") {
  GroupTable table;
  auto slot = table.insert("g");
  slot->reports = 5;
  REQUIRE(table.erase("g") == slot);
  CHECK(table.insert(slot) == slot);
  CHECK(table.find("g")->reports == 5);
  CHECK(table.insert(std::make_shared<GroupSlot>("g")) == slot);  // present: kept
  CHECK(table.size() == 1);
}

TEST_CASE("readers see published snapshots while writers swap them", "[table][concurrency]") {
  GroupTable table;
  auto slot = table.insert("g");
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> max_seen{0};
  std::atomic<int> started{0};
  std::atomic<int> went_back{0};  // Catch2 assertions are not thread-safe: count, check later
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      std::uint64_t last = 0;
      ++started;
      bool last_round = false;
      while (!last_round) {
        last_round = stop.load();  // one more visit after the writer finished
        table.visit("g", [&](GroupSlot& s) {
          if (auto snap = s.snapshot.load()) {
            if (snap->version() < last) ++went_back;  // versions must never go back
            last = snap->version();
          }
        });
      }
      // Publish the largest version any reader saw (a CAS loop: readers race).
      auto seen = max_seen.load();
      while (seen < last && !max_seen.compare_exchange_weak(seen, last)) {
      }
    });
  while (started < 3) std::this_thread::yield();
  for (std::uint64_t v = 1; v <= 20000; ++v)
    slot->snapshot.store(
        std::make_shared<DecisionSnapshot>("ducb", std::vector<ArmSnapshot>{}, 0, v));
  stop = true;
  for (auto& r : readers) r.join();
  CHECK(went_back == 0);
  CHECK(max_seen > 0);
  CHECK(slot->snapshot.load()->version() == 20000);
}

TEST_CASE("all() lists every slot", "[table]") {
  GroupTable table;
  for (int i = 0; i < 1000; ++i) table.insert("g" + std::to_string(i));
  CHECK(table.all().size() == 1000);
  CHECK(table.size() == 1000);
}

TEST_CASE("io threads pick from snapshots while a publisher learns and groups come and go",
          "[table][concurrency]") {
  // The shape of a live node without CAF in the way (so ThreadSanitizer sees
  // every hand-over): reader threads do what Node::decide does, one thread
  // does what a group actor does, another what the supervisor does.
  GroupTable table;
  auto slot = table.insert("hot");
  auto policy = make_policy(PolicyConfig{}, 7);
  slot->snapshot.store(policy->snapshot(0));
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::atomic<std::uint64_t> picks{0};
  const std::vector<std::string_view> candidates = {"a", "b", "c"};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      Rng rng(static_cast<std::uint64_t>(t));
      while (!stop) {
        table.visit("hot", [&](GroupSlot& s) {
          auto snap = s.snapshot.load();
          auto pick = snap->pick(candidates, rng);
          if (pick.index >= candidates.size() || !(pick.propensity > 0)) ++bad;
          s.decisions.fetch_add(1, std::memory_order_relaxed);
          s.touch(1);
        });
        ++picks;
      }
    });
  threads.emplace_back([&] {  // the supervisor: groups spawn and retire
    for (int i = 0; !stop; ++i) {
      auto key = "g" + std::to_string(i % 100);
      if (i % 2)
        table.erase(key);
      else
        table.insert(key);
    }
  });
  for (int i = 0; i < 5000; ++i) {  // the group actor: learn, publish
    const char* arm = i % 3 == 0 ? "a" : (i % 3 == 1 ? "b" : "c");
    policy->update(Outcome{arm, i % 3 == 1 ? 1.0 : 0.0, i * 0.01, {}});
    if (i % 10 == 0) slot->snapshot.store(policy->snapshot(i * 0.01));
  }
  while (picks < 1000) std::this_thread::yield();
  stop = true;
  for (auto& th : threads) th.join();
  CHECK(bad == 0);
  CHECK(slot->decisions == picks);
}
