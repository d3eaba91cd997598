#pragma once
// Supervisor: the node's group lifecycle and report router, one actor.
//  * Routing: ingress sends (report_atom, key, decision, score, accepted_at);
//    the supervisor batches reports per group and hands each batch to the
//    group's actor when its own mailbox drains (so batches grow with load).
//    The bounded queue is NodeShared::queue (actors/group/report_queue.hpp).
//  * Lifecycle: spawns a group actor on first use (restoring persisted state
//    if any), passivates groups idle longer than passivate_after_s and the
//    least recently used beyond max_active_groups (state to the store), and
//    restarts a crashed group from its last persisted state (the group reports its failure, see
//    spawn_group_actor). Reports that arrive while a group is being passivated are held and the
//    group is reactivated with them: none is dropped.
//  * Persistence: periodic checkpoints of changed groups; on shutdown every
//    group's state is collected and written before the reply.
//  * Reload: a new label config retires groups its grouping can no longer
//    produce, reconfigures the rest, and spawns rule-tree groups eagerly.
// Routing lives here rather than in a separate actor because the supervisor
// owns the key -> actor map: one owner means no race between a report and a
// passivation of its group.
//
// Requests it answers (besides the fire-and-forget messages above):
//   (restore_atom) -> size_t          activate persisted groups (start-up)
//   (shutdown_atom) -> ok_atom        persist everything, then stop
//   (count_atom) -> size_t            active groups
//   (passivate_atom, key)             passivate now (admin and tests)
//   (crash_atom, key)                 make the group throw (tests)
//   (crash_atom, key, true)           end the group's actor without a word (tests)
//   (stall_atom, key, seconds)        block the group's handler that long (tests)
// Reports in the write-ahead log carry their sequence as a sixth element:
// (report_atom, key, decision, score, accepted_at, wal_seq); a cluster
// member's federation sends (report_atom, key, ReportItem) with a stamp.
// For the federation (cluster members):
//   (settle_atom, key, candidates, home, unreachable) -> SettleResult   activate the
//       group and keep the newest of its state and the candidates; it confirms as
//       the home unless its last confirmer is among `unreachable` (group_actor.hpp)
//   (surrender_atom, keys) -> (vector<GroupRecord>, vector<string> failed)  their state,
//       for their new owner (active ones are passivated; persisted ones are read);
//       `failed`: keys still held here (their passivation failed), not given up
//   (copy_atom, key) -> vector<GroupRecord>        0 or 1 record, the group stays
//   (replicate_atom, key, me) -> GroupRecord       an active group's state for its standby
//   (export_atom, key) -> GroupRecord              a copy for subscribers' mirrors

#include <caf/fwd.hpp>
#include <functional>
#include <memory>
#include <string>

#include "actors/common/messages.hpp"
#include "actors/group/node_shared.hpp"

namespace pytheas {

using restore_atom = caf::atom_constant<caf::atom("restore")>;

struct SupervisorArgs {
  std::shared_ptr<NodeShared> shared;
  LabelConfigPtr config;
  std::string state_dir;        ///< empty: passivated state stays in memory
  std::uint64_t seed = 1;       ///< policies get seed ^ hash(key)
  double sweep_interval_s = 1;  ///< how often idle groups (and stalls) are looked for
  /// A group that holds accepted reports and applies none of them for this
  /// long is stalled (logged, counted, /readyz 503: see watch_stalls).
  double stall_after_s = 10;
  /// Called (on the store's thread) after records are durably written; the
  /// write-ahead log uses it to drop segments the state now covers, and a
  /// cluster member's federation to confirm reports. Set without a state dir
  /// (cluster members), it is called with each checkpoint and passivation's
  /// records instead, from the group actors and the supervisor.
  std::function<void(const std::vector<GroupRecord>&)> on_saved;
};

caf::actor spawn_supervisor(caf::actor_system& system, SupervisorArgs args);

}  // namespace pytheas
