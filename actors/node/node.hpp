#pragma once
// Node: one running Pytheas node's actors: the CAF actor system, the group
// supervisor, and the snapshot table, behind the DecisionService facade the
// HTTP layer uses. CAF stays inside node.cpp so including this header is cheap.
// Thread-safety: DecisionService methods are safe from any thread; start(),
// reload() and stop() are called by the one thread that owns the node.

#include <cstdint>
#include <memory>
#include <string>

#include "actors/node/decision_service.hpp"
#include "actors/node/node_decision_log.hpp"
#include "actors/storage/wal_sync.hpp"
#include "config/cluster_config.hpp"

namespace pytheas {

struct NodeOptions {
  std::string state_dir;      ///< empty = no persistence
  std::string labels_file;    ///< empty = the original's defaults
  int scheduler_threads = 2;  ///< CAF worker threads
  /// glibc malloc arenas, set when the node is constructed (see
  /// core/malloc_arenas.hpp); 0 keeps glibc's default. One saves ~220 bytes
  /// of RSS per active group at no measured cost in throughput.
  int malloc_arenas = 1;
  std::uint64_t seed = 1;  ///< policies' seeds derive from it and the group key
  /// Cluster membership (--cluster FILE --name NAME); null: an all-in-one node.
  std::shared_ptr<const ClusterConfig> cluster;
  std::string node_name;
  WalSync wal = WalSync::none;  ///< write-ahead log of accepted reports (needs state_dir)
  int wal_batch_ms = 10;        ///< WalSync::batch: write and sync this often
  /// --decision-log: every decision and report, for `pytheas evaluate`.
  DecisionLogSettings decision_log;
  /// A group holding accepted reports that applies none for this long is
  /// stalled: logged, counted, and /readyz answers 503 while it lasts.
  double stall_after_s = 10;
};

class Node final : public DecisionService {
 public:
  explicit Node(NodeOptions options);
  ~Node() override;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Starts the actor system and restores persisted state. Throws
  /// std::runtime_error with a readable message on a bad config or state dir.
  void start();

  /// Drains accepted reports into their groups, persists state, stops the
  /// actor system. Idempotent.
  void stop();

  /// Re-reads the --labels file (SIGHUP): groups the new grouping cannot
  /// produce are retired (passivated), the others get their new policy, rule
  /// groups are spawned; reports in flight are not dropped. On failure the old
  /// config stays and `message` says why.
  bool reload(std::string& message);

  /// Test hook: the actor of group `key` blocks its thread for `seconds`
  /// (what a stalled group looks like to the stall watch).
  void stall_group_for_test(const std::string& key, double seconds);

  const FeatureSchema& schema() const override;
  DecideResult decide(const DecideRequest& request) override;
  ReportStatus report_event(std::string_view event_id, double score) override;
  ReportStatus report(const ReportByFeatures& report) override;
  std::vector<GroupInfo> groups() const override;
  std::optional<GroupInfo> group(std::string_view key) const override;
  NodeStats stats() const override;
  std::string unready_reason() const override;
  std::shared_ptr<const ClusterStatus> cluster_status() const override;
  std::shared_ptr<const GroupingStatus> grouping_status() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pytheas
