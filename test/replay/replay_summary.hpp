#pragma once
// The key=value lines of a `pytheas replay` run's summary.txt, by key: shared
// by the replay tests. Stateless.

#include <map>
#include <sstream>
#include <string>

#include "test/support/temp_dir.hpp"

namespace pytheas::test {

inline std::map<std::string, std::string> read_replay_summary(const std::string& path) {
  std::map<std::string, std::string> keys;
  std::istringstream in(read_text_file(path));
  for (std::string line; std::getline(in, line);)
    if (auto eq = line.find('='); eq != std::string::npos)
      keys[line.substr(0, eq)] = line.substr(eq + 1);
  return keys;
}

}  // namespace pytheas::test
