#include "actors/node/event_journal.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <thread>

using pytheas::EventJournal;
using Claim = EventJournal::Claim;

TEST_CASE("an event is claimed once, then it is a duplicate", "[journal]") {
  EventJournal journal(1000, 600);
  auto id = journal.record("Asn=1", "cdn-a", 100);
  CHECK(id.size() == 16);
  EventJournal::Event event;
  CHECK(journal.claim(id, 101, event) == Claim::ok);
  CHECK(event.group == "Asn=1");
  CHECK(event.decision == "cdn-a");
  CHECK(journal.claim(id, 102, event) == Claim::duplicate);
}

TEST_CASE("unknown, malformed and expired ids are unknown", "[journal]") {
  EventJournal journal(1000, 10);
  EventJournal::Event event;
  CHECK(journal.claim("0123456789abcdef", 0, event) == Claim::unknown);
  CHECK(journal.claim("not-an-id", 0, event) == Claim::unknown);
  CHECK(journal.claim("", 0, event) == Claim::unknown);
  CHECK(journal.claim("0123456789ABCDEF", 0, event) == Claim::unknown);
  auto id = journal.record("g", "d", 100);
  CHECK(journal.claim(id, 110.5, event) == Claim::unknown);  // window is 10 s
}

TEST_CASE("capacity bounds memory by evicting the oldest events", "[journal]") {
  EventJournal journal(160, 600);  // 10 per shard
  std::vector<std::string> ids;
  for (int i = 0; i < 2000; ++i) ids.push_back(journal.record("g", "d", 1));
  CHECK(journal.size() <= 160 + 16);
  CHECK(journal.evicted() >= 2000 - 176);
  EventJournal::Event event;
  CHECK(journal.claim(ids.front(), 2, event) == Claim::unknown);
  CHECK(journal.claim(ids.back(), 2, event) == Claim::ok);
}

TEST_CASE("ids are unique across threads and each claim succeeds exactly once", "[journal]") {
  EventJournal journal(1 << 20, 600);
  std::vector<std::vector<std::string>> ids(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) ids[t].push_back(journal.record("g", "d", 1));
    });
  for (auto& th : threads) th.join();
  std::set<std::string> unique;
  for (auto& list : ids) unique.insert(list.begin(), list.end());
  CHECK(unique.size() == 20000);
  std::atomic<int> ok{0}, dup{0};
  threads.clear();
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      EventJournal::Event event;
      for (auto& id : ids[0]) {
        auto claim = journal.claim(id, 2, event);
        (claim == Claim::ok ? ok : dup)++;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(ok == 5000);
  CHECK(dup == 15000);
}
