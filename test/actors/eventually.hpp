#pragma once
// eventually(): polls a condition until it holds or a deadline passes, for
// tests of asynchronous actors. Bounded: it never waits longer than `timeout`.

#include <chrono>
#include <thread>

namespace pytheas::test {

template <class Predicate>
bool eventually(Predicate&& predicate,
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace pytheas::test
