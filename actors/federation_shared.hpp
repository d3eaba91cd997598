#pragma once
// FederationShared: what a clustered node's io threads and its federation
// actor share (the single-node NodeShared knows nothing of clusters).
//  * Ownership: which groups another node owns right now. The federation
//    actor recomputes it whenever the group table or a peer's health changes
//    and publishes it whole; io threads read it per request (cached per
//    thread by version) to decide whether a report is applied here or
//    forwarded, and whether a decision comes from a local group or a mirror.
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

#include "actors/group_table.hpp"
#include "actors/snapshot_cell.hpp"
#include "core/grouping.hpp"
#include "core/latency_histogram.hpp"

namespace pytheas {

struct Ownership {
  std::uint64_t version = 0;  ///< bumped at every publish
  /// group -> owning node's name, only for groups owned by another node.
  /// A group not listed is served and learned here.
  std::unordered_map<std::string, std::string> remote;

  const std::string* owner_of(const std::string& group) const {
    auto it = remote.find(group);
    return it == remote.end() ? nullptr : &it->second;
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
  std::size_t table_groups = 0;  ///< groups in the group table
  std::size_t owned_elsewhere = 0;
  std::size_t mirrored = 0;     ///< groups with a snapshot pushed by their owner
  std::size_t subscribers = 0;  ///< (group, peer) pairs we push to
  std::vector<PeerStatus> peers;
};

/// The backend's grouping, for GET /v1/grouping.
struct GroupingStatus {
  std::string mode;  ///< "labels" or "learned"
  std::uint64_t table_version = 0;
  std::size_t samples = 0;     ///< in the learner's window (learned mode)
  std::string rules;           ///< format_rules() text; empty in labels mode
  double learned_at = 0;       ///< unix seconds of the last regroup
  double learn_seconds = 0;    ///< how long the last regroup took
  std::map<std::string, std::string> owners;  ///< group -> frontend cluster
  std::map<std::string, std::size_t> sizes;   ///< group -> samples (learned mode)
};

struct FederationShared {
  /// Learned grouping pushed by the backend; null: the label config's.
  SnapshotCell<Grouping> grouping;
  std::atomic<std::uint64_t> grouping_version{0};
  SnapshotCell<GroupingStatus> grouping_status;  ///< backend only

  SnapshotCell<Ownership> ownership;
  std::atomic<std::uint64_t> ownership_version{0};
  GroupTable mirrors;
  SnapshotCell<ClusterStatus> status;

  std::atomic<std::uint64_t> forwarded_out{0};     ///< reports acknowledged by their owner
  std::atomic<std::uint64_t> forwarded_in{0};      ///< reports applied here for other nodes
  std::atomic<std::uint64_t> forward_rerouted{0};  ///< unacknowledged, re-routed after a failure
  std::atomic<std::uint64_t> samples_sent{0};
  std::atomic<std::uint64_t> samples_dropped{0};  ///< backend unreachable and buffer full
  std::atomic<std::uint64_t> adoptions{0};        ///< groups taken over from a failed owner
  std::atomic<std::uint64_t> handoffs{0};         ///< groups given back to their owner
  std::atomic<std::uint64_t> refused_peers{0};    ///< handshakes refused (wrong secret, unknown)
  /// Accepted at another node -> arrived here, for forwarded reports.
  LatencyHistogram forward_latency;
};

}  // namespace pytheas
