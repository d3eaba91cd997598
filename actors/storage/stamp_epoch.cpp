#include "actors/storage/stamp_epoch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace pytheas {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

std::uint64_t next_stamp_epoch(const std::string& state_dir, std::uint64_t wall_us) {
  const auto path = (std::filesystem::path(state_dir) / "stamp-epoch").string();
  std::uint64_t epoch = wall_us;
  if (std::ifstream in(path); in) {
    std::string text;
    std::getline(in, text);
    std::size_t used = 0;
    std::uint64_t last = 0;
    try {
      last = std::stoull(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size())
      throw std::runtime_error(path + ": expected a report stamp epoch (a number), found '" +
                               text.substr(0, 40) + "'");
    epoch = std::max(wall_us, last + 1);
  }
  const auto temp = path + ".tmp";
  const std::string text = std::to_string(epoch) + "\n";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot write", temp);
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written) fail("cannot write", temp);
  if (std::rename(temp.c_str(), path.c_str()) != 0) fail("cannot rename", temp);
  // The rename itself must reach the disk before a stamp of this run does.
  if (const int dir = ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return epoch;
}

}  // namespace pytheas
