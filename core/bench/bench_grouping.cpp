// bench_grouping: how long GroupingLearner::learn() takes on 1 M sampled
// sessions on one thread (run by scripts/bench-grouping; target <= 2 s), and
// a whole Regrouper::regroup() (the learn plus the parent/heir maps between
// the starting [Asn] grouping and the learned one).
// The sessions follow the trace generator's world: the original 15 features,
// 50 ASNs with Zipf popularity, 4 cities per ASN, 4 CDNs; the score of a CDN
// depends on the ASN (sd 15) and on the city within it (sd 8), plus noise
// (sd 12); every other feature is noise. Building the samples is not timed.
// Usage: bench_grouping [SAMPLES] (default 1000000)

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/grouping_learner.hpp"
#include "core/regrouper.hpp"
#include "core/rng.hpp"
#include "core/thread_cpu.hpp"

using namespace pytheas;

namespace {

double normal(Rng& rng) {
  const double u1 = 1.0 - rng.uniform();
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * 3.141592653589793 * u2);
}

std::vector<GroupingSample> make_samples(std::size_t count) {
  constexpr int kAsns = 50, kCities = 4, kCdns = 4;
  Rng rng(2017);
  std::vector<double> asn_cdf(kAsns);
  double total = 0;
  for (int a = 0; a < kAsns; ++a) asn_cdf[static_cast<std::size_t>(a)] = total += 1.0 / (a + 1);
  std::vector<double> effect(kAsns * kCities * kCdns);
  for (int a = 0; a < kAsns; ++a)
    for (int d = 0; d < kCdns; ++d) {
      const double asn_effect = 15 * normal(rng);
      for (int c = 0; c < kCities; ++c)
        effect[static_cast<std::size_t>((a * kCities + c) * kCdns + d)] =
            asn_effect + 8 * normal(rng);
    }
  static const char* kConn[] = {"dsl", "cable", "fiber", "mobile"};
  static const char* kOs[] = {"windows", "macos", "ios", "android", "linux"};
  static const char* kBitrates[] = {"1200", "2500", "4000"};
  std::vector<GroupingSample> samples(count);
  for (std::size_t i = 0; i < count; ++i) {
    const double x = rng.uniform() * total;
    const auto asn = static_cast<int>(std::min<std::ptrdiff_t>(
        std::upper_bound(asn_cdf.begin(), asn_cdf.end(), x) - asn_cdf.begin(), kAsns - 1));
    const auto city = static_cast<int>(rng.below(kCities));
    const auto cdn = static_cast<int>(rng.below(kCdns));
    auto& s = samples[i];
    auto& f = s.features;
    f.resize(15);
    f[0] = std::to_string(1700000000000 + i * 86);
    f[1] = std::to_string(rng.below(100));
    f[2] = kBitrates[rng.below(3)];
    f[3] = std::to_string(200 + rng.below(4800));
    f[4] = "AS" + std::to_string(1000 + 37 * asn);
    f[5] = f[4] + "-city" + std::to_string(city);
    f[6] = "US";
    f[7] = kConn[rng.below(4)];
    f[8] = "S" + std::to_string((asn * 7 + city) % 50);
    f[9] = kOs[rng.below(5)];
    f[10] = rng.uniform() < 0.8 ? "vod" : "live";
    f[11] = "obj" + std::to_string(rng.below(1000));
    f[12] = rng.below(2) ? "html5" : "flash";
    f[13] = kBitrates[rng.below(3)];
    f[14] = "cdn-" + std::to_string(rng.below(kCdns));
    s.decision = "cdn-" + std::to_string(cdn);
    s.score =
        -(100 + 5 * cdn + effect[static_cast<std::size_t>((asn * kCities + city) * kCdns + cdn)] +
          12 * normal(rng));
    s.cluster =
        "fe-" + std::to_string(rng.uniform() < 0.75 ? asn % 3 : static_cast<int>(rng.below(3)));
  }
  return samples;
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t count = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const auto samples = make_samples(count);
  GroupingLearnerOptions options;
  options.min_group_size = 200;
  GroupingLearner learner(FeatureSchema::original(), options);

  std::vector<double> times;
  LearnedGrouping learned;
  for (int run = 0; run < 3; ++run) {
    const double start = thread_cpu_seconds();
    learned = learner.learn(samples, run == 0 ? nullptr : &learned);
    times.push_back(thread_cpu_seconds() - start);
  }
  std::sort(times.begin(), times.end());
  std::size_t filled = 0, smallest = count, largest = 0;
  for (const auto& [name, size] : learned.sizes) {
    if (size == 0) continue;
    ++filled;
    smallest = std::min(smallest, size);
    largest = std::max(largest, size);
  }
  std::string features;
  for (const auto& name : learned.split_features) features += (features.empty() ? "" : ",") + name;
  std::printf("grouping learner: %zu samples, 15 features (11 candidates), 4 decisions\n", count);
  std::printf(
      "  learn time (thread CPU, 3 runs): min %.3f s, median %.3f s, max %.3f s "
      "(target <= 2 s)\n",
      times[0], times[1], times[2]);
  std::printf("  groups: %zu with samples (%zu leaves), sizes %zu..%zu, split on [%s]\n", filled,
              learned.sizes.size(), smallest, largest, features.c_str());

  RegrouperOptions regrouper_options;
  regrouper_options.learner = options;
  regrouper_options.window = count;
  regrouper_options.min_samples = 1;
  Regrouper regrouper(FeatureSchema::original(), regrouper_options,
                      make_feature_grouping(FeatureSchema::original(), {"Asn"}));
  for (const auto& sample : samples) regrouper.add(sample);
  const auto regroup = regrouper.regroup();
  std::printf(
      "  regroup from [Asn] (learn + parent/heir maps, thread CPU): %.3f s; %zu new groups, "
      "%zu old groups with heirs\n",
      regroup ? regroup->learn_seconds : 0.0, regroup ? regroup->parent.size() : 0,
      regroup ? regroup->heir.size() : 0);
  return 0;
}
