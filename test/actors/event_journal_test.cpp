#include "actors/node/event_journal.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <thread>

using pytheas::EventJournal;
using pytheas::SipKey;
using Claim = EventJournal::Claim;

namespace {
const SipKey kKey{11, 22};
/// `t` on both clocks (the tests that step one of them say so).
EventJournal::Time at(double t) {
  return {t, t};
}
}  // namespace

TEST_CASE("an event is claimed once, then it is a duplicate", "[journal]") {
  EventJournal journal(1000, 600, kKey);
  auto id = journal.record("Asn=1", "cdn-a", at(100));
  EventJournal::Event event;
  CHECK(journal.claim(id, at(101), event) == Claim::ok);
  CHECK(event.group == "Asn=1");
  CHECK(event.decision == "cdn-a");
  CHECK(journal.claim(id, at(102), event) == Claim::duplicate);
  CHECK(journal.claim(id, at(699), event) == Claim::duplicate);  // remembered all its window
}

TEST_CASE("unknown, malformed, forged and expired ids are unknown", "[journal]") {
  EventJournal journal(1000, 10, kKey);
  EventJournal::Event event;
  CHECK(journal.claim("0123456789abcdef", at(0), event) == Claim::unknown);
  CHECK(journal.claim("not-an-id", at(0), event) == Claim::unknown);
  CHECK(journal.claim("", at(0), event) == Claim::unknown);
  auto id = journal.record("g", "d", at(100));
  CHECK(journal.claim(id, at(110.5), event) == Claim::unknown);  // window is 10 s
  // Another node's (or cluster's) id: refused and counted.
  EventJournal elsewhere(1000, 10, SipKey{1, 2});
  CHECK(journal.claim(elsewhere.record("g", "d", at(100)), at(101), event) == Claim::unknown);
  CHECK(journal.forged() == 1);
  // Ids issued far in the future (beyond any skew) are not accepted either.
  CHECK(journal.claim(journal.record("g", "d", at(200)), at(150), event) == Claim::unknown);
}

TEST_CASE("a wall-clock step neither expires this node's open ids nor keeps them longer",
          "[journal][time]") {
  EventJournal journal(1000, 600, kKey);
  EventJournal::Event event;
  // Issued at wall 1e9, monotonic 100; the wall clock then steps an hour
  // forward (and, for the second id, back): their age is what the
  // monotonic clock says.
  const auto forward = journal.record("g", "d", {1e9, 100});
  CHECK(journal.claim(forward, {1e9 + 3600 + 10, 110}, event) == Claim::ok);
  const auto back = journal.record("g", "d", {1e9, 200});
  CHECK(journal.claim(back, {1e9 - 3600, 200 + 601}, event) == Claim::unknown);  // 601 s old
  // Another member's id (same key, another issuer) is aged by the wall clocks.
  EventJournal member(1000, 600, kKey);
  const auto theirs = member.record("g", "d", {1e9, 5});
  CHECK(journal.claim(theirs, {1e9 + 30, 999}, event) == Claim::ok);
  const auto stale = member.record("g", "d", {1e9, 5});
  CHECK(journal.claim(stale, {1e9 + 700, 999}, event) == Claim::unknown);
}

TEST_CASE("a report 10 minutes after its decision is accepted whatever came in between",
          "[journal]") {
  // The old journal kept every outstanding decision: with 1M of room, a
  // report came back 404 once 1M decisions had been made after it.
  EventJournal journal(1'000'000, 600, kKey);
  const auto first = journal.record("Asn=1", "cdn-a", at(0));
  std::string last;
  for (int i = 0; i < 2'000'000; ++i) last = journal.record("Asn=2", "cdn-b", at(i * 0.0003));
  EventJournal::Event event;
  CHECK(journal.claim(first, at(599.5), event) == Claim::ok);
  CHECK(event.group == "Asn=1");
  CHECK(journal.claim(last, at(599.5), event) == Claim::ok);
  CHECK(journal.size() == 2);  // only what was claimed is stored
  CHECK(journal.evicted() == 0);
}

TEST_CASE("sampled decisions carry their features to the report", "[journal]") {
  EventJournal journal(1000, 600, kKey);
  const std::vector<std::string_view> features{"7922", "Boston"};
  auto id = journal.record("Asn=7922", "cdn-a", at(1), features);
  EventJournal::Event event;
  REQUIRE(journal.claim(id, at(2), event) == Claim::ok);
  CHECK(event.features == std::vector<std::string>{"7922", "Boston"});
}

TEST_CASE(
    "beyond capacity the oldest claims are forgotten and their ids refused, never "
    "accepted twice",
    "[journal]") {
  EventJournal journal(160, 160, kKey);  // 10 claims per shard; generations of 10 s
  std::vector<std::string> ids;
  for (int i = 0; i < 2000; ++i) ids.push_back(journal.record("g", "d", at(i * 0.05)));  // 0-100 s
  EventJournal::Event event;
  std::size_t ok = 0;
  for (auto& id : ids) ok += journal.claim(id, at(100), event) == Claim::ok;
  CHECK(ok == 2000);
  CHECK(journal.size() <= 160 + 16 * 200);  // bounded: at most the newest generation beyond
  std::size_t accepted_again = 0, refused_as_forgotten = 0;
  for (auto& id : ids) {
    auto claim = journal.claim(id, at(101), event);
    accepted_again += claim == Claim::ok;
    refused_as_forgotten += claim == Claim::unknown;
  }
  CHECK(accepted_again == 0);
  CHECK(refused_as_forgotten > 0);
  CHECK(journal.evicted() == refused_as_forgotten);
}

TEST_CASE("claims expire with their window: memory follows the report rate", "[journal]") {
  EventJournal journal(1'000'000, 10, kKey);
  EventJournal::Event event;
  for (int i = 0; i < 10000; ++i)
    REQUIRE(journal.claim(journal.record("g", "d", at(0)), at(1), event) == Claim::ok);
  CHECK(journal.size() == 10000);
  CHECK(journal.memory_bytes() <= 10000 * 32);
  // Ten seconds later they are all past their window: claims drop them
  // shard by shard (1000 claims reach all 16 shards but with chance ~1e-27).
  for (int i = 0; i < 1000; ++i) journal.claim(journal.record("g", "d", at(12)), at(12), event);
  CHECK(journal.size() == 1000);
}

TEST_CASE("ids are unique across threads and each claim succeeds exactly once", "[journal]") {
  EventJournal journal(1 << 20, 600, kKey);
  std::vector<std::vector<std::string>> ids(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5000; ++i) ids[t].push_back(journal.record("g", "d", at(1)));
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
        auto claim = journal.claim(id, at(2), event);
        (claim == Claim::ok ? ok : dup)++;
      }
    });
  for (auto& th : threads) th.join();
  CHECK(ok == 5000);
  CHECK(dup == 15000);
}
