#include "core/decision_snapshot.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/errors.hpp"

namespace pytheas {
namespace {

// Up to this many candidates the pick path uses stack buffers (no allocation)
// and quadratic duplicate checks; beyond it, vectors and a sort.
constexpr std::size_t kStackCandidates = 64;

// Above this many arms a snapshot looks candidates up by binary search over
// sorted fingerprints instead of a linear scan.
constexpr std::size_t kLinearScanArms = 16;

[[noreturn]] void throw_duplicate(std::string_view what, std::string_view name) {
  throw InvalidInput(std::string(what) + ": duplicate decision '" + std::string(name) + "'");
}

// NameKey: a name's length and its first and last 8 bytes, read with
// fixed-size loads (constant time; no library call). Names of up to 16 bytes
// are fully determined by their key, so matching them needs no memcmp;
// longer ones are confirmed by comparing the names.
using detail::NameKey;

NameKey name_key(std::string_view name) {
  const auto* p = reinterpret_cast<const unsigned char*>(name.data());
  const std::size_t size = name.size();
  auto load32 = [](const unsigned char* at) {
    std::uint32_t value;
    std::memcpy(&value, at, 4);
    return std::uint64_t{value};
  };
  NameKey key{0, 0, size};
  // Short names use overlapping loads that still cover every byte.
  if (size >= 8) {
    std::memcpy(&key.head, p, 8);
    std::memcpy(&key.tail, p + size - 8, 8);
  } else if (size >= 4) {
    key.head = load32(p) | (load32(p + size - 4) << 32);
  } else if (size > 0) {
    key.head = std::uint64_t{p[0]} | (std::uint64_t{p[size / 2]} << 8) |
               (std::uint64_t{p[size - 1]} << 16);
  }
  return key;
}

bool same_name(const NameKey& a, std::string_view a_name, const NameKey& b,
               std::string_view b_name) {
  return a == b && (a.size <= 16 || a_name == b_name);
}

// A 64-bit mix of a key, for sorting and binary search.
std::uint64_t fingerprint(const NameKey& key) {
  const std::uint64_t mixed =
      (key.head * 0x9E3779B97F4A7C15ull) ^ (key.tail * 0xC2B2AE3D27D4EB4Full) ^ key.size;
  return mixed ^ (mixed >> 29);
}

// Throws InvalidInput if two of the candidates at `indices` are equal.
// `keys` holds every candidate's key.
void check_distinct(Candidates candidates, std::span<const NameKey> keys,
                    std::span<const std::size_t> indices) {
  const std::size_t n = indices.size();
  if (n <= kStackCandidates) {
    for (std::size_t i = 1; i < n; ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (same_name(keys[indices[i]], candidates[indices[i]], keys[indices[j]],
                      candidates[indices[j]]))
          throw_duplicate("pick", candidates[indices[i]]);
    return;
  }
  std::vector<std::pair<std::uint64_t, std::size_t>> sorted(n);
  for (std::size_t i = 0; i < n; ++i) sorted[i] = {fingerprint(keys[indices[i]]), indices[i]};
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 1; i < n; ++i) {
    // Equal fingerprints: compare every earlier entry of the run by name.
    for (std::size_t j = i; j-- > 0 && sorted[j].first == sorted[i].first;)
      if (candidates[sorted[i].second] == candidates[sorted[j].second])
        throw_duplicate("pick", candidates[sorted[i].second]);
  }
}

// Throws InvalidInput if two candidates matched the same arm (snapshots with
// more than 64 arms, where pick() cannot use a bit mask). Allocates only
// beyond kStackCandidates candidates.
void check_distinct_arms(Candidates candidates, std::span<const std::int32_t> arm_of) {
  const std::size_t n = arm_of.size();
  if (n <= kStackCandidates) {
    for (std::size_t i = 1; i < n; ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (arm_of[i] >= 0 && arm_of[i] == arm_of[j]) throw_duplicate("pick", candidates[i]);
    return;
  }
  std::vector<std::pair<std::int32_t, std::size_t>> sorted;
  for (std::size_t i = 0; i < n; ++i)
    if (arm_of[i] >= 0) sorted.emplace_back(arm_of[i], i);
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 1; i < sorted.size(); ++i)
    if (sorted[i].first == sorted[i - 1].first)
      throw_duplicate("pick", candidates[sorted[i].second]);
}

// Scratch space of one pick: on the stack for up to kStackCandidates
// candidates, on the heap beyond.
class PickScratch {
 public:
  explicit PickScratch(std::size_t n) {
    if (n > kStackCandidates) {
      key_heap_.resize(n);
      arm_heap_.resize(n);
      weight_heap_.resize(n);
      unseen_heap_.resize(n);
      keys = key_heap_;
      arm_of = arm_heap_;
      weight = weight_heap_;
      unseen = unseen_heap_;
    } else {
      keys = std::span<NameKey>(key_stack_, n);
      arm_of = std::span<std::int32_t>(arm_stack_, n);
      weight = std::span<double>(weight_stack_, n);
      unseen = std::span<std::size_t>(unseen_stack_, n);
    }
  }
  std::span<NameKey> keys;
  std::span<std::int32_t> arm_of;
  std::span<double> weight;       // each candidate's rule-2 weight
  std::span<std::size_t> unseen;  // indices of unseen candidates (a prefix is used)

