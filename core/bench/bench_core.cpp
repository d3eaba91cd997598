// bench_core: throughput and memory figures of core/ (run by scripts/bench-core).
//   * picks/s from one DecisionSnapshot on one thread (10 known arms; 3 and 10
//     candidates per request);
//   * updates/s of a ducb policy (10 arms, time advancing every update);
//   * snapshots/s (what a group actor pays per published batch);
//   * bytes of state per group with 10 arms: live heap (glibc mallinfo2, so
//     allocator overhead included) of many policies divided by their number,
//     and the serialized size.
// Rates are per second of this thread's CPU time. Figures vary with the machine; the issue's
// targets are >= 20 M picks/s,
// >= 5 M updates/s and <= 1 KB per group.

#include <malloc.h>
#include <time.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "core/policy.hpp"

using namespace pytheas;

namespace {

std::vector<std::string> arm_names(int count) {
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) names.push_back("cdn-" + std::to_string(i));
  return names;
}

// A ducb policy that has seen `arms` arms a few times each.
// A null `config` builds a default ducb with its own copy of the config.
std::unique_ptr<Policy> trained_policy(const std::shared_ptr<const PolicyConfig>& config,
                                       const std::vector<std::string>& names, std::uint64_t seed) {
  auto policy = config ? make_policy(config, seed) : make_policy(PolicyConfig{}, seed);
  Rng rng(seed);
  for (int t = 0; t < 50; ++t)
    for (const auto& name : names) policy->update({name, rng.uniform(), double(t)});
  return policy;
}

// CPU time of this thread: on a shared, loaded machine wall time would
// measure the other processes too.
double thread_seconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

void bench_picks(const DecisionSnapshot& snapshot, const std::vector<std::string>& names,
                 std::size_t candidate_count) {
  std::vector<std::string_view> candidates(names.begin(),
                                           names.begin() + static_cast<long>(candidate_count));
  Rng rng(1);
  constexpr int kPicks = 20'000'000;
  std::size_t checksum = 0;
  const double start = thread_seconds();
  for (int i = 0; i < kPicks; ++i) checksum += snapshot.pick(candidates, rng).index;
  const double elapsed = thread_seconds() - start;
  std::printf("picks/s (snapshot, 1 thread, %zu candidates of 10 arms): %.1f M  (checksum %zu)\n",
              candidate_count, kPicks / elapsed / 1e6, checksum % 10);
}

void bench_updates(const std::shared_ptr<const PolicyConfig>& config,
                   const std::vector<std::string>& names, const char* label) {
  auto policy = trained_policy(config, names, 3);
  constexpr int kUpdates = 10'000'000;
  Rng rng(2);
  std::vector<double> scores(1024);
  for (auto& score : scores) score = rng.uniform();
  const double start = thread_seconds();
  double time = 100;
  for (int i = 0; i < kUpdates; ++i) {
    time += 0.001;  // time advances on every update: the discount is recomputed
    policy->update({names[static_cast<std::size_t>(i) % names.size()],
                    scores[static_cast<std::size_t>(i) & 1023], time});
  }
  const double elapsed = thread_seconds() - start;
  std::printf("updates/s (%s, 10 arms, 1 thread): %.1f M\n", label, kUpdates / elapsed / 1e6);
}

void bench_snapshots(const std::shared_ptr<const PolicyConfig>& config,
                     const std::vector<std::string>& names, const char* label) {
  auto policy = trained_policy(config, names, 4);
  constexpr int kSnapshots = 200'000;
  std::size_t checksum = 0;
  const double start = thread_seconds();
  for (int i = 0; i < kSnapshots; ++i) checksum += policy->snapshot(100 + i * 0.01)->arms().size();
  const double elapsed = thread_seconds() - start;
  std::printf("snapshots/s (%s, 10 arms, 1 thread): %.2f M  (checksum %zu)\n", label,
              kSnapshots / elapsed / 1e6, checksum % 10);
}

void bench_memory(const std::shared_ptr<const PolicyConfig>& config,
                  const std::vector<std::string>& names, const char* label) {
  constexpr int kGroups = 10'000;
  std::vector<std::unique_ptr<Policy>> groups;
  groups.reserve(kGroups);
  const auto before = mallinfo2().uordblks;
  for (int g = 0; g < kGroups; ++g)
    groups.push_back(trained_policy(config, names, static_cast<std::uint64_t>(g) + 1));
  const auto after = mallinfo2().uordblks;
  const double per_group =
      static_cast<double>(after - before) / kGroups + sizeof(std::unique_ptr<Policy>);
  std::printf(
      "bytes of state per group (%s, 10 arms, heap incl. malloc overhead): %.0f  "
      "(serialized: %zu)\n",
      label, per_group, groups.front()->serialize().size());
}

}  // namespace

int main() {
  const auto names = arm_names(10);
  auto ducb = std::make_shared<const PolicyConfig>();
  {
    auto policy = trained_policy(ducb, names, 1);
    auto snapshot = policy->snapshot(100);
    bench_picks(*snapshot, names, 3);
    bench_picks(*snapshot, names, 10);
  }
  bench_updates(ducb, names, "ducb, half-life");
  auto original = std::make_shared<const PolicyConfig>(PolicyConfig::original_ducb());
  bench_updates(original, names, "ducb, original batches");
  bench_snapshots(ducb, names, "ducb, 10-pick list");
  PolicyConfig thompson_config;
  thompson_config.kind = "thompson";
  bench_snapshots(std::make_shared<const PolicyConfig>(thompson_config), names,
                  "thompson, 64 draws");
  bench_memory(ducb, names, "ducb, shared config");
  bench_memory(nullptr, names, "ducb, own config copy");
  PolicyConfig swucb_config;
  swucb_config.kind = "swucb";
  bench_memory(std::make_shared<const PolicyConfig>(swucb_config), names, "swucb, shared config");
  return 0;
}
