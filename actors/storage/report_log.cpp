#include "actors/storage/report_log.hpp"

#include "core/raw_bytes.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/crc32.hpp"
#include "core/errors.hpp"

namespace pytheas {

namespace fs = std::filesystem;

namespace {

constexpr char kMagic[8] = {'P', 'Y', 'T', 'W', 'A', 'L', '\r', '\n'};
constexpr std::uint32_t kVersion = 2;         ///< records carry the report's stamp
constexpr std::uint32_t kVersionNoStamp = 1;  ///< still read
constexpr std::size_t kHeaderBytes = sizeof kMagic + 4 + 8 + 4;
constexpr std::size_t kStampBytes = 8 + 8;
constexpr std::size_t kMinBodyV1 = 8 + 8 + 8 + 4 + 4;
constexpr std::size_t kMinBody = kMinBodyV1 + kStampBytes;
constexpr std::size_t kMaxBody = 1u << 20;  // keys and decisions are far shorter
/// Batch mode: appenders wake the writer early beyond this much buffered data.
constexpr std::size_t kEarlyFlushBytes = 4u << 20;

template <class T>
void put(std::string& out, T value) {
  append_raw(out, value);
}

template <class T>
T get(std::string_view bytes, std::size_t at) {
  return read_raw<T>(bytes, at);
}

std::string header(std::uint64_t first_seq) {
  std::string out(kMagic, sizeof kMagic);
  std::string fields;
  put<std::uint32_t>(fields, kVersion);
  put<std::uint64_t>(fields, first_seq);
  out += fields;
  put<std::uint32_t>(out, crc32(fields));
  return out;
}

void encode(std::string& out, std::uint64_t seq, std::string_view group, std::string_view decision,
            double score, double accepted_at, std::uint64_t stamp_epoch, std::uint64_t stamp_seq) {
  const auto body_size = kMinBody + group.size() + decision.size();
  put<std::uint32_t>(out, static_cast<std::uint32_t>(body_size));
  const auto crc_at = out.size();
  put<std::uint32_t>(out, 0);
  const auto body_at = out.size();
  put<std::uint64_t>(out, seq);
  put<double>(out, accepted_at);
  put<double>(out, score);
  put<std::uint64_t>(out, stamp_epoch);
  put<std::uint64_t>(out, stamp_seq);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(group.size()));
  out.append(group);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(decision.size()));
  out.append(decision);
  const auto crc = crc32(std::string_view(out).substr(body_at));
  std::memcpy(out.data() + crc_at, &crc, sizeof crc);
}

/// Decodes one body; false if its inner lengths do not add up.
bool decode_body(std::string_view body, std::uint32_t version, LoggedReport& report) {
  report.seq = get<std::uint64_t>(body, 0);
  report.accepted_at = get<double>(body, 8);
  report.score = get<double>(body, 16);
  std::size_t at = 24;
  if (version >= kVersion) {
    report.stamp_epoch = get<std::uint64_t>(body, at);
    report.stamp_seq = get<std::uint64_t>(body, at + 8);
    at += kStampBytes;
  }
  const auto group_size = get<std::uint32_t>(body, at);
  at += 4;
  if (group_size > body.size() - at - 4) return false;
  report.group.assign(body.substr(at, group_size));
  at += group_size;
  const auto decision_size = get<std::uint32_t>(body, at);
  at += 4;
  if (decision_size != body.size() - at) return false;
  report.decision.assign(body.substr(at, decision_size));
  return true;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return std::move(buffer).str();
}

std::string errno_text() {
  return std::strerror(errno);
}

