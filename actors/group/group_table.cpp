#include "actors/group/group_table.hpp"

namespace pytheas {

std::pair<const GroupSlotPtr&, bool> GroupTable::Index::insert(GroupSlotPtr slot,
                                                               std::uint64_t hash) {
  if (4 * (used_ + 1) > 3 * buckets_.size()) grow();
  std::size_t i = home(hash);
  for (;; i = (i + 1) & mask()) {
    Bucket& bucket = buckets_[i];
    if (bucket.hash == 0) break;
    if (bucket.hash == hash && bucket.slot->key == slot->key) return {bucket.slot, false};
  }
  buckets_[i] = Bucket{hash, std::move(slot)};
  ++used_;
  return {buckets_[i].slot, true};
}

GroupSlotPtr GroupTable::Index::erase(std::string_view key, std::uint64_t hash) {
  if (buckets_.empty()) return nullptr;
  std::size_t hole = home(hash);
  for (;; hole = (hole + 1) & mask()) {
    const Bucket& bucket = buckets_[hole];
    if (bucket.hash == 0) return nullptr;
    if (bucket.hash == hash && bucket.slot->key == key) break;
  }
  GroupSlotPtr removed = std::move(buckets_[hole].slot);
  // Backward shift: move later buckets of the run into the hole when their
  // home position does not lie cyclically in (hole, at].
  for (std::size_t at = (hole + 1) & mask(); buckets_[at].hash != 0; at = (at + 1) & mask()) {
    const std::size_t want = home(buckets_[at].hash);
    const bool stays = hole <= at ? (hole < want && want <= at) : (hole < want || want <= at);
    if (stays) continue;
    buckets_[hole] = std::move(buckets_[at]);
    hole = at;
  }
  buckets_[hole] = Bucket{};
  --used_;
  return removed;
}

void GroupTable::Index::grow() {
  std::vector<Bucket> old;
  old.swap(buckets_);
  buckets_.resize(old.empty() ? 8 : old.size() * 2);
  used_ = 0;
  for (auto& bucket : old)
    if (bucket.hash != 0) insert(std::move(bucket.slot), bucket.hash);
}

GroupSlotPtr GroupTable::find(std::string_view key) const {
  const std::uint64_t hash = hash_of(key);
  const auto& shard = shard_for(hash);
  std::shared_lock lock(shard.mutex);
  const GroupSlotPtr* slot = shard.slots.find(key, hash);
  return slot ? *slot : nullptr;
}

GroupSlotPtr GroupTable::insert(const std::string& key) {
  if (auto slot = find(key)) return slot;
  // Allocated before taking the lock, so readers of the shard never wait
  // for the allocator.
  return insert(std::make_shared<GroupSlot>(key));
}

GroupSlotPtr GroupTable::insert(GroupSlotPtr slot) {
  const std::uint64_t hash = hash_of(slot->key);
  auto& shard = shard_for(hash);
  std::unique_lock lock(shard.mutex);
  auto [present, inserted] = shard.slots.insert(std::move(slot), hash);
  if (inserted) size_.fetch_add(1, std::memory_order_relaxed);
  return present;
}

GroupSlotPtr GroupTable::erase(std::string_view key) {
  const std::uint64_t hash = hash_of(key);
  auto& shard = shard_for(hash);
  std::unique_lock lock(shard.mutex);
  auto slot = shard.slots.erase(key, hash);
  if (slot) size_.fetch_sub(1, std::memory_order_relaxed);
  return slot;
}

std::vector<GroupSlotPtr> GroupTable::all() const {
  std::vector<GroupSlotPtr> out;
  out.reserve(size());
  for (const auto& shard : shards_) {
    std::shared_lock lock(shard.mutex);
    shard.slots.for_each([&](const GroupSlotPtr& slot) { out.push_back(slot); });
  }
  return out;
}

}  // namespace pytheas
