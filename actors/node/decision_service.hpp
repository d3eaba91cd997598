#pragma once
// DecisionService: what the HTTP layer (and any other ingress) may ask of a
// node, with no CAF or bandit types in sight. Implemented by the node
// (actors/node/node.cpp) on top of the snapshot table and the report router.
// Thread-safety: every method is safe to call concurrently from io threads and
// never blocks on an actor: decisions come from published snapshots, reports
// are handed to actors fire-and-forget.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/federation/federation_shared.hpp"
#include "core/decision_snapshot.hpp"
#include "core/features.hpp"
#include "core/latency_histogram.hpp"
#include "evaluation/decision_log_counters.hpp"

namespace pytheas {

struct DecideRequest {
  FeatureView features;   ///< in schema() order
  Candidates candidates;  ///< non-empty, no duplicates (checked: InvalidInput)
  std::string_view session_id;
  /// Remember the decision under an event id for a later report. The legacy
  /// protocol reports by features, so its requests skip the journal.
  bool issue_event_id = true;
};

struct DecideResult {
  std::string event_id;   ///< joins a later report to this decision (empty if not issued)
  std::size_t index = 0;  ///< chosen candidate (index into request.candidates)
  std::string group;      ///< group key
  double propensity = 1;  ///< probability of this choice
  std::string policy;     ///< policy kind, or "fallback-uniform" when the group had no snapshot yet
};

enum class ReportStatus {
  accepted,       ///< handed to the group; will be applied (202)
  unknown_event,  ///< event id never issued or expired (404)
  duplicate,      ///< event already reported (409)
  overloaded,     ///< report queue full; retry later (503)
};

struct ReportByFeatures {
  FeatureView features;  ///< in schema() order
  std::string_view decision;
  double score = 0;  ///< finite (checked: InvalidInput)
};

/// Read-only view of a group for inspection endpoints.
struct GroupInfo {
  std::string key;
  SnapshotPtr snapshot;  ///< null until the group has published one
  std::uint64_t decisions = 0;
  std::uint64_t reports = 0;
  double last_activity = 0;  ///< unix seconds
  std::string owner;         ///< cluster node that owns it; empty: this node
  /// Unix seconds the snapshot was taken (its taken_at is on the node's
  /// monotonic clock, which means nothing to a reader).
  double last_update = 0;
};

/// Gauges and counters the node exposes for /metrics.
struct NodeStats {
  std::uint64_t active_groups = 0;
  std::uint64_t passivations = 0;         ///< groups moved to disk (idle or over the cap)
  std::uint64_t restarts = 0;             ///< group actors restarted after a failure
  std::uint64_t queue_depth = 0;          ///< reports accepted but not yet applied
  std::uint64_t queue_capacity = 0;       ///< beyond this, reports get `overloaded`
  std::uint64_t reports_applied = 0;      ///< reports a group's policy has learned from
  std::uint64_t reports_lost = 0;         ///< only when a group actor crashed (logged)
  std::uint64_t reports_duplicate = 0;    ///< skipped: already in their group's state
  std::uint64_t events_evicted = 0;       ///< reports refused: their claims forgotten early (cap)
  std::uint64_t events_forged = 0;        ///< reports refused: id not signed with this node's key
  std::uint64_t event_claims = 0;         ///< reported event ids remembered (duplicate filter)
  std::uint64_t stalls = 0;               ///< groups found holding reports they did not apply
  std::uint64_t stalled_groups = 0;       ///< such groups now (/readyz answers 503 meanwhile)
  std::uint64_t queue_over_released = 0;  ///< queue slots freed twice: a bug, expected 0
  /// Report accepted -> visible in its group's snapshot, per report (the
  /// "snapshot age" a report waits). Owned by the node; valid while it lives.
  const LatencyHistogram* freshness = nullptr;
  /// Federation counters; null on an all-in-one node. Valid while the node lives.
  const FederationShared* federation = nullptr;
  /// The decision log's counters (--decision-log); empty without one.
  std::optional<evaluation::DecisionLogCounters> decision_log;
};

class DecisionService {
 public:
  virtual ~DecisionService() = default;

  virtual const FeatureSchema& schema() const = 0;

  /// Picks a decision. Throws InvalidInput on bad candidates.
  virtual DecideResult decide(const DecideRequest& request) = 0;

  /// Reports the score of an earlier decision. Throws InvalidInput on a
  /// non-finite score.
  virtual ReportStatus report_event(std::string_view event_id, double score) = 0;

  /// Reports a score for (features, decision) without an event id (the legacy
  /// protocol's `update`). Throws InvalidInput on a non-finite score or an
  /// empty decision.
  virtual ReportStatus report(const ReportByFeatures& report) = 0;

  /// The groups active on this node, sorted by key.
  virtual std::vector<GroupInfo> groups() const = 0;
  virtual std::optional<GroupInfo> group(std::string_view key) const = 0;

  virtual NodeStats stats() const = 0;

  /// True once persisted state has been restored and the node takes traffic,
  /// while nothing keeps it from applying the reports it accepts.
  bool ready() const { return unready_reason().empty(); }
  /// Why the node is not ready (/readyz says it with its 503); empty: ready.
  virtual std::string unready_reason() const = 0;

  /// This node's view of its cluster; null on an all-in-one node.
  virtual std::shared_ptr<const ClusterStatus> cluster_status() const { return nullptr; }

  /// The cluster's grouping as the backend computes it; null unless this
  /// node is a cluster's backend.
  virtual std::shared_ptr<const GroupingStatus> grouping_status() const { return nullptr; }
};

}  // namespace pytheas
