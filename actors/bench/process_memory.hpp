#pragma once
// What the benchmark programs read of their own process's memory.
// Stateless; thread-safe.

#include <fstream>
#include <string>

namespace pytheas::bench {

/// Resident set size in MB (VmRSS of /proc/self/status).
inline double rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

}  // namespace pytheas::bench
