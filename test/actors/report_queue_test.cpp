// ReportQueue: the node's bound on accepted, unapplied reports.

#include "actors/group/report_queue.hpp"

#include <catch2/catch.hpp>
#include <thread>
#include <vector>

using pytheas::ReportQueue;

TEST_CASE("the report queue admits up to its capacity and frees what is released",
          "[report_queue]") {
  ReportQueue queue;
  queue.set_capacity(3);
  CHECK(queue.admit());
  CHECK(queue.admit());
  CHECK(queue.admit());
  CHECK_FALSE(queue.admit());  // full: nothing taken
  CHECK(queue.depth() == 3);
  queue.release(2);
  CHECK(queue.depth() == 1);
  CHECK(queue.admit());
  queue.owe(5);  // replayed reports go past the bound
  CHECK(queue.depth() == 7);
  CHECK_FALSE(queue.admit());
  queue.release(7);
  CHECK(queue.depth() == 0);
  CHECK(queue.over_released() == 0);
}

TEST_CASE("a release of more than is queued is clamped at zero and counted", "[report_queue]") {
  ReportQueue queue;
  REQUIRE(queue.admit());
  queue.release(3);
  CHECK(queue.depth() == 0);  // not 2^64 - 2: the queue would refuse everything
  CHECK(queue.over_released() == 2);
  CHECK(queue.admit());
}

TEST_CASE("admits and releases from many threads balance", "[report_queue]") {
  ReportQueue queue;
  queue.set_capacity(1000000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50000; ++i)
        if (queue.admit()) queue.release();
    });
  for (auto& thread : threads) thread.join();
  CHECK(queue.depth() == 0);
  CHECK(queue.over_released() == 0);
}