/// Writes everything or throws; `what` names the file.
void write_all(int fd, std::string_view bytes, const fs::path& what) {
  while (!bytes.empty()) {
    auto n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("write-ahead log " + what.string() + ": " + errno_text());
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void sync_directory(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("write-ahead log " + dir.string() + ": " + errno_text());
  ::fsync(fd);
  ::close(fd);
}

std::string segment_name(std::uint64_t first_seq) {
  char name[32];
  std::snprintf(name, sizeof name, "%020llu.wal", static_cast<unsigned long long>(first_seq));
  return name;
}

}  // namespace

WalSync parse_wal_sync(std::string_view text) {
  if (text == "none") return WalSync::none;
  if (text == "batch") return WalSync::batch;
  if (text == "always") return WalSync::always;
  throw InvalidInput("write-ahead log sync policy must be none, batch or always, not '" +
                     std::string(text) + "'");
}

const char* to_string(WalSync sync) {
  switch (sync) {
    case WalSync::none:
      return "none";
    case WalSync::batch:
      return "batch";
    case WalSync::always:
      return "always";
  }
  return "?";
}

RecoveredLog ReportLog::read_segments(const fs::path& dir) {
  RecoveredLog out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  std::vector<fs::path> files;
  for (const auto& file : fs::directory_iterator(dir, ec))
    if (file.path().extension() == ".wal") files.push_back(file.path());
  std::sort(files.begin(), files.end());  // zero-padded first sequence: oldest first
  for (const auto& path : files) {
    ++out.segments;
    std::string bytes;
    try {
      bytes = read_file(path);
    } catch (const std::exception& e) {
      out.problems.push_back(e.what());
      continue;
    }
    const std::string_view view(bytes);
    if (view.size() < kHeaderBytes ||
        view.substr(0, sizeof kMagic) != std::string_view(kMagic, 8) ||
        crc32(view.substr(sizeof kMagic, 12)) != get<std::uint32_t>(view, sizeof kMagic + 12) ||
        (get<std::uint32_t>(view, sizeof kMagic) != kVersion &&
         get<std::uint32_t>(view, sizeof kMagic) != kVersionNoStamp)) {
      // A kill between creating the file and writing its header leaves it short.
      out.problems.push_back(path.string() + ": no valid segment header; " +
                             std::to_string(view.size()) + " byte(s) ignored");
      out.ignored_bytes += view.size();
      continue;
    }
    out.max_seq = std::max(out.max_seq, get<std::uint64_t>(view, sizeof kMagic + 4));
    const auto version = get<std::uint32_t>(view, sizeof kMagic);
    const auto min_body = version >= kVersion ? kMinBody : kMinBodyV1;
    std::size_t at = kHeaderBytes;
    while (at < view.size()) {
      const char* problem = nullptr;
      LoggedReport report;
      if (view.size() - at < 8) {
        problem = "record header cut short";
      } else {
        const auto size = get<std::uint32_t>(view, at);
        const auto crc = get<std::uint32_t>(view, at + 4);
        if (size < min_body || size > kMaxBody)
          problem = "record length out of range";
        else if (view.size() - at - 8 < size)
          problem = "record cut short";
        else if (crc32(view.substr(at + 8, size)) != crc)
          problem = "record checksum mismatch";
        else if (!decode_body(view.substr(at + 8, size), version, report))
          problem = "record fields inconsistent";
        else
          at += 8 + size;
      }
      if (problem) {
        out.problems.push_back(path.string() + ": " + problem + " at offset " + std::to_string(at) +
                               "; last " + std::to_string(view.size() - at) +
                               " byte(s) ignored (torn write)");
        out.ignored_bytes += view.size() - at;
        break;
      }
      out.max_seq = std::max(out.max_seq, report.seq);
      out.reports.push_back(std::move(report));
    }
  }
  return out;
}

ReportLog::ReportLog(ReportLogOptions options, std::uint64_t next_seq)
    : options_(std::move(options)), next_seq_(std::max<std::uint64_t>(next_seq, 1)) {
  std::error_code ec;
  fs::create_directories(options_.dir, ec);
  if (ec)
    throw std::runtime_error("write-ahead log dir " + options_.dir.string() + ": " + ec.message());
  for (const auto& file : fs::directory_iterator(options_.dir))
    if (file.path().extension() == ".wal") recovered_.push_back(file.path());
  written_seq_ = durable_seq_ = next_seq_ - 1;
  open_segment(next_seq_);
  if (options_.sync == WalSync::batch) {
    writer_ = std::thread([this] { run_writer(); });
    syncer_ = std::thread([this] { run_syncer(); });
  }
}

ReportLog::~ReportLog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_writer_.notify_all();
  progress_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (syncer_.joinable()) syncer_.join();
  try {
    sync();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
  }
  std::lock_guard lock(mutex_);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  // A fully covered open segment is deleted too (all state on disk: a clean
  // stop leaves no log behind); sequence numbers then resume from the state.
  if (open_->uncovered.empty()) {
    std::error_code ec;
    fs::remove(open_->path, ec);
  }
}

