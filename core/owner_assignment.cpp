#include "core/owner_assignment.hpp"

#include <cmath>

namespace pytheas {

OwnerAssignment::OwnerAssignment(double switch_margin) : switch_margin_(switch_margin) {}

void OwnerAssignment::add(const std::string& group, const std::string& cluster, double weight) {
  if (cluster.empty() || !(weight > 0)) return;
  counts_[group][cluster] += weight;
}

bool OwnerAssignment::regroup() {
  bool changed = false;
  for (auto it = counts_.begin(); it != counts_.end();) {
    auto& [group, by_cluster] = *it;
    // The cluster with most samples; std::map order breaks ties by name, so
    // every backend run picks the same one.
    const std::string* best = nullptr;
    double best_count = 0;
    for (const auto& [cluster, count] : by_cluster)
      if (count > best_count) best = &cluster, best_count = count;
    const std::string* pinned = pin_ ? pin_(group) : nullptr;
    if (pinned) {
      auto [owner, added] = owners_.try_emplace(group, *pinned);
      if (added || owner->second != *pinned) {
        owner->second = *pinned;
        changed = true;
      }
    } else if (best) {
      auto owner = owners_.find(group);
      if (owner == owners_.end()) {
        owners_.emplace(group, *best);
        changed = true;
      } else if (owner->second != *best) {
        auto held = by_cluster.find(owner->second);
        double owner_count = held == by_cluster.end() ? 0 : held->second;
        // A clear lead, and one that counting noise does not explain: sampled
        // counts are about Poisson, so a lead within a few standard deviations
        // of the total is chance (it would move the group, and its learned
        // state, back and forth between clusters that see it alike).
        const double lead = best_count - owner_count;
        if (best_count > owner_count * switch_margin_ &&
            lead >= kNoiseDeviations * std::sqrt(best_count + owner_count)) {
          owner->second = *best;
          changed = true;
        }
      }
    }
    // Halve the counts; forget what has decayed to nothing.
    for (auto c = by_cluster.begin(); c != by_cluster.end();) {
      c->second *= 0.5;
      c = c->second < 1e-3 ? by_cluster.erase(c) : std::next(c);
    }
    it = by_cluster.empty() ? counts_.erase(it) : std::next(it);
  }
  return changed;
}

void OwnerAssignment::set_owners(std::map<std::string, std::string> owners) {
  owners_ = std::move(owners);
}

}  // namespace pytheas
