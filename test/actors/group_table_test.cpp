#include "actors/group_table.hpp"

#include <catch2/catch.hpp>
#include <thread>

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

TEST_CASE("readers see published snapshots while writers swap them", "[table][concurrency]") {
  GroupTable table;
  auto slot = table.insert("g");
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> max_seen{0};
  std::atomic<int> started{0};
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
            REQUIRE(snap->version() >= last);  // versions never go back
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
    slot->snapshot.store(std::make_shared<DecisionSnapshot>("ducb", std::vector<ArmSnapshot>{}, 0, v));
  stop = true;
  for (auto& r : readers) r.join();
  CHECK(max_seen > 0);
  CHECK(slot->snapshot.load()->version() == 20000);
}

TEST_CASE("all() lists every slot", "[table]") {
  GroupTable table;
  for (int i = 0; i < 1000; ++i) table.insert("g" + std::to_string(i));
  CHECK(table.all().size() == 1000);
  CHECK(table.size() == 1000);
}
