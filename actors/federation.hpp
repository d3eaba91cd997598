#pragma once
// Federation: the actor that makes one node a member of a cluster. One per
// clustered node, published on the node's CAF port; it links to every other
// member over CAF remote actors:
//  * Handshake: a link starts with (hello, name, secret); a peer that is not
//    in the cluster file or lacks the secret is refused and logged, and every
//    later message is accepted only from a peer that completed it. A node
//    dials the backend and the frontends whose names sort after its own (so
//    each pair has one link); links are monitored and heartbeated, and the
//    dialling side reconnects with exponential backoff.
//  * Frontend duties: send the backend a sample of reports; install the
//    group tables it pushes; forward reports of groups another node owns to
//    that node in batches (acknowledged; an unacknowledged batch is re-routed
//    when the owner fails, so a report this node accepted is not lost);
//    subscribe to those groups and keep the snapshots their owner pushes
//    (mirrors) so decisions stay local; push our own groups' state to the
//    frontends that subscribed.
//  * Failures: when every member of a group's cluster is down, the group is
//    adopted here from the last state its owner pushed; when the owner is
//    back, the adopted state is handed back to it.
//  * Backend duties (role backend or all): count sampled sessions per group
//    and frontend cluster, recompute the group table every regroup interval
//    (core/owner_assignment.hpp), persist it, push it to the frontends.
// Ownership inside a cluster: among its living members (as this node sees
// them), a group belongs to the one with the highest rendezvous hash of
// (group, member), so members of one cluster split its groups without talking.

#include <caf/actor.hpp>
#include <caf/fwd.hpp>
#include <memory>
#include <string>

#include "actors/federation_shared.hpp"
#include "actors/node_shared.hpp"
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
};

/// Spawns the federation actor and publishes it on this node's CAF port.
/// Throws std::runtime_error naming the address if the port cannot be bound.
caf::actor start_federation(caf::actor_system& system, FederationArgs args);

/// The member of `members` that owns `group` (rendezvous hashing); empty if
/// `members` is empty. Exposed for tests.
std::string rendezvous_owner(const std::string& group, const std::vector<std::string>& members);

}  // namespace pytheas
