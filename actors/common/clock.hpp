#pragma once
// The two clocks every actor reads, kept apart on purpose (docs/RELIABILITY.md,
// "Time"): a host's wall clock steps (NTP at boot, a resumed VM, an operator
// setting the date) and two hosts never agree on it, so everything that
// measures a duration inside this process (policy discounting, passivation,
// batching, heartbeats, peer timeouts, back-off, deadlines) reads the
// monotonic clock, and wall time is kept for what a person reads (logs,
// /v1/groups, decision logs) and for what must outlive the process (a state
// file's "written at", to measure a restart's downtime). Across processes
// only durations travel (GroupRecord carries its age, not an instant).
// Kept apart from NodeShared so that code that needs only the time (the
// grouping actor) does not include the group table with it.

#include <chrono>

namespace pytheas {

/// Monotonic seconds (CLOCK_MONOTONIC: since boot, never steps): the time
/// base of live policies and of every timeout inside this process.
inline double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Wall-clock seconds (unix time; may step): for display and persistence only.
inline double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// The wall time at which the monotonic clock read `monotonic` (for display:
/// "last activity" in /v1/groups). Reads both clocks now, so a wall step
/// since moves the result with it, as a person reading the wall clock expects.
inline double wall_from_monotonic(double monotonic) {
  return wall_seconds() - (monotonic_seconds() - monotonic);
}

}  // namespace pytheas
