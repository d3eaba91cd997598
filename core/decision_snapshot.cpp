#include "core/decision_snapshot.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/errors.hpp"

namespace pytheas {
namespace {

// Up to this many candidates the pick path uses stack buffers (no allocation)
// and quadratic duplicate checks; beyond, pick_large() uses vectors and sorts.
// kMaskArms: bits in the mask of claimed arms.
constexpr std::size_t kStackCandidates = 64;
constexpr std::size_t kMaskArms = 64;

constexpr double kMinusInfinity = -std::numeric_limits<double>::infinity();

// The policy kinds (core/policy.hpp): snapshots name them without storing
// the name.
constexpr std::string_view kKnownPolicies[] = {"ducb",     "swucb",  "ucb",  "egreedy",
                                               "thompson", "random", "fixed"};

std::size_t name_slots(std::size_t bytes) {
  return (bytes + sizeof(ArmValues) - 1) / sizeof(ArmValues);
}

[[noreturn, gnu::cold, gnu::noinline]] void throw_duplicate(std::string_view name) {
  throw InvalidInput("pick: duplicate decision '" + std::string(name) + "'");
}

[[noreturn, gnu::cold, gnu::noinline]] void throw_empty() {
  throw InvalidInput("pick: empty candidate list");
}

bool same_name(const NameKey& a, std::string_view a_name, const NameKey& b,
               std::string_view b_name) {
  return a == b && (a.exact() || a_name == b_name);
}

// Throws InvalidInput if two of the candidates at `indices` are equal.
template <class Index>
void check_distinct(Candidates candidates, std::span<const Index> indices) {
  const std::size_t n = indices.size();
  if (n <= kStackCandidates) {
    NameKey keys[kStackCandidates];
    for (std::size_t i = 0; i < n; ++i) keys[i] = NameKey::of(candidates[indices[i]]);
    for (std::size_t i = 1; i < n; ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (same_name(keys[i], candidates[indices[i]], keys[j], candidates[indices[j]]))
          throw_duplicate(candidates[indices[i]]);
    return;
  }
  std::vector<std::string_view> sorted;
  sorted.reserve(n);
  for (auto i : indices) sorted.push_back(candidates[i]);
  std::sort(sorted.begin(), sorted.end());
  auto twin = std::adjacent_find(sorted.begin(), sorted.end());
  if (twin != sorted.end()) throw_duplicate(*twin);
}

// Rule 2's draw over the running totals `cumulative` (cumulative[i] = sum of
// the first i+1 weights, total = cumulative[n-1] > 0): the first candidate
// whose running total exceeds a uniform target. Counting the totals at or
// below the target finds it without a data-dependent branch per candidate; a
// zero-weight candidate can never be chosen (its total equals the one before).
std::size_t draw(const double* cumulative, std::size_t n, double target) {
  std::size_t below = 0;
  for (std::size_t i = 0; i < n; ++i) below += cumulative[i] <= target ? 1 : 0;
  return below;
}

}  // namespace

std::uint64_t hash_decision(std::string_view name) {
  std::uint64_t hash = 0xcbf29ce484222325ull;  // FNV-1a 64-bit offset basis
  for (unsigned char byte : name) {
    hash ^= byte;
    hash *= 0x100000001b3ull;  // FNV-1a 64-bit prime
  }
  return hash;
}

DecisionSnapshot::DecisionSnapshot(std::string_view policy, std::span<const ArmSnapshot> arms,
                                   double taken_at, std::uint64_t version, double unseen_weight)
    : taken_at_(taken_at), version_(version), unseen_weight_(unseen_weight) {
  std::vector<std::string_view> names;
  std::vector<ArmValues> values;
  names.reserve(arms.size());
  values.reserve(arms.size());
  for (const auto& arm : arms) {
    names.push_back(arm.name);
    values.push_back(ArmValues{arm.weight, arm.rank, arm.mean, arm.count});
  }
  names_ = ArmNames::make(names, "snapshot");
  init(policy, values);
}

DecisionSnapshot::DecisionSnapshot(std::string_view policy, ArmNames::Ptr names,
                                   std::span<const ArmValues> values, double taken_at,
                                   std::uint64_t version, double unseen_weight)
    : names_(std::move(names)),
      taken_at_(taken_at),
      version_(version),
      unseen_weight_(unseen_weight) {
  if (!names_) throw InvalidInput("snapshot: no arm names");
  if (names_->size() != values.size())
    throw InvalidInput("snapshot: " + std::to_string(values.size()) + " values for " +
                       std::to_string(names_->size()) + " arms");
  init(policy, values);
}

void DecisionSnapshot::init(std::string_view policy, std::span<const ArmValues> values) {
  if (std::isnan(unseen_weight_)) unseen_weight_ = kExploreUnseen;
  const std::size_t n = values.size();
  const auto known = std::find(std::begin(kKnownPolicies), std::end(kKnownPolicies), policy);
  known_policy_ = known == std::end(kKnownPolicies)
                      ? 0
                      : static_cast<std::uint8_t>(1 + (known - std::begin(kKnownPolicies)));
  const std::size_t stored = known_policy_ ? 0 : policy.size();
  block_ = std::make_unique<ArmValues[]>(n + name_slots(stored));
  for (std::size_t i = 0; i < n; ++i) {
    ArmValues v = values[i];
    if (!(v.weight >= 0) || !std::isfinite(v.weight)) v.weight = 0;
    if (std::isnan(v.rank)) v.rank = kMinusInfinity;
    block_[i] = v;
  }
  policy_size_ = static_cast<std::uint32_t>(stored);
  std::copy_n(policy.data(), stored, reinterpret_cast<char*>(block_.get() + n));
}

std::string_view DecisionSnapshot::policy() const {
  if (known_policy_) return kKnownPolicies[known_policy_ - 1];
  return {reinterpret_cast<const char*>(block_.get() + names_->size()), policy_size_};
}

SnapshotArm DecisionSnapshot::Arms::at(std::size_t i) const {
  if (i >= size()) throw std::out_of_range("snapshot arm " + std::to_string(i));
  return snapshot_.arm(i);
}

PickResult DecisionSnapshot::pick(Candidates candidates, Rng& rng) const {
  const std::size_t n = candidates.size();
  const ArmNames& names = *names_;
  if (n > kStackCandidates) return pick_large(candidates, rng);
  if (n == 0) throw_empty();

  // Match candidates to arms, summing rule-2 weights as we go. Two candidates
  // matching the same arm are equal (arm names are distinct): a bit per arm
  // (modulo 64) shows whether any arm may have matched twice (without a
  // branch), and only then are the matches compared; unseen candidates need
  // a pairwise check.
  double cumulative[kStackCandidates];
  std::int32_t arm_of[kStackCandidates];
  std::uint8_t unseen_at[kStackCandidates];
  std::uint64_t claimed = 0;
  std::uint64_t twice = 0;  // bits claimed more than once
  std::size_t unseen = 0;
  std::size_t hint = 0;
  const double unseen_weight = std::max(unseen_weight_, 0.0);
  const ArmValues* values = block_.get();
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t arm = names.find_from(NameKey::of(candidates[i]), candidates[i], hint);
    arm_of[i] = arm;
    double weight;
    if (arm == ArmNames::kNotFound) {
      weight = unseen_weight;
      unseen_at[unseen++] = static_cast<std::uint8_t>(i);
    } else {
      const auto at = static_cast<std::size_t>(arm);
      const std::uint64_t bit = std::uint64_t{1} << (at % kMaskArms);
      twice |= claimed & bit;
      claimed |= bit;
      hint = at + 1;
      weight = values[at].weight;
    }
    total += weight;
    cumulative[i] = total;
  }
  if (twice != 0)
    for (std::size_t i = 1; i < n; ++i)
      for (std::size_t j = 0; j < i; ++j)
        if (arm_of[i] != ArmNames::kNotFound && arm_of[i] == arm_of[j])
          throw_duplicate(candidates[i]);
  if (unseen > 1) check_distinct(candidates, std::span<const std::uint8_t>(unseen_at, unseen));

