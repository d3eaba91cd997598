#pragma once
// Federation: the actor that makes one node a member of a cluster. One per
// clustered node, published on the node's CAF port, linked to every other
// member over CAF remote actors (authenticated; TLS optional).
//
// What it guarantees (docs/CLUSTER.md has the full story):
//  * One owner per group, computed alike by every node (core/ownership_rule.hpp):
//    the table's cluster, else a pin's, else the cluster that sees the
//    session; within it, rendezvous over the living members.
//  * Every report this node accepts goes through it: stamped, applied here if
//    the group is ours, else forwarded to its owner, and kept until the
//    group's home confirms it durable, so that wherever the group's state goes
//    (table change, member death or return, freeze, regroup) the report is
//    sent again and applied exactly once (the state's report marks skip what
//    it already has: core/report_marks.hpp).
//  * A node that comes to own a group settles its state first: it asks every
//    member for its copy and keeps the newest line of the group's history
//    (actors/federation/federation_settle.cpp); decisions for groups owned elsewhere come
//    from snapshots their owner pushes (mirrors), never a network round trip.
//  * Backend duties (role backend or all): count and learn from sampled
//    sessions, recompute and persist the group table, push it to frontends.
//
// Messages it takes: from peers, actors/common/federation_messages.hpp; from this
// node's io threads and actors, actors/federation/federation_local.hpp.

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <functional>
#include <memory>
#include <string>

#include "actors/federation/federation_shared.hpp"
#include "actors/group/node_shared.hpp"
#include "actors/learning/grouping_shared.hpp"
#include "config/cluster_config.hpp"

namespace pytheas {

struct FederationArgs {
  std::shared_ptr<const ClusterConfig> cluster;
  std::string self_name;  ///< this node's name in the cluster file
  std::shared_ptr<NodeShared> shared;
  std::shared_ptr<FederationShared> federation;
  caf::actor supervisor;
  std::string state_dir;  ///< backend: where the group table is kept (may be empty)
  FeatureSchema schema = FeatureSchema::original();  ///< the label config's (learned rules)
  std::uint64_t epoch = 1;  ///< this run's report stamp epoch (> any earlier run's)
  /// The node's grouping in force: the learned rules the table carries go here.
  std::shared_ptr<GroupingShared> grouping = std::make_shared<GroupingShared>();
  /// The label config (a backend learns with its `grouping:` settings).
  std::shared_ptr<const LabelConfig> labels;
  /// With a write-ahead log: its records of `group` up to `wal_seq` are no
  /// longer needed (their reports were confirmed). Null without a log.
  std::function<void(const std::string& group, std::uint64_t wal_seq)> wal_covered;
};

/// Spawns the federation actor and publishes it on this node's CAF port.
/// Throws std::runtime_error naming the address if the port cannot be bound.
caf::actor start_federation(caf::actor_system& system, FederationArgs args);

}  // namespace pytheas
