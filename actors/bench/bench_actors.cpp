// bench_actors: the group-actor layer's figures, in-process on a real actor
// system (no HTTP): groups spawned per second, RSS per active group, and
// report -> visible-in-snapshot latency at a paced report rate.
// Usage: bench_actors [groups=100000] [rate=100000] [report_groups=10000] [seconds=5] [arms=3]
//                     [caf_threads=2]
// Run by scripts/bench-actors, which builds it in Release first.

#include <malloc.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/node.hpp"

using namespace pytheas;
using Clock = std::chrono::steady_clock;

namespace {

double rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

struct Features {
  std::vector<std::string> values = std::vector<std::string>(15);
  std::vector<std::string_view> view;
  void set_asn(int asn) {
    values[4] = std::to_string(asn);
    view.assign(values.begin(), values.end());
  }
};

template <class Predicate>
bool wait_until(Predicate&& done, double seconds) {
  auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const int groups = argc > 1 ? std::stoi(argv[1]) : 100000;
  const double rate = argc > 2 ? std::stod(argv[2]) : 100000;
  const int report_groups = argc > 3 ? std::stoi(argv[3]) : 10000;
  const double seconds = argc > 4 ? std::stod(argv[4]) : 5;
  const int arms = argc > 5 ? std::stoi(argv[5]) : 3;

  std::vector<std::string> arm_names;
  for (int a = 0; a < arms; ++a) arm_names.push_back("cdn-" + std::to_string(a));

  NodeOptions options;
  options.scheduler_threads = argc > 6 ? std::stoi(argv[6]) : options.scheduler_threads;
  Node node(options);
  node.start();
  const double rss_before = rss_mb();

  // 1. Spawn: one report per group makes every group active with `arms` arms
  //    after a few more reports (each arm observed once).
  Features f;
  auto start = Clock::now();
  for (int g = 0; g < groups; ++g) {
    f.set_asn(g);
    for (int a = 0; a < arms; ++a) {
      while (node.report({f.view, arm_names[static_cast<std::size_t>(a)], 1.0 + a}) !=
             ReportStatus::accepted)
        std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
  }
  if (!wait_until(
          [&] {
            return node.stats().active_groups >= static_cast<std::uint64_t>(groups) &&
                   node.stats().queue_depth == 0;
          },
          300)) {
    std::fprintf(stderr, "bench_actors: groups did not all become active\n");
    return 1;
  }
  double spawn_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double rss_groups_raw = rss_mb() - rss_before;
  malloc_trim(0);  // hand back what the spawn burst's transient messages left free
  const double rss_groups = rss_mb() - rss_before;
  std::printf("rss before malloc_trim: %.1f MB\n", rss_groups_raw);
  std::printf("groups: %d active, %d arms each, spawned+first reports in %.2f s -> %.0f groups/s\n",
              groups, arms, spawn_s, groups / spawn_s);
  std::printf("rss: %.1f MB for %d active groups (%.0f bytes/group; target <= 200 MB per 100k)\n",
              rss_groups, groups, rss_groups * 1024 * 1024 / groups);

  // 2. Freshness at a paced rate across `report_groups` groups.
  auto* freshness = node.stats().freshness;
  const auto applied_before = node.stats().reports_applied;
  const auto count_before = freshness->count();
  // Take the histogram's delta by snapshotting bucket counts.
  std::vector<std::uint64_t> base(LatencyHistogram::kBuckets + 1);
  for (int i = 0; i <= LatencyHistogram::kBuckets; ++i)
    base[static_cast<std::size_t>(i)] = freshness->bucket(i);
  const auto total = static_cast<std::uint64_t>(rate * seconds);
  std::uint64_t sent = 0, refused = 0;
  start = Clock::now();
  // Paced in 1 ms bursts with a sleep in between, as io threads deliver them:
  // a busy-wait here would steal a core from the actors on a 2-core box.
  const auto per_ms = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(rate / 1000));
  for (std::uint64_t i = 0; i < total; ++i) {
    if (i % per_ms == 0)
      std::this_thread::sleep_until(start + std::chrono::milliseconds(i / per_ms));
    f.set_asn(static_cast<int>(i % static_cast<std::uint64_t>(report_groups)));
    auto status =
        node.report({f.view, arm_names[i % arm_names.size()], static_cast<double>(i % 5)});
    status == ReportStatus::accepted ? ++sent : ++refused;
  }
  double send_s = std::chrono::duration<double>(Clock::now() - start).count();
  wait_until([&] { return node.stats().queue_depth == 0; }, 60);
  std::vector<std::uint64_t> delta(base.size());
  std::uint64_t n = 0;
  for (int i = 0; i <= LatencyHistogram::kBuckets; ++i) {
    delta[static_cast<std::size_t>(i)] = freshness->bucket(i) - base[static_cast<std::size_t>(i)];
    n += delta[static_cast<std::size_t>(i)];
  }
  auto quantile = [&](double q) {
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n));
    std::uint64_t seen = 0;
    for (int i = 0; i <= LatencyHistogram::kBuckets; ++i) {
      seen += delta[static_cast<std::size_t>(i)];
      if (seen >= rank && seen > 0)
        return i < LatencyHistogram::kBuckets ? LatencyHistogram::upper_bound(i) : 1e9;
    }
    return 0.0;
  };
  std::printf("reports: %llu sent in %.2f s (%.0f/s offered, %llu refused) across %d groups\n",
              static_cast<unsigned long long>(sent), send_s, static_cast<double>(total) / send_s,
              static_cast<unsigned long long>(refused), report_groups);
  std::printf(
      "report -> visible in snapshot: p50 <= %.3f ms, p99 <= %.3f ms, p99.9 <= %.3f ms "
      "(%llu reports; bucket upper bounds; target p99 <= 10 ms)\n",
      quantile(0.5) * 1e3, quantile(0.99) * 1e3, quantile(0.999) * 1e3,
      static_cast<unsigned long long>(n));
  (void)applied_before;
  (void)count_before;
  node.stop();

  // 3. For reference: what CAF itself costs per idle stateful actor here, so
  //    the per-group figure above can be split into CAF's share and ours.
  {
    struct Empty {};
    caf::actor_system_config cfg;
    cfg.set("scheduler.max-threads", size_t{2});
    caf::actor_system system{cfg};
    malloc_trim(0);
    const double before = rss_mb();
    std::vector<caf::actor> actors;
    actors.reserve(static_cast<std::size_t>(groups));
    for (int g = 0; g < groups; ++g)
      actors.push_back(system.spawn(
          [](caf::stateful_actor<Empty>*) -> caf::behavior { return {[](int x) { return x; }}; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const double bare = rss_mb() - before;
    std::printf("reference: %d bare CAF stateful actors take %.1f MB (%.0f bytes/actor)\n", groups,
                bare, bare * 1024 * 1024 / groups);
    for (auto& a : actors) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  return 0;
}