  // Rule 1: explore never-seen candidates first.
  if (unseen > 0 && unseen_weight_ < 0) {
    const auto chosen = static_cast<std::size_t>(rng.below(unseen));
    return {unseen_at[chosen], 1.0 / static_cast<double>(unseen)};
  }

  return pick_by_weight_or_rank(arm_of, cumulative, n, rng);
}

// Inlined into both pick paths: a call here cost the 3-candidate pick ~30%.
[[gnu::always_inline]] inline PickResult DecisionSnapshot::pick_by_weight_or_rank(
    const std::int32_t* arm_of, const double* cumulative, std::size_t n, Rng& rng) const {
  const ArmValues* values = block_.get();
  const double total = cumulative[n - 1];
  // Rule 2: sample by weight among the candidates.
  if (total > 0 && std::isfinite(total)) {
    auto weight_of = [&](std::size_t i) {
      return arm_of[i] == ArmNames::kNotFound ? std::max(unseen_weight_, 0.0)
                                              : values[static_cast<std::size_t>(arm_of[i])].weight;
    };
    std::size_t chosen = draw(cumulative, n, rng.uniform() * total);
    // Rounding left the target past the last boundary: it belongs to the
    // last candidate with a positive weight.
    if (chosen == n)
      for (chosen = n - 1; !(weight_of(chosen) > 0);) --chosen;
    return {chosen, weight_of(chosen) / total};
  }

  // Rule 3: highest rank, earliest candidate on ties.
  std::size_t best = 0;
  double best_rank = kMinusInfinity;
  for (std::size_t i = 0; i < n; ++i) {
    const double rank = arm_of[i] == ArmNames::kNotFound
                            ? kMinusInfinity
                            : values[static_cast<std::size_t>(arm_of[i])].rank;
    if (rank > best_rank) {
      best_rank = rank;
      best = i;
    }
  }
  return {best, 1.0};
}

// The same rules for more than kStackCandidates candidates, with heap scratch
// space.
PickResult DecisionSnapshot::pick_large(Candidates candidates, Rng& rng) const {
  const std::size_t n = candidates.size();
  if (n == 0) throw_empty();
  const ArmNames& names = *names_;
  const double unseen_weight = std::max(unseen_weight_, 0.0);
  std::vector<double> cumulative(n);
  std::vector<std::int32_t> arm_of(n);
  std::vector<std::size_t> unseen;
  std::vector<std::int32_t> matched;
  std::size_t hint = 0;
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t arm = names.find(NameKey::of(candidates[i]), candidates[i], hint);
    arm_of[i] = arm;
    if (arm == ArmNames::kNotFound) {
      total += unseen_weight;
      unseen.push_back(i);
    } else {
      hint = static_cast<std::size_t>(arm) + 1;
      total += block_[static_cast<std::size_t>(arm)].weight;
      matched.push_back(arm);
    }
    cumulative[i] = total;
  }
  std::sort(matched.begin(), matched.end());
  for (std::size_t i = 1; i < matched.size(); ++i)
    if (matched[i] == matched[i - 1]) throw_duplicate(names[static_cast<std::size_t>(matched[i])]);
  if (unseen.size() > 1) check_distinct(candidates, std::span<const std::size_t>(unseen));

  if (!unseen.empty() && unseen_weight_ < 0) {
    const auto chosen = static_cast<std::size_t>(rng.below(unseen.size()));
    return {unseen[chosen], 1.0 / static_cast<double>(unseen.size())};
  }
  return pick_by_weight_or_rank(arm_of.data(), cumulative.data(), n, rng);
}

PickResult DecisionSnapshot::uniform_pick(Candidates candidates, Rng& rng) {
  const std::size_t n = candidates.size();
  if (n == 0) throw_empty();
  if (n <= kStackCandidates) {
    std::uint8_t all[kStackCandidates];
    for (std::size_t i = 0; i < n; ++i) all[i] = static_cast<std::uint8_t>(i);
    check_distinct(candidates, std::span<const std::uint8_t>(all, n));
  } else {
    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = i;
    check_distinct(candidates, std::span<const std::size_t>(all));
  }
  return {static_cast<std::size_t>(rng.below(n)), 1.0 / static_cast<double>(n)};
}

}  // namespace pytheas
