#pragma once
// Limits how many arenas glibc's malloc keeps. By default glibc gives each new
// thread its own arena (up to 8 per core) so threads rarely contend for a
// lock; the price is memory: an object freed on one thread leaves a hole in
// the arena of the thread that allocated it, and each arena holds on to its
// holes. A node's long-lived state (a group's actor, policy and snapshots) is
// allocated and replaced on whichever CAF worker runs it, so with 100k groups
// those holes cost ~220 bytes of RSS per group (docs/PERFORMANCE.md). Small
// allocations are served by glibc's per-thread caches without taking the
// arena lock, and decide throughput measured the same with one arena.
// Thread-safety: call before the threads that allocate start; idempotent.

namespace pytheas {

/// Caps glibc's malloc at `arenas` arenas (M_ARENA_MAX). Does nothing and
/// returns false when `arenas` <= 0 (keep glibc's default) or when the
/// operator set MALLOC_ARENA_MAX in the environment (that setting wins).
bool limit_malloc_arenas(int arenas);

}  // namespace pytheas
