#include "core/ownership_rule.hpp"

#include "core/decision_snapshot.hpp"  // hash_decision

namespace pytheas {

namespace {

/// murmur3's 64-bit finalizer: every input bit affects every output bit.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

}  // namespace

std::uint64_t rendezvous_score(std::uint64_t group_hash, std::uint64_t member_hash) {
  // Mixing the member's hash first keeps members whose names differ only in
  // a trailing byte ("fe-1", "fe-2") from scoring alike.
  return mix(group_hash ^ mix(member_hash));
}

std::string rendezvous_owner(std::string_view group, const std::vector<std::string>& members) {
  const auto group_hash = hash_decision(group);
  std::string best;
  std::uint64_t best_score = 0;
  for (const auto& member : members) {
    const auto score = rendezvous_score(group_hash, hash_decision(member));
    if (best.empty() || score > best_score || (score == best_score && member < best)) {
      best = member;
      best_score = score;
    }
  }
  return best;
}

OwnershipView::OwnershipView(std::vector<ClusterMember> members, PinFn pin,
                             std::shared_ptr<const std::map<std::string, std::string>> table,
                             const std::function<bool(const std::string&)>& alive,
                             std::uint64_t version)
    : pin_(std::move(pin)), table_(std::move(table)), version_(version) {
  members_.reserve(members.size());
  for (auto& member : members) {
    const auto index = members_.size();
    const bool living = alive(member.name);
    members_.push_back(Member{member.name, hash_decision(member.name), living});
    by_cluster_[member.cluster].push_back(index);
    all_.push_back(index);
  }
}

bool OwnershipView::alive(const std::string& member) const {
  for (const auto& m : members_)
    if (m.name == member) return m.alive;
  return false;
}

std::string_view OwnershipView::cluster_of(std::string_view group, std::string_view seeing_cluster,
                                           bool* confirmable) const {
  if (table_) {
    auto it = table_->find(std::string(group));
    if (it != table_->end()) {
      if (confirmable) *confirmable = true;
      return it->second;
    }
  }
  if (pin_) {
    if (const auto* pinned = pin_(group)) {
      if (confirmable) *confirmable = true;
      return *pinned;
    }
  }
  if (confirmable) *confirmable = false;
  return seeing_cluster;
}

const std::string* OwnershipView::pick(std::uint64_t group_hash,
                                       const std::vector<std::size_t>& candidates, bool living_only,
                                       const std::string* excluded) const {
  const Member* best = nullptr;
  std::uint64_t best_score = 0;
  for (auto index : candidates) {
    const auto& member = members_[index];
    if (living_only && !member.alive) continue;
    if (excluded && member.name == *excluded) continue;
    const auto score = rendezvous_score(group_hash, member.hash);
    if (!best || score > best_score || (score == best_score && member.name < best->name)) {
      best = &member;
      best_score = score;
    }
  }
  return best ? &best->name : nullptr;
}

GroupOwnership OwnershipView::of(std::string_view group, std::string_view seeing_cluster) const {
  GroupOwnership out;
  const auto cluster = cluster_of(group, seeing_cluster, &out.confirmable);
  const auto group_hash = hash_decision(group);
  auto members = by_cluster_.find(cluster);
  if (members != by_cluster_.end()) {
    out.home = pick(group_hash, members->second, false);
    out.owner = pick(group_hash, members->second, true);
    if (out.home) out.standby = pick(group_hash, members->second, true, out.home);
  }
  if (!out.owner) out.owner = pick(group_hash, all_, true);
  if (!out.standby) out.standby = pick(group_hash, all_, true, out.home ? out.home : out.owner);
  return out;
}

}  // namespace pytheas
