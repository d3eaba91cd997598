#pragma once
// FederationShared: what a clustered node's io threads and its federation
// actor share (the single-node NodeShared knows nothing of clusters).
//  * Ownership: who owns each group right now (see Ownership below).
//  * mirrors: snapshots of groups owned elsewhere, pushed by their owners, so
//    decisions for them are made here without a network round trip.
//  * status: a readable picture of the cluster for /v1/cluster and the dashboard.
// Thread-safety: every field is atomic, immutable-behind-a-SnapshotCell, or a
// GroupTable (itself thread-safe).

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/common/snapshot_cell.hpp"
#include "actors/group/group_table.hpp"
#include "actors/learning/grouping_shared.hpp"
#include "core/grouping.hpp"
#include "core/latency_histogram.hpp"
#include "core/ownership_rule.hpp"

namespace pytheas {

/// Who owns what right now, as this node sees it: the rule of
/// core/ownership_rule.hpp applied to the group table and the members' health.
/// The federation actor publishes a new one whenever either changes; io
/// threads read it per request (cached per thread by version) to decide
/// whether a decision comes from a local group or from a mirror.
struct Ownership {
  std::string self;     ///< this node's name
  std::string cluster;  ///< this node's frontend cluster (empty for a backend)
  std::shared_ptr<const OwnershipView> view;

  /// The node that owns `group` if it is not this one; null when it is ours.
  const std::string* remote_owner(std::string_view group) const {
    if (!view) return nullptr;
    const auto* owner = view->of(group, cluster).owner;
    return owner && *owner != self ? owner : nullptr;
  }
};

struct PeerStatus {
  std::string name;
  std::string role;
  std::string cluster;
  bool healthy = false;
  double last_seen_s = -1;  ///< seconds since we last heard from it (-1: never)
  std::string last_error;   ///< why the link is down, if it is
};

struct ClusterStatus {
  std::string node;
  std::string role;
  std::string cluster;
  std::uint64_t table_version = 0;
  std::size_t table_groups = 0;     ///< groups in the group table
  std::size_t owned_elsewhere = 0;  ///< groups seen here that another node owns
  std::size_t mirrored = 0;         ///< groups with a snapshot pushed by their owner
  std::size_t subscribers = 0;      ///< (group, peer) pairs we push to
  std::vector<PeerStatus> peers;
  // For /metrics, so Prometheus can tell what /v1/cluster alone cannot:
  // summed over the members, owned groups per cluster equal the table's only
  // when every group has exactly one owner (docs/OPERATIONS.md#monitoring).
  std::map<std::string, std::size_t> table_groups_by_cluster;  ///< table entries per cluster
  std::map<std::string, std::size_t> owned_by_cluster;  ///< of those, ours in our view (frontends)
  double peer_timeout_s = 0;
  double regroup_interval_s = 0;  ///< backend only (0 elsewhere)
  double regrouped_at = 0;        ///< backend: unix seconds of the last regroup pass
};

struct FederationShared {
  SnapshotCell<Ownership> ownership;
  std::atomic<std::uint64_t> ownership_version{0};
  GroupTable mirrors;
  SnapshotCell<ClusterStatus> status;

  std::atomic<std::uint64_t> forwarded_out{0};     ///< reports acknowledged by their owner
  std::atomic<std::uint64_t> forwarded_in{0};      ///< reports taken here for other nodes
  std::atomic<std::uint64_t> forward_rerouted{0};  ///< sent again after a change of owner
  std::atomic<std::uint64_t> forward_refused{0};   ///< refused here: not ours in our view
  std::atomic<std::uint64_t> retained{0};          ///< accepted here, not yet confirmed (gauge)
  std::atomic<std::uint64_t> retain_overflow{0};   ///< dropped from retention (a group's cap)
  std::atomic<std::uint64_t> confirmed{0};         ///< confirmed by their groups' homes
  std::atomic<std::uint64_t> settles{0};           ///< groups that settled their state here
  std::atomic<std::uint64_t> rebases{0};           ///< ... taking a newer copy from elsewhere
  std::atomic<std::uint64_t> samples_sent{0};
  std::atomic<std::uint64_t> samples_dropped{0};  ///< backend unreachable and buffer full
  std::atomic<std::uint64_t> adoptions{0};        ///< groups taken over from a failed owner
  std::atomic<std::uint64_t> handoffs{0};         ///< groups' state given to their new owner
  std::atomic<std::uint64_t> refused_peers{0};    ///< handshakes refused (wrong secret, unknown)
  /// Accepted at another node -> arrived here, for forwarded reports.
  LatencyHistogram forward_latency;
};

}  // namespace pytheas