 private:
  NameKey key_stack_[kStackCandidates];
  std::int32_t arm_stack_[kStackCandidates];
  double weight_stack_[kStackCandidates];
  std::size_t unseen_stack_[kStackCandidates];
  std::vector<NameKey> key_heap_;
  std::vector<std::int32_t> arm_heap_;
  std::vector<double> weight_heap_;
  std::vector<std::size_t> unseen_heap_;
};

}  // namespace

std::uint64_t hash_decision(std::string_view name) {
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64-bit offset basis
  for (unsigned char byte : name) {
    hash ^= byte;
    hash *= 0x100000001b3ull;  // FNV-1a 64-bit prime
  }
  return hash;
}

DecisionSnapshot::DecisionSnapshot(std::string policy, std::vector<ArmSnapshot> arms,
                                   double taken_at, std::uint64_t version, double unseen_weight)
    : policy_(std::move(policy)),
      arms_(std::move(arms)),
      taken_at_(taken_at),
      version_(version),
      unseen_weight_(std::isnan(unseen_weight) ? kExploreUnseen : unseen_weight) {
  const std::size_t n = arms_.size();
  keys_.reserve(n);
  weights_.reserve(n);
  ranks_.reserve(n);
  for (auto& arm : arms_) {
    if (arm.name.empty()) throw InvalidInput("snapshot: empty arm name");
    arm.hash = hash_decision(arm.name);
    if (!(arm.weight >= 0) || !std::isfinite(arm.weight)) arm.weight = 0;
    if (std::isnan(arm.rank)) arm.rank = -std::numeric_limits<double>::infinity();
    keys_.push_back(name_key(arm.name));
    weights_.push_back(arm.weight);
    ranks_.push_back(arm.rank);
  }
  if (n <= kLinearScanArms) {
    for (std::size_t i = 1; i < n; ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (keys_[i] == keys_[j] && arms_[i].name == arms_[j].name)
          throw_duplicate("snapshot", arms_[i].name);
    return;
  }
  sorted_prints_.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    sorted_prints_.emplace_back(fingerprint(keys_[i]), static_cast<std::int32_t>(i));
  std::sort(sorted_prints_.begin(), sorted_prints_.end());
  for (std::size_t i = 1; i < n; ++i) {
    for (std::size_t j = i; j-- > 0 && sorted_prints_[j].first == sorted_prints_[i].first;) {
      const auto& name = arms_[static_cast<std::size_t>(sorted_prints_[i].second)].name;
      if (name == arms_[static_cast<std::size_t>(sorted_prints_[j].second)].name)
        throw_duplicate("snapshot", name);
    }
  }
}

// Inlined into pick(), its only hot caller.
[[gnu::always_inline]] inline std::int32_t DecisionSnapshot::find_arm(const NameKey& key,
                                                                      std::string_view name,
                                                                      std::size_t hint) const {
  if (sorted_prints_.empty()) {
    const std::size_t n = keys_.size();
    if (hint >= n) hint = 0;
    // Keys first: the names (a cache line per arm) are read only on a match.
    auto matches = [&](std::size_t i) {
      return keys_[i] == key && (key.size <= 16 || arms_[i].name == name);
    };
    for (std::size_t i = hint; i < n; ++i)
      if (matches(i)) return static_cast<std::int32_t>(i);
    for (std::size_t i = 0; i < hint; ++i)
      if (matches(i)) return static_cast<std::int32_t>(i);
    return kUnseen;
  }
  const std::uint64_t print = fingerprint(key);
  auto it = std::lower_bound(sorted_prints_.begin(), sorted_prints_.end(),
                             std::pair<std::uint64_t, std::int32_t>{print, 0});
  for (; it != sorted_prints_.end() && it->first == print; ++it)
    if (arms_[static_cast<std::size_t>(it->second)].name == name) return it->second;
  return kUnseen;
}

PickResult DecisionSnapshot::pick(Candidates candidates, Rng& rng) const {
  const std::size_t n = candidates.size();
  if (n == 0) throw InvalidInput("pick: empty candidate list");
  PickScratch scratch(n);
  auto& arm_of = scratch.arm_of;

  // Match candidates to arms. Two candidates matching the same arm are equal
  // (arm names are distinct), so only unseen candidates need a pairwise check.
  std::uint64_t claimed = 0;  // bit per arm, when there are <= 64 arms
  const bool track_claims = arms_.size() <= 64;
  std::size_t unseen = 0;
  std::size_t hint = 0;
  const double unseen_weight = std::max(unseen_weight_, 0.0);
  double total = 0;  // summed here, where its latency overlaps the matching
  for (std::size_t i = 0; i < n; ++i) {
    scratch.keys[i] = name_key(candidates[i]);
    const std::int32_t arm = find_arm(scratch.keys[i], candidates[i], hint);
    arm_of[i] = arm;
    if (arm == kUnseen) {
      scratch.weight[i] = unseen_weight;
      total += unseen_weight;
      scratch.unseen[unseen++] = i;
      continue;
    }
    const auto at = static_cast<std::size_t>(arm);
    hint = at + 1;
    scratch.weight[i] = weights_[at];
    total += weights_[at];
    if (track_claims) {
      if (claimed & (std::uint64_t{1} << at)) throw_duplicate("pick", candidates[i]);
      claimed |= std::uint64_t{1} << at;
    }
  }
  if (!track_claims) check_distinct_arms(candidates, arm_of);
  if (unseen > 1) check_distinct(candidates, scratch.keys, scratch.unseen.first(unseen));

  // Rule 1: explore never-seen candidates first.
  if (unseen > 0 && unseen_weight_ < 0) {
    const auto chosen = static_cast<std::size_t>(rng.below(unseen));
    return {scratch.unseen[chosen], 1.0 / static_cast<double>(unseen)};
  }

  // Rule 2: sample by weight among the candidates.
  if (total > 0 && std::isfinite(total)) {
    const auto weight = scratch.weight;
    const double target = rng.uniform() * total;
    double cumulative = 0;
    for (std::size_t i = 0; i < n; ++i) {
      cumulative += weight[i];
      if (target < cumulative && weight[i] > 0) return {i, weight[i] / total};
    }
    // Rounding left `target` past the last boundary: it belongs to the last
    // candidate with a positive weight.
    std::size_t last = n - 1;
    while (!(weight[last] > 0)) --last;
    return {last, weight[last] / total};
  }

  // Rule 3: highest rank, earliest candidate on ties.
  std::size_t best = 0;
  double best_rank = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    const double rank = arm_of[i] == kUnseen ? -std::numeric_limits<double>::infinity()
                                             : ranks_[static_cast<std::size_t>(arm_of[i])];
    if (rank > best_rank) {
      best_rank = rank;
      best = i;
    }
  }
  return {best, 1.0};
}

PickResult DecisionSnapshot::uniform_pick(Candidates candidates, Rng& rng) {
  const std::size_t n = candidates.size();
  if (n == 0) throw InvalidInput("pick: empty candidate list");
  PickScratch scratch(n);
  for (std::size_t i = 0; i < n; ++i) {
    scratch.keys[i] = name_key(candidates[i]);
    scratch.unseen[i] = i;
  }
  check_distinct(candidates, scratch.keys, scratch.unseen);
  return {static_cast<std::size_t>(rng.below(n)), 1.0 / static_cast<double>(n)};
}

}  // namespace pytheas
