#pragma once
// The two clocks every actor reads: monotonic seconds for durations inside
// this process, wall seconds for what is persisted or compared across nodes.
// Kept apart from NodeShared so that code that needs only the time (the
// grouping actor) does not include the group table with it.

#include <chrono>

namespace pytheas {

/// Monotonic seconds: for durations measured inside this process.
inline double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Wall-clock seconds: the time base of live policies (persisted state must
/// decay correctly across restarts, so a monotonic clock would not do).
inline double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace pytheas
