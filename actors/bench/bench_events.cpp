// bench_events: what event ids cost a node with the default label config
// (learning on), in-process on a real node (no HTTP; scripts/bench-http
// measures the HTTP path), each figure beside its target:
//   * --max S: two threads decide flat out for S seconds (default 60); every
//     64th event id is kept and reported at the end: refused as unknown must
//     be 0 (the whole window holds at the maximum decide rate). Prints the
//     decide rate and the RSS each outstanding decision costs (target
//     <= 48 B; none is the aim).
//   * --paced RATE S: RATE decides/s for S seconds (default 10000 for 600),
//     each decision reported after a delay drawn uniformly from the report
//     window (players report when sessions end): refused as unknown, the
//     claims the node remembers and their bytes, and the node's RSS (target
//     <= 400 MB after 600 s at 10k/s). The bench's own queue of pending ids is
//     kept in one arena and its bytes are subtracted from RSS.
// Usage: bench_events --max [seconds=60] | --paced [rate=10000] [seconds=600]
// Run by scripts/bench-events, which builds it in Release first.

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "actors/bench/process_memory.hpp"
#include "actors/node/node.hpp"

using namespace pytheas;
using Clock = std::chrono::steady_clock;

namespace {

using bench::rss_mb;

double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// A session's 15 feature values of the default schema; 200 ASNs, 20 cities.
struct Session {
  std::vector<std::string> values = std::vector<std::string>(15, "x");
  std::vector<std::string_view> view;
  explicit Session(std::mt19937_64& rng) {
    values[4] = std::to_string(rng() % 200);
    values[5] = "city" + std::to_string(rng() % 20);
    view.assign(values.begin(), values.end());
  }
};

const std::vector<std::string_view> kCandidates{"cdn-a", "cdn-b", "cdn-c"};

int run_max(double seconds) {
  Node node({});
  node.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double rss_start = rss_mb();
  std::atomic<bool> stop{false};
  std::vector<std::vector<std::string>> kept(2);
  std::vector<std::uint64_t> made(2, 0);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 1);
      std::vector<Session> sessions;
      for (int i = 0; i < 4096; ++i) sessions.emplace_back(rng);
      while (!stop.load(std::memory_order_relaxed)) {
        auto result = node.decide({sessions[made[t] % sessions.size()].view, kCandidates, ""});
        if (made[t]++ % 64 == 0) kept[t].push_back(std::move(result.event_id));
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : threads) th.join();
  const double elapsed = since(start);
  const double rss_end = rss_mb();
  const auto decisions = made[0] + made[1];
  std::size_t kept_bytes = 0, accepted = 0, unknown = 0, other = 0;
  for (auto& list : kept)
    for (auto& id : list) kept_bytes += id.capacity() + sizeof(std::string);
  for (auto& list : kept)
    for (auto& id : list) {
      auto status = node.report_event(id, 1.0);
      accepted += status == ReportStatus::accepted;
      unknown += status == ReportStatus::unknown_event;
      other += status != ReportStatus::accepted && status != ReportStatus::unknown_event;
      if (status == ReportStatus::overloaded)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  const double per_event =
      std::max(0.0, (rss_end - rss_start) * 1048576.0 - static_cast<double>(kept_bytes)) /
      static_cast<double>(decisions);
  std::printf("decides: %.0f/s for %.0f s with learning on (%llu decisions, 2 threads)\n",
              static_cast<double>(decisions) / elapsed, elapsed,
              static_cast<unsigned long long>(decisions));
  std::printf(
      "reports of every 64th decision of those %.0f s: %zu accepted, %zu unknown, %zu "
      "other (target: 0 unknown)\n",
      elapsed, accepted, unknown, other);
  std::printf("RSS %.0f -> %.0f MB; per outstanding decision %.1f B (target <= 48 B)\n", rss_start,
              rss_end, per_event);
  node.stop();
  return unknown == 0 ? 0 : 1;
}

int run_paced(double rate, double seconds) {
  Node node({});
  node.start();
  const double window = 600;  // the default label config's event_window_s
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const double rss_start = rss_mb();
  std::mt19937_64 rng(7);
  std::vector<Session> sessions;
  for (int i = 0; i < 4096; ++i) sessions.emplace_back(rng);
  std::uniform_real_distribution<double> delay(0, window * 0.98);
  // Pending reports: (due, offset, length) into one arena of id bytes,
  // recycled as a ring once reported.
  struct Pending {
    double due;
    std::size_t at, size;
  };
  auto later = [](const Pending& a, const Pending& b) { return a.due > b.due; };
  std::vector<Pending> heap;
  std::string arena;
  std::size_t arena_live = 0;
  std::vector<std::pair<std::size_t, std::size_t>> free_runs;
  std::size_t accepted = 0, unknown = 0, other = 0;
  std::uint64_t made = 0;
  const auto start = Clock::now();
  double next_print = 60;
  while (true) {
    const double now = since(start);
    if (now >= seconds) break;
    // Decide up to the paced count.
    const auto due_count = static_cast<std::uint64_t>(now * rate);
    for (; made < due_count; ++made) {
      auto result = node.decide({sessions[made % sessions.size()].view, kCandidates, ""});
      std::size_t at;
      if (!free_runs.empty() && free_runs.back().second >= result.event_id.size()) {
        at = free_runs.back().first;
        free_runs.pop_back();
        arena.replace(at, result.event_id.size(), result.event_id);
      } else {
        at = arena.size();
        arena += result.event_id;
      }
      arena_live += result.event_id.size();
      heap.push_back({now + delay(rng), at, result.event_id.size()});
      std::push_heap(heap.begin(), heap.end(), later);
    }
    while (!heap.empty() && heap.front().due <= now) {
      std::pop_heap(heap.begin(), heap.end(), later);
      auto next = heap.back();
      heap.pop_back();
      auto status = node.report_event(std::string_view(arena).substr(next.at, next.size), 1.0);
      accepted += status == ReportStatus::accepted;
      unknown += status == ReportStatus::unknown_event;
      other += status != ReportStatus::accepted && status != ReportStatus::unknown_event;
      arena_live -= next.size;
      free_runs.emplace_back(next.at, next.size);
    }
    if (now >= next_print) {
      const auto stats = node.stats();
      std::printf(
          "t=%.0fs decisions %llu, reports accepted %zu, unknown %zu; claims %llu; RSS %.0f MB "
          "(bench queue %.0f MB)\n",
          now, static_cast<unsigned long long>(made), accepted, unknown,
          static_cast<unsigned long long>(stats.event_claims), rss_mb(),
          static_cast<double>(arena.capacity() + heap.capacity() * sizeof(Pending)) / 1048576.0);
      std::fflush(stdout);
      next_print += 60;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  const auto stats = node.stats();
  const double bench_mb = static_cast<double>(arena.capacity() + heap.capacity() * sizeof(Pending) +
                                              free_runs.capacity() * sizeof(free_runs[0])) /
                          1048576.0;
  const double rss_end = rss_mb();
  // Heap in use counts what malloc handed out, so the bench's own queue
  // (allocated capacity, touched or not) comes off it exactly.
  const auto info = mallinfo2();
  const double heap_mb = static_cast<double>(info.uordblks + info.hblkhd) / 1048576.0;
  std::printf(
      "paced: %.0f decides/s for %.0f s (%llu decisions), each reported after U(0, %.0f s)\n", rate,
      seconds, static_cast<unsigned long long>(made), window * 0.98);
  std::printf("reports: %zu accepted, %zu unknown (target 0), %zu other; claims remembered %llu\n",
              accepted, unknown, other, static_cast<unsigned long long>(stats.event_claims));
  std::printf(
      "RSS %.0f -> %.0f MB; heap in use %.0f MB, minus the bench's queue (%.0f MB): the node's "
      "%.0f MB (target: RSS <= 400 MB)\n",
      rss_start, rss_end, heap_mb, bench_mb, heap_mb - bench_mb);
  node.stop();
  return unknown == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "--max";
  auto number = [&](int i, double fallback) { return argc > i ? std::stod(argv[i]) : fallback; };
  if (mode == "--max") return run_max(number(2, 60));
  if (mode == "--paced") return run_paced(number(2, 10000), number(3, 600));
  std::fprintf(stderr, "usage: bench_events --max [seconds] | --paced [rate] [seconds]\n");
  return 2;
}
