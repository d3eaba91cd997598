#pragma once
// ReportQueue: the node's one bound on reports accepted and not yet applied.
// Ingress admits a report (or refuses it: 503 overloaded); whoever ends its
// trip releases it: the group actor that applied it, or the code that gave
// up on it after admitting it (a failed log write, a group crash, a peer
// lost with reports in flight: each such release is also counted or logged
// where it happens). A missed release would hold a slot forever and a
// repeated one would free a slot twice, so both are made visible:
// depth() is a gauge on /metrics, and a release of more than is queued is
// clamped and counted (over_released(): a bug, never expected).
// Thread-safety: every method is safe from any thread (atomics only).

#include <atomic>
#include <cstdint>

namespace pytheas {

class ReportQueue {
 public:
  /// Ingress: takes one slot; false (nothing taken) when the queue is full.
  bool admit() {
    if (depth_.fetch_add(1, std::memory_order_relaxed) >=
        capacity_.load(std::memory_order_relaxed)) {
      depth_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }

  /// Takes `n` slots past the bound: reports accepted before this process
  /// started (write-ahead log replay) or re-sent by a cluster peer, which
  /// must be applied whatever the queue holds.
  void owe(std::uint64_t n = 1) { depth_.fetch_add(n, std::memory_order_relaxed); }

  /// Frees `n` slots: their reports were applied, or given up (and counted).
  void release(std::uint64_t n = 1) {
    auto depth = depth_.load(std::memory_order_relaxed);
    while (!depth_.compare_exchange_weak(depth, depth >= n ? depth - n : 0,
                                         std::memory_order_relaxed)) {
    }
    if (depth < n) over_released_.fetch_add(n - depth, std::memory_order_relaxed);
  }

  std::uint64_t depth() const { return depth_.load(std::memory_order_relaxed); }
  std::uint64_t capacity() const { return capacity_.load(std::memory_order_relaxed); }
  void set_capacity(std::uint64_t capacity) {
    capacity_.store(capacity, std::memory_order_relaxed);
  }
  /// Slots released that were never taken (clamped at 0): a bug if not 0.
  std::uint64_t over_released() const { return over_released_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> depth_{0};
  std::atomic<std::uint64_t> capacity_{100000};
  std::atomic<std::uint64_t> over_released_{0};
};

}  // namespace pytheas
