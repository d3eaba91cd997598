#pragma once
// GroupActor: one per active group; the only owner of that group's Policy.
// It applies batches of reports, then publishes a fresh DecisionSnapshot into
// the group's GroupSlot (when its mailbox is drained, or every
// kPublishEvery reports under sustained load), so io threads always pick from
// recent state without a round-trip. It hands its full state out on request:
// to the store at checkpoints (when changed), and to the supervisor when
// passivated (then it quits) or when the node shuts down.
// Memory: a group actor holds no behavior of its own (all share one; messages
// are dispatched by its default handler, see group_actor.cpp) and no copy of
// its key (it reads the slot's).

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <memory>
#include <string>

#include "actors/group_table.hpp"
#include "actors/messages.hpp"
#include "actors/node_shared.hpp"
#include "core/policy.hpp"

namespace pytheas {

struct GroupActorArgs {
  GroupSlotPtr slot;  ///< holds the group's key
  std::shared_ptr<NodeShared> shared;
  std::unique_ptr<Policy> policy;  ///< fresh or restored; the actor becomes its only owner
  std::uint64_t seed = 0;          ///< for a fresh policy after a reconfiguration
  caf::actor store;                ///< receives checkpoints (may be invalid: no persistence)
  std::uint64_t wal_seq = 0;       ///< restored state includes log sequences up to this
};

/// Publish at least every this many reports even while the mailbox is busy,
/// which bounds report -> snapshot latency under sustained load.
inline constexpr std::size_t kPublishEvery = 256;

/// Spawns a group actor monitored by `parent` (the supervisor).
caf::actor spawn_group_actor(caf::event_based_actor* parent, GroupActorArgs args);

}  // namespace pytheas
