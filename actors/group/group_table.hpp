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
//
// Memory: a slot holds the group's key, the one copy the node keeps (the
// table, the supervisor and the group actor all read it there). Each shard is
// an open-addressing array of (hash, slot) pairs at most 3/4 full: ~24-48
// bytes per group instead of a hash-map node and a key copy.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/common/snapshot_cell.hpp"
#include "actors/group/open_addressing.hpp"
#include "core/decision_snapshot.hpp"

namespace pytheas {

struct GroupSlot {
  explicit GroupSlot(std::string group_key) : key(std::move(group_key)) {}

  const std::string key;
  SnapshotCell<DecisionSnapshot> snapshot;  ///< null until the first publish
  std::atomic<std::uint64_t> decisions{0};  ///< picks served
  std::atomic<std::uint64_t> reports{0};    ///< reports applied to the policy
  std::atomic<std::uint64_t> pending{0};    ///< routed to the actor, not yet applied
  /// Monotonic seconds (clock.hpp) of the last decide/report: passivation
  /// must not follow a wall clock's step; shown to people as wall time.
  std::atomic<std::int64_t> last_activity{0};

  /// Records activity at `now` (monotonic seconds); a no-op store is skipped so hot
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
    const std::uint64_t hash = hash_of(key);
    const auto& shard = shard_for(hash);
    std::shared_lock lock(shard.mutex);
    const GroupSlotPtr* slot = shard.slots.find(key, hash);
    if (!slot) return false;
    visit(**slot);
    return true;
  }

  GroupSlotPtr find(std::string_view key) const;

  /// The slot for `key`, created if absent.
  GroupSlotPtr insert(const std::string& key);

  /// Puts `slot` back under its key (a group coming back keeps its slot);
  /// if the key is present already, returns the slot there instead.
  GroupSlotPtr insert(GroupSlotPtr slot);

  /// Removes `key`; returns the removed slot (null if absent).
  GroupSlotPtr erase(std::string_view key);

  std::size_t size() const { return size_.load(std::memory_order_relaxed); }

  /// A consistent-per-shard copy of all slots.
  std::vector<GroupSlotPtr> all() const;

 private:
  // One shard's slots: (hash, slot) buckets in an OpenAddressing index
  // (linear probing, hash 0 meaning empty, backward-shift erase).
  class Index {
   public:
    /// The slot under `key` (null if absent); inline: every decide looks.
    const GroupSlotPtr* find(std::string_view key, std::uint64_t hash) const {
      const std::size_t at =
          buckets_.find(hash, [&](const Bucket& bucket) { return bucket.slot->key == key; });
      return at == Buckets::npos ? nullptr : &buckets_.at(at).slot;
    }
    /// Inserts unless present; returns the slot under the key and whether
    /// it was inserted.
    std::pair<const GroupSlotPtr&, bool> insert(GroupSlotPtr slot, std::uint64_t hash);
    GroupSlotPtr erase(std::string_view key, std::uint64_t hash);
    template <class F>
    void for_each(F&& f) const {
      buckets_.for_each([&](const Bucket& bucket) { f(bucket.slot); });
    }

   private:
    struct Bucket {
      std::uint64_t hash = 0;
      GroupSlotPtr slot;
    };
    struct Traits {
      // Shards take the hash's low bits; positions use the rest.
      static std::size_t home(std::uint64_t hash) { return static_cast<std::size_t>(hash >> 6); }
      static constexpr std::size_t kInitial = 8;
    };
    using Buckets = OpenAddressing<Bucket, Traits>;
    Buckets buckets_;
  };
  struct Shard {
    mutable std::shared_mutex mutex;
    Index slots;
  };
  static constexpr std::size_t kShards = 64;

  /// Never 0 (0 marks an empty bucket).
  static std::uint64_t hash_of(std::string_view key) {
    const std::uint64_t hash = std::hash<std::string_view>{}(key);
    return hash == 0 ? 1 : hash;
  }
  const Shard& shard_for(std::uint64_t hash) const { return shards_[hash % kShards]; }
  Shard& shard_for(std::uint64_t hash) { return shards_[hash % kShards]; }

  Shard shards_[kShards];
  std::atomic<std::size_t> size_{0};
};

}  // namespace pytheas
