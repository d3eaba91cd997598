#include "evaluation/bounded_queue.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using pytheas::evaluation::BoundedQueue;

TEST_CASE("a full queue refuses at once and keeps FIFO order", "[evaluation][queue]") {
  BoundedQueue<int> queue(3);  // rounded up to 4
  CHECK(queue.capacity() == 4);
  for (int i = 0; i < 4; ++i) CHECK(queue.try_push([&](int& cell) { cell = i; }));
  bool called = false;
  CHECK_FALSE(queue.try_push([&](int&) { called = true; }));
  CHECK_FALSE(called);
  for (int i = 0; i < 4; ++i) {
    int value = -1;
    CHECK(queue.try_pop([&](int& cell) { value = cell; }));
    CHECK(value == i);
  }
  CHECK_FALSE(queue.try_pop([](int&) {}));
  CHECK(queue.try_push([](int& cell) { cell = 7; }));  // the ring wraps around
}

TEST_CASE("cells keep their buffers: a warm queue reuses string capacity", "[evaluation][queue]") {
  BoundedQueue<std::string> queue(2);
  REQUIRE(queue.try_push([](std::string& cell) { cell.assign(1000, 'x'); }));
  REQUIRE(queue.try_pop([](std::string& cell) { cell.clear(); }));
  REQUIRE(queue.try_push([](std::string&) {}));
  REQUIRE(queue.try_push([](std::string&) {}));
  std::size_t largest = 0;
  while (queue.try_pop([&](std::string& cell) { largest = std::max(largest, cell.capacity()); })) {
  }
  CHECK(largest >= 1000);  // the first cell came back with its buffer
}

TEST_CASE("concurrent producers: every value is popped once or refused", "[evaluation][queue]") {
  BoundedQueue<std::uint64_t> queue(64);
  constexpr int kProducers = 4;
  constexpr std::uint64_t kEach = 20000;
  std::atomic<std::uint64_t> refused{0};
  std::atomic<bool> done{false};
  std::uint64_t popped_sum = 0, popped = 0;
  std::thread consumer([&] {
    for (;;) {
      const bool finished = done.load();
      while (queue.try_pop([&](std::uint64_t& v) {
        popped_sum += v;
        ++popped;
      })) {
      }
      if (finished) break;
    }
  });
  std::vector<std::thread> producers;
  std::atomic<std::uint64_t> pushed_sum{0};
  for (int p = 0; p < kProducers; ++p)
    producers.emplace_back([&, p] {
      for (std::uint64_t i = 1; i <= kEach; ++i) {
        const std::uint64_t value = static_cast<std::uint64_t>(p) * 1000000 + i;
        if (queue.try_push([&](std::uint64_t& cell) { cell = value; }))
          pushed_sum += value;
        else
          ++refused;
      }
    });
  for (auto& t : producers) t.join();
  done = true;
  consumer.join();
  CHECK(popped + refused.load() == kProducers * kEach);
  CHECK(popped_sum == pushed_sum.load());
}
