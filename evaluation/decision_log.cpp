#include "evaluation/decision_log.hpp"

#include <cstring>
#include <random>

#include "evaluation/recent_decisions.hpp"

namespace pytheas::evaluation {
namespace {

// Batches are written when they reach this size, or every flush_interval.
constexpr std::size_t kFlushBytes = 256 * 1024;
// Records encoded per pass before the writer checks its timers.
constexpr std::size_t kRecordsPerPass = 4096;
// How long the writer sleeps when the queue is empty. Latency to disk does not
// matter; producers never wait for it.
constexpr auto kIdleSleep = std::chrono::milliseconds(2);
// A queue cell keeps its buffer for the next record up to this size; a larger
// one (a request with huge feature values) is freed, so a few big requests
// cannot pin capacity x body limit bytes.
constexpr std::size_t kKeptCellBytes = 4096;

double wall_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void pack(std::string& bytes, std::string_view text) {
  const auto size = static_cast<std::uint32_t>(text.size());
  char prefix[4];
  std::memcpy(prefix, &size, 4);
  bytes.append(prefix, 4);
  bytes.append(text);
}

std::string_view unpack(std::string_view& in) {
  std::uint32_t size = 0;
  std::memcpy(&size, in.data(), 4);
  auto text = in.substr(4, size);
  in.remove_prefix(4 + size);
  return text;
}

// The next `count` packed strings of `in`, into `out` (cleared first).
void unpack_list(std::string_view& in, std::uint32_t count, std::vector<std::string_view>& out) {
  out.clear();
  for (std::uint32_t i = 0; i < count; ++i) out.push_back(unpack(in));
}

}  // namespace

DecisionLog::DecisionLog(DecisionLogOptions options)
    : options_(std::move(options)), queue_(options_.queue_capacity) {
  recent_ = std::make_unique<RecentDecisions>(options_.join_window_s, options_.join_capacity);
  id_prefix_ = static_cast<std::uint64_t>(std::random_device{}()) & 0xFFFFFF;
  auto header = [this](double now) {
    std::string line;
    append_header_line(line, options_.features, options_.node, now);
    return line;
  };
  files_ = std::make_unique<LogFiles>(options_.files, header, wall_now());
  files_deleted_ = files_->files_deleted();
  bytes_ = files_->total_bytes();
  writer_ = std::thread([this] { run(); });
}

DecisionLog::~DecisionLog() {
  close();
}

template <class Fill>
void DecisionLog::offer(Fill&& fill) noexcept {
  if (closing_.load(std::memory_order_relaxed)) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const bool queued = queue_.try_push([&](Queued& record) noexcept {
    record.bytes.clear();
    try {
      fill(record);
    } catch (...) {  // out of memory copying the strings: the writer counts it
      record.kind = Kind::broken;
    }
  });
  if (!queued) dropped_.fetch_add(1, std::memory_order_relaxed);
}

void DecisionLog::decision(const DecisionLine& decision) noexcept {
  offer([&](Queued& record) {
    record.kind = Kind::decision;
    record.time = decision.time;
    record.value = decision.propensity;
    record.policy_version = decision.policy_version;
    record.chosen = static_cast<std::uint32_t>(decision.chosen);
    record.feature_count = static_cast<std::uint32_t>(decision.features.size());
    record.candidate_count = static_cast<std::uint32_t>(decision.candidates.size());
    pack(record.bytes, decision.event_id);
    pack(record.bytes, decision.group);
    pack(record.bytes, decision.policy);
    for (auto value : decision.features) pack(record.bytes, value);
    for (auto candidate : decision.candidates) pack(record.bytes, candidate);
  });
}

void DecisionLog::report_event(double time, std::string_view event_id, double score) noexcept {
  offer([&](Queued& record) {
    record.kind = Kind::report_event;
    record.time = time;
    record.value = score;
    pack(record.bytes, event_id);
  });
}

void DecisionLog::report_features(double time, std::span<const std::string_view> features,
                                  std::string_view decision, double score) noexcept {
  offer([&](Queued& record) {
    record.kind = Kind::report_features;
    record.time = time;
    record.value = score;
    record.feature_count = static_cast<std::uint32_t>(features.size());
    pack(record.bytes, decision);
    for (auto value : features) pack(record.bytes, value);
  });
}

std::string DecisionLog::next_log_event_id() {
  // "l" + 15 hex digits: a per-log random prefix and a sequence number, so it
  // never equals a node-issued id (16 hex digits).
  static constexpr char kDigits[] = "0123456789abcdef";
  std::uint64_t value = (id_prefix_ << 36) | (++id_sequence_ & ((std::uint64_t{1} << 36) - 1));
  std::string id(16, 'l');
  for (int i = 15; i >= 1; --i, value >>= 4) id[static_cast<std::size_t>(i)] = kDigits[value & 15];
  return id;
}

void DecisionLog::encode(Queued& record, std::string& out) {
  std::string_view in = record.bytes;
  switch (record.kind) {
    case Kind::decision: {
      std::string_view event_id = unpack(in);
      const auto group = unpack(in);
      const auto policy = unpack(in);
      unpack_list(in, record.feature_count, features_scratch_);
      unpack_list(in, record.candidate_count, candidates_scratch_);
      std::string assigned;
      const bool issued = !event_id.empty();
      if (!issued) {
        assigned = next_log_event_id();
        event_id = assigned;
      }
      const auto chosen = record.chosen < candidates_scratch_.size()
                              ? candidates_scratch_[record.chosen]
                              : std::string_view();
      recent_->add(record.time, std::string(event_id), join_key(features_scratch_, chosen));
      DecisionLine line;
      line.time = record.time;
      line.event_id = event_id;
      line.issued = issued;
      line.group = group;
      line.features = features_scratch_;
      line.candidates = candidates_scratch_;
      line.chosen = record.chosen;
      line.propensity = record.value;
      line.policy = policy;
      line.policy_version = record.policy_version;
      append_decision_line(out, line);
      batch_.push_back({out.size(), Line::decision});
      return;
    }
    case Kind::report_event: {
      ReportLine line;
      line.time = record.time;
      line.event_id = unpack(in);
      line.score = record.value;
      line.join = ReportJoin::event_id;
      if (auto decided = recent_->claim_event(line.event_id, record.time))
        line.delay = std::max(0.0, record.time - *decided);
      append_report_line(out, line);
      batch_.push_back({out.size(), Line::report});
      return;
    }
    case Kind::report_features: {
      ReportLine line;
      line.time = record.time;
      line.score = record.value;
      line.decision = unpack(in);
      unpack_list(in, record.feature_count, features_scratch_);
      auto claimed = recent_->claim_latest(join_key(features_scratch_, line.decision), record.time);
      if (claimed) {
        line.join = ReportJoin::inferred;
        line.event_id = claimed->event_id;
        line.delay = std::max(0.0, record.time - claimed->time);
      } else {
        line.join = ReportJoin::unmatched;
        line.features = features_scratch_;
      }
      append_report_line(out, line);
      batch_.push_back(
          {out.size(), line.join == ReportJoin::inferred ? Line::inferred : Line::unmatched});
      return;
    }
    case Kind::broken:
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
  }
}

void DecisionLog::flush(std::string& out, double now) {
  // A record counts as written once its whole line is on disk; the rest of a
  // batch whose write failed counts as dropped.
  std::size_t written = out.size();
  try {
    files_->write(out, now);
    failing_ = false;
  } catch (const LogWriteError& error) {
    written = error.written;
    std::size_t lost = 0;
    for (const auto& line : batch_) lost += line.end > written ? 1 : 0;
    if (!failing_ && options_.on_error)
      options_.on_error(std::string(error.what()) + " (" + std::to_string(lost) +
                        " record(s) dropped; counted in pytheas_decision_log_records_total)");
    failing_ = true;
  }
  std::uint64_t decisions = 0, reports = 0, inferred = 0, unmatched = 0, dropped = 0;
  for (const auto& line : batch_) {
    if (line.end > written) {
      ++dropped;
      continue;
    }
    decisions += line.kind == Line::decision ? 1 : 0;
    reports += line.kind != Line::decision ? 1 : 0;
    inferred += line.kind == Line::inferred ? 1 : 0;
    unmatched += line.kind == Line::unmatched ? 1 : 0;
  }
  decisions_.fetch_add(decisions, std::memory_order_relaxed);
  reports_.fetch_add(reports, std::memory_order_relaxed);
  inferred_.fetch_add(inferred, std::memory_order_relaxed);
  unmatched_.fetch_add(unmatched, std::memory_order_relaxed);
  dropped_.fetch_add(dropped, std::memory_order_relaxed);
  out.clear();
  batch_.clear();
  files_deleted_.store(files_->files_deleted(), std::memory_order_relaxed);
  bytes_.store(files_->total_bytes(), std::memory_order_relaxed);
}

void DecisionLog::run() {
  std::string out;
  out.reserve(kFlushBytes + 64 * 1024);
  auto last_flush = std::chrono::steady_clock::now();
  for (;;) {
    const bool closing = closing_.load(std::memory_order_acquire);
    std::size_t taken = 0;
    while (taken < kRecordsPerPass && queue_.try_pop([&](Queued& record) noexcept {
      try {
        encode(record, out);
      } catch (...) {  // out of memory encoding: this record is lost, counted
        dropped_.fetch_add(1, std::memory_order_relaxed);
      }
      if (record.bytes.capacity() > kKeptCellBytes) std::string().swap(record.bytes);
    }))
      ++taken;
    const auto steady = std::chrono::steady_clock::now();
    const bool idle = taken == 0;
    if (out.size() >= kFlushBytes ||
        (!out.empty() && (idle || steady - last_flush >= options_.flush_interval))) {
      flush(out, wall_now());
      last_flush = steady;
    }
    if (!idle) continue;
    if (closing) break;  // closing was set before this pass found the queue empty
    try {
      files_->rotate_if_old(wall_now());
    } catch (const std::exception& error) {
      if (!failing_ && options_.on_error) options_.on_error(error.what());
      failing_ = true;
    }
    std::this_thread::sleep_for(kIdleSleep);
  }
  try {
    files_->sync();
  } catch (const std::exception& error) {
    if (options_.on_error) options_.on_error(error.what());
  }
}

void DecisionLog::close() {
  if (closed_.exchange(true)) return;
  closing_.store(true, std::memory_order_release);
  if (writer_.joinable()) writer_.join();
  files_deleted_ = files_->files_deleted();
  bytes_ = files_->total_bytes();
}

DecisionLogCounters DecisionLog::counters() const {
  DecisionLogCounters counters;
  counters.decisions = decisions_.load(std::memory_order_relaxed);
  counters.reports = reports_.load(std::memory_order_relaxed);
  counters.inferred_joins = inferred_.load(std::memory_order_relaxed);
  counters.unmatched_reports = unmatched_.load(std::memory_order_relaxed);
  counters.dropped = dropped_.load(std::memory_order_relaxed);
  counters.files_deleted = files_deleted_.load(std::memory_order_relaxed);
  counters.bytes = bytes_.load(std::memory_order_relaxed);
  return counters;
}

}  // namespace pytheas::evaluation
