#pragma once
// GroupTable: the live node's directory of active groups, shared between the
// actors that own groups and the HTTP threads that pick decisions. Each group
// has a GroupSlot holding its latest DecisionSnapshot (swapped atomically by
// the group's actor after every batch of reports) and its counters.
//
// Thread-safety: every method is safe from any thread. Lookups take a shard's
// shared lock only for the duration of the visit; inserts and erases (only the
// supervisor does them) take it exclusively. Slots are reference-counted, so a
// group actor keeps publishing into its slot safely after it was erased.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/snapshot_cell.hpp"
#include "core/decision_snapshot.hpp"

namespace pytheas {

struct GroupSlot {
  explicit GroupSlot(std::string group_key) : key(std::move(group_key)) {}

  const std::string key;
  SnapshotCell<DecisionSnapshot> snapshot;     ///< null until the first publish
  std::atomic<std::uint64_t> decisions{0};     ///< picks served
  std::atomic<std::uint64_t> reports{0};       ///< reports applied to the policy
  std::atomic<std::uint64_t> pending{0};       ///< routed to the actor, not yet applied
  std::atomic<std::int64_t> last_activity{0};  ///< unix seconds of the last decide/report

  /// Records activity at `now` (unix seconds); a no-op store is skipped so hot
  /// groups don't bounce the cache line between io threads.
  void touch(std::int64_t now) {
    if (last_activity.load(std::memory_order_relaxed) != now)
      last_activity.store(now, std::memory_order_relaxed);
  }
};

using GroupSlotPtr = std::shared_ptr<GroupSlot>;

class GroupTable {
 public:
  GroupTable() = default;
  GroupTable(const GroupTable&) = delete;
  GroupTable& operator=(const GroupTable&) = delete;

  /// Calls `visit(slot)` under the shard's shared lock if `key` is present.
  /// Returns whether it was. `visit` must be short and must not call back into
  /// the table.
  template <class Visitor>
  bool visit(std::string_view key, Visitor&& visit) const {
    const auto& shard = shard_for(key);
    std::shared_lock lock(shard.mutex);
    auto it = shard.slots.find(key);
    if (it == shard.slots.end()) return false;
    visit(*it->second);
    return true;
  }

  GroupSlotPtr find(std::string_view key) const;

  /// The slot for `key`, created if absent.
  GroupSlotPtr insert(const std::string& key);

  /// Removes `key`; returns the removed slot (null if absent).
  GroupSlotPtr erase(std::string_view key);

  std::size_t size() const { return size_.load(std::memory_order_relaxed); }

  /// A consistent-per-shard copy of all slots.
  std::vector<GroupSlotPtr> all() const;

 private:
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const {
      return std::hash<std::string_view>{}(key);
    }
  };
  struct Shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<std::string, GroupSlotPtr, KeyHash, std::equal_to<>> slots;
  };
  static constexpr std::size_t kShards = 64;

  const Shard& shard_for(std::string_view key) const { return shards_[KeyHash{}(key) % kShards]; }
  Shard& shard_for(std::string_view key) { return shards_[KeyHash{}(key) % kShards]; }

  Shard shards_[kShards];
  std::atomic<std::size_t> size_{0};
};

}  // namespace pytheas
