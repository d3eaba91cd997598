#pragma once
// GroupActor: one per active group; the only owner of that group's Policy.
// It applies batches of reports, then publishes a fresh DecisionSnapshot into
// the group's GroupSlot (when its mailbox is drained, or every
// kPublishEvery reports under sustained load), so io threads always pick from
// recent state without a round-trip. It hands its full state out on request:
// to the store at checkpoints (when changed), and to the supervisor when
// passivated (then it quits) or when the node shuts down.
// On a cluster member it also keeps the group's report marks: a stamped report
// its state already includes is skipped (counted as a duplicate), so reports
// sent again after a move of state or ownership are applied exactly once.
// settle_atom makes it choose between its state and candidates from other
// members (the newest line of the group's history wins; see
// core/report_marks.hpp); as the group's home, each copy it hands out for its
// standby (replicate_atom) records the marks the home will confirm (its floor).
// Memory: a group actor holds no behavior of its own (all share one; messages
// are dispatched by its default handler, see group_actor.cpp) and no copy of
// its key (it reads the slot's).

#include <caf/actor.hpp>
#include <caf/event_based_actor.hpp>
#include <functional>
#include <memory>
#include <string>

#include "actors/common/messages.hpp"
#include "actors/group/group_table.hpp"
#include "actors/group/node_shared.hpp"
#include "core/policy.hpp"

namespace pytheas {

/// A cluster group's report marks (core/report_marks.hpp), allocated once the
/// group has any: an all-in-one node's groups never do, and pay 8 bytes.
struct GroupMarks {
  ReportMarks marks;      ///< the state includes these stamped reports
  ReportMarks floor;      ///< ... and was last confirmed durable at these
  std::string confirmer;  ///< who set the floor (see GroupRecord::confirmer)
};

using CheckpointFn = std::function<void(const std::vector<GroupRecord>&)>;

/// What all group actors of a node share (one immutable copy, made by the
/// supervisor): where checkpoints go, and whom a failing group tells.
struct GroupContext {
  std::shared_ptr<NodeShared> shared;
  std::uint64_t seed = 0;  ///< the node's; a group's fresh policies use seed ^ hash(key)
  caf::actor store;        ///< receives checkpoints (may be invalid: no persistence)
  /// Without a store (no state dir), checkpoints of a cluster group hand the
  /// record here instead, so its home can still confirm reports; may be empty.
  CheckpointFn on_checkpoint;
  /// Receives (group_failed_atom, key, actor id, reason) from a group actor
  /// that throws. Weak, so the groups keep no supervisor alive.
  caf::actor_addr supervisor;
};

struct GroupActorArgs {
  GroupSlotPtr slot;                  ///< holds the group's key
  std::unique_ptr<Policy> policy;     ///< fresh or restored; the actor becomes its only owner
  std::uint64_t wal_seq = 0;          ///< restored state includes log sequences up to this
  std::unique_ptr<GroupMarks> marks;  ///< null: none yet (restored state included none)
  std::shared_ptr<const GroupContext> context;  ///< never null
};

/// Publish at least every this many reports even while the mailbox is busy,
/// which bounds report -> snapshot latency under sustained load.
inline constexpr std::size_t kPublishEvery = 256;

/// Spawns a group actor for `parent` (the supervisor). It is not monitored:
/// a group actor ends only when the supervisor passivates it or the node
/// stops, or by an exception in a handler, which it reports itself with
/// (group_failed_atom, ...) to `args.context->supervisor` before it ends. A
/// monitor would cost each group ~40 bytes, and the supervisor an index from
/// actor ids to groups (~40 more) to read the down message.
caf::actor spawn_group_actor(caf::event_based_actor* parent, GroupActorArgs args);

}  // namespace pytheas
