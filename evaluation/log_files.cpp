#include "evaluation/log_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "evaluation/log_format.hpp"

namespace pytheas::evaluation {
namespace {

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
  throw std::runtime_error("decision log: " + what + " '" + path.string() +
                           "': " + std::strerror(errno));
}

// Writes all of `bytes`, adding what reached the file to `done` as it goes
// (so a caller knows how much did when it throws).
void write_all(int fd, std::string_view bytes, const std::filesystem::path& path,
               std::size_t& done) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
    done += static_cast<std::size_t>(written);
  }
}

}  // namespace

LogFiles::LogFiles(LogFilesOptions options, std::function<std::string(double)> header, double now)
    : options_(std::move(options)), header_(std::move(header)) {
  // With a cap, a file may hold at most a quarter of it, so the cap always
  // keeps a few closed files rather than deleting the only one.
  if (options_.cap_bytes > 0)
    options_.rotate_bytes =
        std::min(options_.rotate_bytes, std::max<std::uint64_t>(options_.cap_bytes / 4, 4096));
  std::error_code error;
  std::filesystem::create_directories(options_.dir, error);
  if (error)
    throw std::runtime_error("decision log: cannot create '" + options_.dir.string() +
                             "': " + error.message());
  std::vector<std::filesystem::path> existing;
  for (const auto& entry : std::filesystem::directory_iterator(options_.dir, error))
    if (entry.is_regular_file() && is_log_file_name(entry.path().filename().string()))
      existing.push_back(entry.path());
  if (error)
    throw std::runtime_error("decision log: cannot list '" + options_.dir.string() +
                             "': " + error.message());
  std::sort(existing.begin(), existing.end());
  for (auto& path : existing) {
    const auto bytes = std::filesystem::file_size(path, error);
    if (error) continue;
    closed_bytes_ += bytes;
    closed_.push_back({std::move(path), bytes});
  }
  open(now);
  enforce_cap();
}

LogFiles::~LogFiles() {
  if (fd_ >= 0) {
    ::fdatasync(fd_);
    ::close(fd_);
  }
}

void LogFiles::open(double now) {
  for (;;) {
    ++sequence_;
    auto path = options_.dir / log_file_name(now, sequence_);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
      if (errno == EEXIST) continue;  // another writer's file of the same millisecond
      torn_ = true;                   // no open file: the next write tries again
      fail("cannot create", path);
    }
    fd_ = fd;
    current_path_ = std::move(path);
    break;
  }
  opened_at_ = now;
  current_bytes_ = header_bytes_ = 0;
  const std::string header = header_(now);
  std::size_t done = 0;
  try {
    write_all(fd_, header, current_path_, done);
  } catch (...) {
    current_bytes_ = done;
    torn_ = true;
    throw;
  }
  current_bytes_ = header_bytes_ = header.size();
}

void LogFiles::close_current() {
  if (fd_ < 0) return;
  ::fdatasync(fd_);
  ::close(fd_);
  fd_ = -1;
  closed_.push_back({current_path_, current_bytes_});
  closed_bytes_ += current_bytes_;
  current_bytes_ = 0;
}

void LogFiles::enforce_cap() {
  if (options_.cap_bytes == 0) return;
  while (!closed_.empty() && closed_bytes_ + current_bytes_ > options_.cap_bytes) {
    const auto& oldest = closed_.front();
    std::error_code error;
    std::filesystem::remove(oldest.path, error);  // gone already: the bytes are free anyway
    closed_bytes_ -= oldest.bytes;
    bytes_deleted_ += oldest.bytes;
    ++files_deleted_;
    closed_.pop_front();
  }
}

void LogFiles::write(std::string_view lines, double now) {
  std::size_t written = 0;  // bytes of `lines` in the files so far
  try {
    write_lines(lines, now, written);
  } catch (const std::exception& error) {
    throw LogWriteError(error.what(), written);
  }
}

void LogFiles::write_lines(std::string_view lines, double now, std::size_t& written) {
  if (torn_) {
    // The last write failed midway: its cut-off line must end its file, so
    // what comes next starts a new one.
    if (fd_ >= 0) close_current();
    open(now);
    torn_ = false;
  }
  rotate_if_old(now);
  while (!lines.empty()) {
    // The whole lines that still fit the open file; a file holding no record
    // takes at least one line, however long.
    const std::uint64_t room =
        options_.rotate_bytes > current_bytes_ ? options_.rotate_bytes - current_bytes_ : 0;
    std::size_t take = lines.size();
    if (take > room) {
      const auto last_newline = lines.substr(0, static_cast<std::size_t>(room)).find_last_of('\n');
      take = last_newline == std::string_view::npos ? 0 : last_newline + 1;
      if (take == 0 && current_bytes_ == header_bytes_) {
        const auto first_newline = lines.find('\n');
        take = first_newline == std::string_view::npos ? lines.size() : first_newline + 1;
      }
    }
    if (take > 0) {
      std::size_t done = 0;
      try {
        write_all(fd_, lines.substr(0, take), current_path_, done);
      } catch (...) {
        current_bytes_ += done;
        written += done;
        torn_ = true;
        throw;
      }
      current_bytes_ += take;
      written += take;
      lines.remove_prefix(take);
    }
    if (!lines.empty()) {
      close_current();
      open(now);
    }
    enforce_cap();
  }
}

void LogFiles::rotate_if_old(double now) {
  if (current_bytes_ > header_bytes_ && now - opened_at_ >= options_.rotate_seconds) {
    close_current();
    open(now);
    enforce_cap();
  }
}

void LogFiles::sync() {
  if (fd_ >= 0 && ::fdatasync(fd_) != 0) fail("cannot sync", current_path_);
}

std::uint64_t LogFiles::total_bytes() const {
  return closed_bytes_ + current_bytes_;
}

}  // namespace pytheas::evaluation
