#include "core/arm_names_pool.hpp"

#include <cstdint>
#include <cstring>
#include <iterator>

namespace pytheas {

namespace {

// The index key: each name's length (4 bytes) then its bytes, so that no two
// lists share a key whatever bytes their names hold.
std::string key_of(std::span<const std::string_view> names) {
  std::string key;
  for (auto name : names) {
    const auto size = static_cast<std::uint32_t>(name.size());
    char bytes[sizeof size];
    std::memcpy(bytes, &size, sizeof size);
    key.append(bytes, sizeof size);
    key.append(name);
  }
  return key;
}

}  // namespace

ArmNames::Ptr ArmNamesPool::intern(std::span<const std::string_view> names) {
  auto key = key_of(names);
  std::lock_guard lock(mutex_);
  auto [it, inserted] = lists_.try_emplace(std::move(key));
  if (!inserted)
    if (auto list = it->second.lock()) return list;
  ArmNames::Ptr list;
  try {
    list = ArmNames::make(names, "arms", shared_from_this());
  } catch (...) {
    lists_.erase(it);
    throw;
  }
  it->second = list;
  if (lists_.size() > sweep_at_) {
    std::erase_if(lists_, [](const auto& entry) { return entry.second.expired(); });
    sweep_at_ = 2 * std::max<std::size_t>(lists_.size(), 32);
  }
  return list;
}

std::size_t ArmNamesPool::size() const {
  std::lock_guard lock(mutex_);
  return lists_.size();
}

}  // namespace pytheas
