#include "actors/group/group_table.hpp"

namespace pytheas {

std::pair<const GroupSlotPtr&, bool> GroupTable::Index::insert(GroupSlotPtr slot,
                                                               std::uint64_t hash) {
  const std::string& key = slot->key;  // the slot object outlives the move below
  auto [at, inserted] = buckets_.insert(
      Bucket{hash, std::move(slot)}, [&](const Bucket& bucket) { return bucket.slot->key == key; });
  return {buckets_.at(at).slot, inserted};
}

GroupSlotPtr GroupTable::Index::erase(std::string_view key, std::uint64_t hash) {
  const std::size_t at =
      buckets_.find(hash, [&](const Bucket& bucket) { return bucket.slot->key == key; });
  if (at == Buckets::npos) return nullptr;
  return buckets_.remove_at(at).slot;
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
