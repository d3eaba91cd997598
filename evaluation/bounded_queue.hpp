#pragma once
// BoundedQueue: a fixed-capacity multi-producer queue that never blocks and
// never allocates after construction (D. Vyukov's bounded MPMC ring: one
// sequence number per cell, one atomic counter per end). A producer that
// finds the queue full gets `false` at once; the caller counts the drop.
//
// Elements are filled and read *in place*: try_push hands the producer the
// reserved cell's T to overwrite, try_pop hands the consumer the T to read,
// and the cell keeps whatever capacity its T acquired (a std::string member
// is reused, not reallocated, once the ring has warmed up).
//
// Thread-safety: any number of threads may call try_push and try_pop
// concurrently. `fill` and `use` must not throw (a throwing fill would leave
// its cell reserved forever): catch inside them.

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace pytheas::evaluation {

template <class T>
class BoundedQueue {
 public:
  /// Capacity is rounded up to a power of two (at least 2).
  explicit BoundedQueue(std::size_t capacity)
      : capacity_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)),
        mask_(capacity_ - 1),
        cells_(std::make_unique<Cell[]>(capacity_)) {
    for (std::size_t i = 0; i < capacity_; ++i)
      cells_[i].sequence.store(i, std::memory_order_relaxed);
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  std::size_t capacity() const { return capacity_; }

  /// Reserves a cell, calls fill(T&) on it and publishes it. False (fill not
  /// called) when the queue is full.
  template <class Fill>
  bool try_push(Fill&& fill) {
    std::size_t position = enqueue_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[position & mask_];
      const std::size_t sequence = cell.sequence.load(std::memory_order_acquire);
      const auto lag = static_cast<std::intptr_t>(sequence) - static_cast<std::intptr_t>(position);
      if (lag == 0) {
        if (enqueue_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
          fill(cell.value);
          cell.sequence.store(position + 1, std::memory_order_release);
          return true;
        }
      } else if (lag < 0) {
        return false;  // the consumer has not freed this cell yet: full
      } else {
        position = enqueue_.load(std::memory_order_relaxed);
      }
    }
  }

  /// Calls use(T&) on the oldest element and frees its cell. False when empty.
  template <class Use>
  bool try_pop(Use&& use) {
    std::size_t position = dequeue_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[position & mask_];
      const std::size_t sequence = cell.sequence.load(std::memory_order_acquire);
      const auto lag =
          static_cast<std::intptr_t>(sequence) - static_cast<std::intptr_t>(position + 1);
      if (lag == 0) {
        if (dequeue_.compare_exchange_weak(position, position + 1, std::memory_order_relaxed)) {
          use(cell.value);
          cell.sequence.store(position + capacity_, std::memory_order_release);
          return true;
        }
      } else if (lag < 0) {
        return false;  // nothing published here yet: empty
      } else {
        position = dequeue_.load(std::memory_order_relaxed);
      }
    }
  }

 private:
  struct Cell {
    std::atomic<std::size_t> sequence{0};
    T value{};
  };

  const std::size_t capacity_;
  const std::size_t mask_;
  std::unique_ptr<Cell[]> cells_;
  // Producers and the consumer touch different counters: keep them on
  // different cache lines.
  alignas(64) std::atomic<std::size_t> enqueue_{0};
  alignas(64) std::atomic<std::size_t> dequeue_{0};
};

}  // namespace pytheas::evaluation