void ReportLog::open_segment(std::uint64_t first_seq) {
  auto segment = std::make_unique<Segment>();
  segment->first_seq = first_seq;
  segment->path = options_.dir / segment_name(first_seq);
  int fd = ::open(segment->path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("write-ahead log: cannot create " + segment->path.string() + ": " +
                             errno_text());
  try {
    write_all(fd, header(first_seq), segment->path);
    if (::fdatasync(fd) != 0)
      throw std::runtime_error("write-ahead log " + segment->path.string() + ": " + errno_text());
    sync_directory(options_.dir);
  } catch (...) {
    ::close(fd);
    throw;
  }
  fd_ = fd;
  open_ = std::move(segment);
  open_bytes_ = kHeaderBytes;
}

std::uint64_t ReportLog::stage(std::unique_lock<std::mutex>& lock, std::string_view group,
                               std::string_view decision, double score, double accepted_at,
                               std::uint64_t stamp_epoch, std::uint64_t stamp_seq) {
  if (!error_.empty()) {
    // Retry once inline so a transient failure (disk full, then freed) heals.
    if (!writing_) write_step(lock);
    if (!error_.empty()) throw std::runtime_error(error_);
  }
  if (open_bytes_ >= options_.segment_bytes && next_seq_ > open_->first_seq) rotate(lock);
  const auto seq = next_seq_++;
  const auto before = buffer_.size();
  if (stamp_epoch == 0 && options_.stamp_epoch != 0) {
    stamp_epoch = options_.stamp_epoch;
    stamp_seq = seq;
  }
  encode(buffer_, seq, group, decision, score, accepted_at, stamp_epoch, stamp_seq);
  open_bytes_ += buffer_.size() - before;
  auto [it, inserted] = open_->uncovered.try_emplace(std::string(group), seq);
  if (!inserted) it->second = seq;
  if (options_.sync == WalSync::batch && buffer_.size() >= kEarlyFlushBytes)
    wake_writer_.notify_one();
  return seq;
}

void ReportLog::wait_durable(std::unique_lock<std::mutex>& lock, std::uint64_t seq) {
  // Group commit: whoever finds no write (sync) running writes (syncs)
  // everything staged (written) so far; the others wait for one that includes
  // their record. A write can run while the previous sync is still going.
  while (durable_seq_ < seq) {
    if (written_seq_ < seq && !writing_) {
      if (!write_step(lock) && written_seq_ < seq) throw std::runtime_error(error_);
    } else if (written_seq_ >= seq && !syncing_) {
      if (!sync_step(lock) && durable_seq_ < seq) throw std::runtime_error(error_);
    } else {
      progress_.wait(lock);
    }
  }
}

bool ReportLog::write_step(std::unique_lock<std::mutex>& lock) {
  writing_ = true;
  std::string out;
  out.swap(buffer_);
  const auto upto = next_seq_ - 1;
  const int fd = fd_;
  const auto path = open_->path;
  lock.unlock();
  std::string failure;
  off_t good_size = -1;
  try {
    good_size = ::lseek(fd, 0, SEEK_END);
    write_all(fd, out, path);
  } catch (const std::exception& e) {
    failure = e.what();
    // Never leave a half-written record in the middle of the segment: cut the
    // file back and keep the records staged for the next try.
    if (good_size >= 0 && (::ftruncate(fd, good_size) != 0 || ::lseek(fd, good_size, SEEK_SET) < 0))
      spdlog::error("write-ahead log {}: cannot truncate after a failed write: {}", path.string(),
                    errno_text());
  }
  lock.lock();
  writing_ = false;
  if (failure.empty()) {
    written_seq_ = std::max(written_seq_, upto);
  } else {
    out += buffer_;
    buffer_.swap(out);
  }
  note_result(failure);
  return failure.empty();
}

bool ReportLog::sync_step(std::unique_lock<std::mutex>& lock) {
  syncing_ = true;
  const auto target = written_seq_;
  const int fd = fd_;
  const auto path = open_->path;
  lock.unlock();
  std::string failure;
  if (::fdatasync(fd) != 0) failure = "write-ahead log " + path.string() + ": " + errno_text();
  lock.lock();
  syncing_ = false;
  if (failure.empty()) durable_seq_ = std::max(durable_seq_, target);
  note_result(failure);
  return failure.empty();
}

void ReportLog::note_result(const std::string& failure) {
  if (failure.empty()) {
    if (!error_.empty()) spdlog::info("write-ahead log: writing works again");
    error_.clear();
  } else {
    if (error_.empty()) spdlog::error("{}", failure);
    error_ = failure;
  }
  progress_.notify_all();
}

void ReportLog::rotate(std::unique_lock<std::mutex>& lock) {
  while (writing_ || syncing_) progress_.wait(lock);
  // Rare (once per segment): do the I/O under the lock, which keeps every
  // staged record in the segment whose map names its group.
  const off_t good_size = ::lseek(fd_, 0, SEEK_END);
  try {
    write_all(fd_, buffer_, open_->path);
    if (::fdatasync(fd_) != 0)
      throw std::runtime_error("write-ahead log " + open_->path.string() + ": " + errno_text());
  } catch (...) {
    // As in write_step(): no half record mid-segment; the records stay staged.
    if (good_size >= 0 && ::ftruncate(fd_, good_size) == 0) ::lseek(fd_, good_size, SEEK_SET);
    throw;
  }
  buffer_.clear();
  written_seq_ = durable_seq_ = next_seq_ - 1;
  const int old_fd = fd_;
  auto old = std::move(open_);
  try {
    open_segment(next_seq_);
  } catch (...) {
    open_ = std::move(old);  // keep appending to the full segment rather than to nothing
    fd_ = old_fd;
    throw;
  }
  ::close(old_fd);
  closed_.push_back(std::move(old));
  delete_covered_closed_segments();
}

void ReportLog::sync() {
  std::unique_lock lock(mutex_);
  wait_durable(lock, next_seq_ - 1);
}

void ReportLog::covered(std::string_view group, std::uint64_t through) {
  if (through == 0) return;
  std::lock_guard lock(mutex_);
  const std::string key(group);
  auto uncover = [&](Segment& segment) {
    auto it = segment.uncovered.find(key);
    if (it != segment.uncovered.end() && it->second <= through) segment.uncovered.erase(it);
  };
  for (auto& segment : closed_) uncover(*segment);
  uncover(*open_);
  delete_covered_closed_segments();
}

void ReportLog::delete_covered_closed_segments() {
  auto done = std::remove_if(closed_.begin(), closed_.end(), [](const auto& segment) {
    if (!segment->uncovered.empty()) return false;
    std::error_code ec;
    fs::remove(segment->path, ec);
    if (ec)
      spdlog::warn("write-ahead log: cannot delete {}: {}", segment->path.string(), ec.message());
    return true;
  });
  closed_.erase(done, closed_.end());
}

void ReportLog::drop_recovered_segments() {
  std::lock_guard lock(mutex_);
  for (const auto& path : recovered_) {
    std::error_code ec;
    fs::remove(path, ec);
    if (ec) spdlog::warn("write-ahead log: cannot delete {}: {}", path.string(), ec.message());
  }
  recovered_.clear();
}

void ReportLog::run_writer() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_writer_.wait_for(lock, options_.batch_interval, [&] {
      return stopping_ || (!writing_ && buffer_.size() >= kEarlyFlushBytes);
    });
    if (!buffer_.empty() && !writing_) write_step(lock);
  }
}

void ReportLog::run_syncer() {
  // Separate from the writer so a slow sync never delays the next write: a
  // kill -9 loses only what was not yet written, at most one batch interval.
  // The predicates exclude work another thread is already doing: a true
  // predicate returns without unlocking, and that would spin holding the lock.
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    progress_.wait_for(lock, options_.batch_interval,
                       [&] { return stopping_ || (!syncing_ && written_seq_ > durable_seq_); });
    if (written_seq_ > durable_seq_ && !syncing_) sync_step(lock);
  }
}

std::uint64_t ReportLog::last_seq() const {
  std::lock_guard lock(mutex_);
  return next_seq_ - 1;
}

std::uint64_t ReportLog::durable_seq() const {
  std::lock_guard lock(mutex_);
  return durable_seq_;
}

std::size_t ReportLog::segment_count() const {
  std::lock_guard lock(mutex_);
  return closed_.size() + 1 + recovered_.size();
}

}  // namespace pytheas
