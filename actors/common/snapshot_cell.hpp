#pragma once
// SnapshotCell<T>: a shared_ptr<const T> that one thread replaces while many
// threads read it. A reader takes a tiny spinlock only long enough to copy the
// pointer (one reference-count increment); the old value is released outside
// the lock. It replaces std::atomic<std::shared_ptr<T>>, whose libstdc++ 12
// implementation releases its internal lock with relaxed ordering in load()
// (a data race that ThreadSanitizer reports, fixed in later GCC releases).
// Thread-safety: load() and store() may be called concurrently from any threads.

#include <atomic>
#include <memory>
#include <thread>

namespace pytheas {

template <class T>
class SnapshotCell {
 public:
  using Ptr = std::shared_ptr<const T>;

  Ptr load() const {
    Guard guard(lock_);
    return value_;
  }

  void store(Ptr next) {
    {
      Guard guard(lock_);
      value_.swap(next);
    }
    // `next` now holds the old value: freed here, outside the lock.
  }

 private:
  class Guard {
   public:
    explicit Guard(std::atomic<bool>& lock) : lock_(lock) {
      for (int spins = 0; lock_.exchange(true, std::memory_order_acquire); ++spins) {
        if (spins > 64) std::this_thread::yield();  // the holder was preempted
      }
    }
    ~Guard() { lock_.store(false, std::memory_order_release); }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    std::atomic<bool>& lock_;
  };

  mutable std::atomic<bool> lock_{false};
  Ptr value_;
};

}  // namespace pytheas
