// bench_core: throughput and memory figures of core/ (run by scripts/bench-core).
//   * picks/s from one DecisionSnapshot on one thread (10 known arms; 3 and 10
//     candidates per request);
//   * updates/s of a ducb policy (10 arms, time advancing every update);
//   * snapshots/s (what a group actor pays per published batch);
//   * bytes of state per group with 10 arms: live heap (glibc mallinfo2, so
//     allocator overhead included) of many policies divided by their number,
//     and the serialized size.
// Rates are per second of this thread's CPU time. Figures vary with the
// machine; the targets are >= 20 M picks/s with 10 candidates, >= 5 M
// updates/s and <= 1 KB per group.

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/policy.hpp"
#include "core/thread_cpu.hpp"

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

// Picks from `snapshot` with the first `candidate_count` arms as candidates.
// The checksum is the picks' histogram held against the snapshot's weights:
// the largest gap between a candidate's observed share and its weight share
// (renormalized over the candidates) must be tiny, or the pick is wrong.
void bench_picks(const DecisionSnapshot& snapshot, const std::vector<std::string>& names,
                 std::size_t candidate_count) {
  std::vector<std::string_view> candidates(names.begin(),
                                           names.begin() + static_cast<long>(candidate_count));
  Rng rng(1);
  constexpr int kPicks = 20'000'000;
  std::vector<std::uint64_t> picked(candidate_count, 0);
  double propensities = 0;
  const double start = thread_cpu_seconds();
  for (int i = 0; i < kPicks; ++i) {
    const auto pick = snapshot.pick(candidates, rng);
    ++picked[pick.index];
    propensities += pick.propensity;
  }
  const double elapsed = thread_cpu_seconds() - start;
  double weight_sum = 0;
  for (std::size_t c = 0; c < candidate_count; ++c) weight_sum += snapshot.arms()[c].weight;
  double worst_gap = 0;
  for (std::size_t c = 0; c < candidate_count; ++c) {
    const double share = static_cast<double>(picked[c]) / kPicks;
    worst_gap = std::max(worst_gap, std::abs(share - snapshot.arms()[c].weight / weight_sum));
  }
  std::printf(
      "picks/s (snapshot, 1 thread, %zu candidates of %zu arms): %.1f M  (target >= 20 M with 10 "
      "candidates; checksum: picks follow weights within %.4f, mean propensity %.3f)\n",
      candidate_count, snapshot.arms().size(), kPicks / elapsed / 1e6, worst_gap,
      propensities / kPicks);
  if (worst_gap > 0.002) {
    std::fprintf(stderr, "bench_core: picks do not follow the snapshot's weights\n");
    std::exit(1);
  }
}

void bench_updates(const std::shared_ptr<const PolicyConfig>& config,
                   const std::vector<std::string>& names, const char* label) {
  auto policy = trained_policy(config, names, 3);
  constexpr int kUpdates = 10'000'000;
  Rng rng(2);
  std::vector<double> scores(1024);
  for (auto& score : scores) score = rng.uniform();
  const double start = thread_cpu_seconds();
  double time = 100;
  for (int i = 0; i < kUpdates; ++i) {
    time += 0.001;  // time advances on every update: the discount is recomputed
    policy->update({names[static_cast<std::size_t>(i) % names.size()],
                    scores[static_cast<std::size_t>(i) & 1023], time});
  }
  const double elapsed = thread_cpu_seconds() - start;
  std::printf("updates/s (%s, 10 arms, 1 thread): %.1f M\n", label, kUpdates / elapsed / 1e6);
}

void bench_snapshots(const std::shared_ptr<const PolicyConfig>& config,
                     const std::vector<std::string>& names, const char* label) {
  auto policy = trained_policy(config, names, 4);
  constexpr int kSnapshots = 200'000;
  double weight_sum = 0;  // every snapshot's weights sum to 1
  const double start = thread_cpu_seconds();
  for (int i = 0; i < kSnapshots; ++i)
    for (const auto& arm : policy->snapshot(100 + i * 0.01)->arms()) weight_sum += arm.weight;
  const double elapsed = thread_cpu_seconds() - start;
  std::printf("snapshots/s (%s, 10 arms, 1 thread): %.2f M  (checksum: weights sum to %.6f)\n",
              label, kSnapshots / elapsed / 1e6, weight_sum / kSnapshots);
}

// Live heap per group: a trained policy alone, and with its latest snapshot
// (what a live group holds). Snapshots share the policy's arm names; with a
// `pool`, policies share them too (as a node's groups do).
void bench_memory(const std::shared_ptr<const PolicyConfig>& config,
                  const std::vector<std::string>& names, const char* label,
                  ArmNamesPool* pool = nullptr) {
  constexpr int kGroups = 10'000;
  std::vector<std::unique_ptr<Policy>> groups;
  std::vector<SnapshotPtr> snapshots;
  groups.reserve(kGroups);
  snapshots.reserve(kGroups);
  const auto before = mallinfo2().uordblks;
  for (int g = 0; g < kGroups; ++g) {
    groups.push_back(trained_policy(config, names, static_cast<std::uint64_t>(g) + 1));
    if (pool) groups.back()->share_arm_names(*pool);
  }
  const auto policies = mallinfo2().uordblks;
  for (auto& group : groups) snapshots.push_back(group->snapshot(100));
  const auto with_snapshots = mallinfo2().uordblks;
  const double per_group =
      static_cast<double>(policies - before) / kGroups + sizeof(std::unique_ptr<Policy>);
  const double per_snapshot =
      static_cast<double>(with_snapshots - policies) / kGroups + sizeof(SnapshotPtr);
  std::printf(
      "bytes of state per group (%s, %zu arms, heap incl. malloc overhead): %.0f  "
      "(+ %.0f for its snapshot; serialized: %zu; target <= 1 KB)\n",
      label, names.size(), per_group, per_snapshot, groups.front()->serialize(0).size());
}

}  // namespace

int main() {
  const auto names = arm_names(10);
  auto ducb = std::make_shared<const PolicyConfig>();
  {
    // An egreedy group: every arm keeps a positive weight (0.91 for the
    // best, 0.01 for each other), so every candidate can be drawn. (A
    // trained ducb snapshot puts all weight on one arm, which would make the
    // draw trivial.)
    PolicyConfig egreedy;
    egreedy.kind = "egreedy";
    auto policy = trained_policy(std::make_shared<const PolicyConfig>(egreedy), names, 1);
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
  auto pool = ArmNamesPool::make();
  bench_memory(ducb, names, "ducb, shared config and arm names, as on a node", pool.get());
  bench_memory(ducb, names, "ducb, shared config");
  bench_memory(nullptr, names, "ducb, own config copy");
  PolicyConfig swucb_config;
  swucb_config.kind = "swucb";
  bench_memory(std::make_shared<const PolicyConfig>(swucb_config), names, "swucb, shared config");
  return 0;
}
