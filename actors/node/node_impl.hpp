#pragma once
// Node::Impl: the node's state, shared by the files that implement Node
// (node.cpp: start, stop, reload, the decide and report paths;
// node_status.cpp: what the node tells about itself). Internal to
// actors/node/. Its members are read by the io threads and the actor threads
// as each one's comment says; what they share is atomic or swapped whole.

#include "actors/node/node.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include <atomic>
#include <cmath>
#include <random>
#include <stdexcept>
#include <thread>

#include "actors/common/messages.hpp"
#include "actors/common/snapshot_cell.hpp"
#include "actors/federation/federation.hpp"
#include "actors/federation/federation_local.hpp"
#include "actors/federation/peer_auth.hpp"
#include "actors/group/node_shared.hpp"
#include "actors/group/supervisor.hpp"
#include "actors/learning/grouping_actor.hpp"
#include "actors/learning/grouping_status.hpp"
#include "actors/node/event_journal.hpp"
#include "actors/node/node_decision_log.hpp"
#include "actors/storage/stamp_epoch.hpp"
#include "actors/storage/state_store.hpp"
#include "actors/storage/wal_recovery.hpp"
#include "config/label_config.hpp"
#include "core/errors.hpp"
#include "core/malloc_arenas.hpp"

namespace pytheas {

namespace node_detail {

/// What io threads need to turn features into a group key, swapped as a whole
/// on reload.
struct Routing {
  LabelConfigPtr config;
  std::unique_ptr<Grouping> grouping;
};

inline Rng& thread_rng() {
  thread_local Rng rng{std::random_device{}() ^
                       std::hash<std::thread::id>{}(std::this_thread::get_id())};
  return rng;
}

/// `cell`'s value as of `version`, cached per thread: io threads pay one
/// atomic load per request instead of shared reference-count traffic, and
/// reload only after a writer bumped `version`. One cache per value type and
/// thread, keyed by `owner`, the node's random instance id (not its address:
/// a node made after another one ended can get the same address and the same
/// version numbers, and was then served the old node's label config).
template <class T>
std::shared_ptr<const T> cached(std::uint64_t owner, const SnapshotCell<T>& cell,
                                const std::atomic<std::uint64_t>& version) {
  struct Cache {
    std::uint64_t owner = 0;
    std::uint64_t version = ~0ull;
    std::shared_ptr<const T> value;
  };
  thread_local Cache cache;
  const auto now = version.load(std::memory_order_acquire);
  if (cache.owner != owner || cache.version != now) {
    cache.owner = owner;
    cache.value = cell.load();
    cache.version = now;
  }
  return cache.value;
}

inline void check_score(double score) {
  if (!std::isfinite(score)) throw InvalidInput("score must be a finite number");
}

}  // namespace node_detail

struct Node::Impl {
  /// Keys this node's entries in the per-thread caches (see cached()).
  const std::uint64_t instance =
      ((std::uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()) |
      1;  // never 0 (an empty cache)
  NodeOptions options;
  LabelConfigPtr initial_config;
  std::shared_ptr<NodeShared> shared = std::make_shared<NodeShared>();
  std::unique_ptr<EventJournal> journal;
  std::unique_ptr<ReportLog> report_log;  ///< null without --wal
  /// Every decision and accepted report, for off-policy evaluation; null
  /// without --decision-log. Opened in start(), closed in stop().
  std::unique_ptr<evaluation::DecisionLog> decision_log;

  SnapshotCell<node_detail::Routing> routing;
  std::atomic<std::uint64_t> routing_version{0};

  std::unique_ptr<caf::actor_system_config> config;
  std::unique_ptr<caf::actor_system> system;
  caf::actor supervisor;
  std::atomic<bool> ready{false};

  /// Learned grouping in force (and /v1/grouping's status), on every node.
  std::shared_ptr<GroupingShared> grouping_shared = std::make_shared<GroupingShared>();
  caf::actor grouping_actor;  ///< an all-in-one node that learns; invalid otherwise
  /// grouping_actor's address for the io threads (sample()), cached per
  /// thread like the routing: a reload may start or stop the learner while
  /// they run. An address, not a handle: a thread's cache must not keep the
  /// (detached) actor alive, or the actor system would wait for it at stop.
  SnapshotCell<caf::actor_addr> learner;
  std::atomic<std::uint64_t> learner_version{0};
  void set_learner(const caf::actor& actor) {
    learner.store(actor ? std::make_shared<const caf::actor_addr>(actor.address()) : nullptr);
    learner_version.fetch_add(1, std::memory_order_release);
  }

  // Cluster membership (null/invalid on an all-in-one node).
  std::shared_ptr<FederationShared> federation_shared;
  caf::actor federation;
  /// The federation actor, for callbacks set up before it exists (the
  /// supervisor's on_saved); set once in start(), read from actor threads.
  std::shared_ptr<SnapshotCell<caf::actor>> federation_cell =
      std::make_shared<SnapshotCell<caf::actor>>();
  /// Share of reports sampled for a learner; io threads read it, a reload sets it.
  std::atomic<double> sample_rate{0};
  /// Cluster members: this run's report stamp epoch (microseconds at start,
  /// so a restart always stamps above the previous run).
  std::uint64_t stamp_epoch = 0;

  /// The current ownership, cached per thread like the routing.
  std::shared_ptr<const Ownership> current_ownership() {
    return node_detail::cached(instance, federation_shared->ownership,
                               federation_shared->ownership_version);
  }

  /// The group key of a session: by the learned rules (learned here, or
  /// pushed by a cluster's backend), else by the label config's grouping.
  std::string group_key(const node_detail::Routing& routing, FeatureView features) {
    if (auto learned = node_detail::cached(instance, grouping_shared->grouping,
                                           grouping_shared->grouping_version))
      return learned->key(features);
    return routing.grouping->key(features);
  }

  /// Whether this report is one the learner (here or a backend) should see.
  bool sampled(Rng& rng) const {
    const double rate = sample_rate.load(std::memory_order_relaxed);
    return rate > 0 && rng.uniform() < rate;
  }

  /// An all-in-one node starts learning its groups from its own reports
  /// (at start, or at a reload that turned learning on).
  void start_learning(const LabelConfigPtr& labels) {
    GroupingActorArgs grouping_args;
    grouping_args.config = labels;
    grouping_args.shared = grouping_shared;
    grouping_args.sink = supervisor;
    grouping_actor = spawn_grouping_actor(*system, std::move(grouping_args));
    set_learner(grouping_actor);
    sample_rate = labels->learning.sample_rate;
    spdlog::info("grouping: learning from {} of reports, starting from {}, regrouping every {} s",
                 labels->learning.sample_rate, labels->make_grouping()->describe(),
                 labels->learning.regroup_interval_s);
  }

  /// A reload turned learning off: the learner ends (waited for, so no rule
  /// it learned is installed after this) and the label config's grouping is
  /// the one in force again.
  void stop_learning(const LabelConfig& labels) {
    sample_rate = 0;
    set_learner(nullptr);
    {
      caf::scoped_actor self{*system};
      self->send_exit(grouping_actor, caf::exit_reason::user_shutdown);
      self->wait_for(grouping_actor);
    }
    grouping_actor = nullptr;
    grouping_shared->install(nullptr);
    GroupingFacts facts;
    facts.learned = false;
    facts.labels = &labels;
    grouping_shared->status.store(make_grouping_status(facts));
    spdlog::info("grouping: learning stopped; grouping by {}", labels.make_grouping()->describe());
  }

  /// The current routing, cached per thread and refreshed only when a reload
  /// bumped the version: no shared refcount traffic per request.
  std::shared_ptr<const node_detail::Routing> current_routing() {
    return node_detail::cached(instance, routing, routing_version);
  }

  void install(LabelConfigPtr config) {
    auto next = std::make_shared<node_detail::Routing>();
    next->grouping = config->make_grouping();
    next->config = std::move(config);
    routing.store(std::move(next));
    routing_version.fetch_add(1, std::memory_order_release);
  }

  /// Hands an accepted report on: on a cluster member to the federation
  /// (which applies it here or forwards it to the group's owner, and keeps it
  /// until confirmed), else to the supervisor.
  ReportStatus route(std::string key, std::string decision, double score) {
    if (report_log) return route_logged(std::move(key), std::move(decision), score);
    send_report(std::move(key), ReportItem{std::move(decision), score, monotonic_seconds(), 0, {}});
    return ReportStatus::accepted;
  }

  void send_report(std::string key, ReportItem item) {
    if (federation)
      caf::anon_send(federation, LocalReport{std::move(key), std::move(item)});
    else
      caf::anon_send(supervisor, report_atom::value, std::move(key), std::move(item));
  }

  /// Logs the report, then routes it under the log's lock (so each group
  /// applies its reports in log order); with --wal always, returns once durable.
  /// `stamp`: a replayed report's original stamp (cluster members).
  ReportStatus route_logged(std::string key, std::string decision, double score,
                            bool await_sync = true, double accepted_at = 0,
                            ReportStamp stamp = {}) {
    if (accepted_at == 0) accepted_at = monotonic_seconds();
    bool routed = false;
    try {
      // The log outlives the process: it keeps the wall time (for people).
      report_log->append(
          key, decision, score, wall_from_monotonic(accepted_at),
          [&](std::uint64_t seq) {
            ReportItem item{std::move(decision), score, accepted_at, seq, stamp};
            // A fresh report on a cluster member is stamped with the log's sequence.
            if (federation && item.stamp.epoch == 0) item.stamp = ReportStamp{0, stamp_epoch, seq};
            send_report(std::move(key), std::move(item));
            routed = true;
          },
          await_sync, stamp.epoch, stamp.seq);
    } catch (...) {
      if (!routed) shared->queue.release();
      throw;
    }
    return ReportStatus::accepted;
  }

  /// Replays logged reports that no persisted state includes (start-up; on a
  /// cluster member, every logged report: their owners skip what they have).
  void replay(WalRecovery& recovery) {
    for (auto& report : recovery.replay) {
      shared->queue.owe();  // past the ingress limit: owed
      ReportStamp stamp;
      if (federation && report.stamp_epoch != 0)
        stamp = ReportStamp{0, report.stamp_epoch, report.stamp_seq};
      // Logged in wall time by an earlier run: as an age on today's clock.
      const double age = std::max(0.0, wall_seconds() - report.accepted_at);
      route_logged(std::move(report.group), std::move(report.decision), report.score, false,
                   monotonic_seconds() - age, stamp);
    }
    report_log->sync();  // one sync for the whole replay
    report_log->drop_recovered_segments();
    spdlog::info(
        "write-ahead log: {} report(s) found, {} already in persisted state, {} replayed, {} for "
        "groups the grouping no longer produces",
        recovery.logged, recovery.already_persisted, recovery.replay.size(), recovery.ungroupable);
  }

  /// Groups' state persisted: the log may drop what it covers; a cluster
  /// member's federation decides that (and what to confirm) itself.
  void saved(const std::vector<GroupRecord>& records) {
    if (federation_shared) {
      if (auto target = federation_cell->load(); target && *target)
        caf::anon_send(*target, LocalSaved{records});
      return;
    }
    if (report_log)
      for (const auto& record : records) report_log->covered(record.key, record.wal_seq);
  }

  void sample(std::vector<std::string> features, const std::string& group,
              const std::string& decision, double score) {
    if (!federation) {  // an all-in-one node: its own learner, if it learns now
      if (auto address = node_detail::cached(instance, learner, learner_version))
        if (auto target = caf::actor_cast<caf::actor>(*address))
          caf::anon_send(target, LocalGroupingSample{
                                     GroupingSample{std::move(features), decision, score, {}}});
      return;
    }
    caf::anon_send(federation,
                   LocalSample{SampledReport{std::move(features), group, decision, score, {}}});
  }
};

}  // namespace pytheas
