#include "actors/group_table.hpp"

namespace pytheas {

GroupSlotPtr GroupTable::find(std::string_view key) const {
  const auto& shard = shard_for(key);
  std::shared_lock lock(shard.mutex);
  auto it = shard.slots.find(key);
  return it == shard.slots.end() ? nullptr : it->second;
}

GroupSlotPtr GroupTable::insert(const std::string& key) {
  auto& shard = shard_for(key);
  std::unique_lock lock(shard.mutex);
  auto [it, inserted] = shard.slots.try_emplace(key);
  if (inserted) {
    it->second = std::make_shared<GroupSlot>(key);
    size_.fetch_add(1, std::memory_order_relaxed);
  }
  return it->second;
}

GroupSlotPtr GroupTable::erase(std::string_view key) {
  auto& shard = shard_for(key);
  std::unique_lock lock(shard.mutex);
  auto it = shard.slots.find(key);
  if (it == shard.slots.end()) return nullptr;
  auto slot = std::move(it->second);
  shard.slots.erase(it);
  size_.fetch_sub(1, std::memory_order_relaxed);
  return slot;
}

std::vector<GroupSlotPtr> GroupTable::all() const {
  std::vector<GroupSlotPtr> out;
  out.reserve(size());
  for (const auto& shard : shards_) {
    std::shared_lock lock(shard.mutex);
    for (const auto& [key, slot] : shard.slots) out.push_back(slot);
  }
  return out;
}

}  // namespace pytheas
