#pragma once
// This thread's CPU time in seconds (CLOCK_THREAD_CPUTIME_ID). Learns,
// simulations and benchmarks time themselves with it, so that the other
// processes of a busy machine do not count.

#include <time.h>

namespace pytheas {

inline double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace pytheas
