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

namespace {

/// What io threads need to turn features into a group key, swapped as a whole
/// on reload.
struct Routing {
  LabelConfigPtr config;
  std::unique_ptr<Grouping> grouping;
};

Rng& thread_rng() {
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

void check_score(double score) {
  if (!std::isfinite(score)) throw InvalidInput("score must be a finite number");
}

}  // namespace

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

  SnapshotCell<Routing> routing;
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
    return cached(instance, federation_shared->ownership, federation_shared->ownership_version);
  }

  /// The group key of a session: by the learned rules (learned here, or
  /// pushed by a cluster's backend), else by the label config's grouping.
  std::string group_key(const Routing& routing, FeatureView features) {
    if (auto learned =
            cached(instance, grouping_shared->grouping, grouping_shared->grouping_version))
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
  std::shared_ptr<const Routing> current_routing() {
    return cached(instance, routing, routing_version);
  }

  void install(LabelConfigPtr config) {
    auto next = std::make_shared<Routing>();
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
      if (auto address = cached(instance, learner, learner_version))
        if (auto target = caf::actor_cast<caf::actor>(*address))
          caf::anon_send(target, LocalGroupingSample{
                                     GroupingSample{std::move(features), decision, score, {}}});
      return;
    }
    caf::anon_send(federation,
                   LocalSample{SampledReport{std::move(features), group, decision, score, {}}});
  }
};

namespace {

/// The key that signs event ids: in a cluster with a secret, derived from it
/// (every member accepts a report for another member's decision, and ids
/// stay valid across a member's restart); otherwise random per process (a
/// restarted node refuses the ids of the one before, as it cannot know
/// which of them were reported).
SipKey event_id_key(const NodeOptions& options) {
  if (options.cluster && !options.cluster->secret.empty()) {
    const auto hex = handshake_proof(options.cluster->secret, "event-ids", "", "", "");
    return {std::stoull(hex.substr(0, 16), nullptr, 16),
            std::stoull(hex.substr(16, 16), nullptr, 16)};
  }
  std::random_device device;
  auto word = [&] { return (static_cast<std::uint64_t>(device()) << 32) ^ device(); };
  return {word(), word()};
}

}  // namespace

Node::Node(NodeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  limit_malloc_arenas(impl_->options.malloc_arenas);  // before the actor system's threads
  if (impl_->options.cluster) {
    if (!impl_->options.cluster->find(impl_->options.node_name))
      throw std::runtime_error("--name: '" + impl_->options.node_name + "' is not a node of " +
                               impl_->options.cluster->source);
    impl_->federation_shared = std::make_shared<FederationShared>();
  }
  auto config = impl_->options.labels_file.empty()
                    ? std::make_shared<LabelConfig>()
                    : std::make_shared<LabelConfig>(load_label_config(impl_->options.labels_file));
  config->make_grouping();  // validates the grouping against the schema now
  impl_->initial_config = std::move(config);
  impl_->install(impl_->initial_config);
  impl_->journal = std::make_unique<EventJournal>(impl_->initial_config->event_capacity,
                                                  impl_->initial_config->event_window_s,
                                                  event_id_key(impl_->options));
}

Node::~Node() {
  stop();
}

void Node::start() {
  auto& im = *impl_;
  if (im.system) return;
  if (!im.options.state_dir.empty()) StateStore probe(im.options.state_dir);  // fail early, clearly
  if (!im.options.decision_log.dir.empty())
    im.decision_log = open_node_decision_log(im.options.decision_log, *im.current_routing()->config,
                                             im.options.node_name);
  std::optional<WalRecovery> recovery;
  const auto& cluster = im.options.cluster;
  if (cluster) {
    const auto wall_us =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    // With a state dir, above every earlier run's (a clock stepped back
    // across the restart must not make peers drop this run's reports).
    im.stamp_epoch =
        im.options.state_dir.empty() ? wall_us : next_stamp_epoch(im.options.state_dir, wall_us);
  }
  if (im.options.wal != WalSync::none) {
    if (im.options.state_dir.empty())
      throw std::runtime_error("a write-ahead log (--wal) needs a --state-dir");
    recovery = recover_report_log(im.options.state_dir, im.options.wal, im.options.wal_batch_ms,
                                  *im.current_routing()->config, im.stamp_epoch);
    im.report_log = std::move(recovery->log);
  }
  im.config = std::make_unique<caf::actor_system_config>();
  im.config->set("scheduler.max-threads",
                 static_cast<size_t>(std::max(1, im.options.scheduler_threads)));
  im.config->set("logger.verbosity", caf::atom("quiet"));
  // Fairness: an actor yields its worker after this many messages. Without
  // it a flooded actor (the router under a report storm) keeps its thread
  // for seconds and starves the rest, heartbeats included.
  im.config->set("scheduler.max-throughput", static_cast<size_t>(500));
  if (cluster) {
    im.config->load<caf::io::middleman>();
    // CAF's own link heartbeat closes a connection that went silent (a cut
    // link sends no reset): the next dial then opens a fresh connection
    // instead of reusing the dead one until TCP gives up, minutes later.
    auto seconds = [](double s) { return caf::timespan{static_cast<std::int64_t>(s * 1e9)}; };
    im.config->set("middleman.heartbeat-interval", seconds(cluster->heartbeat_interval_s));
    im.config->set("middleman.connection-timeout", seconds(cluster->peer_timeout_s));
    add_federation_types(*im.config);
    if (cluster->tls.enabled()) {
      im.config->load<caf::openssl::manager>();
      im.config->openssl_certificate = cluster->tls.certificate;
      im.config->openssl_key = cluster->tls.key;
      im.config->openssl_cafile = cluster->tls.ca;
    }
  }
  im.system = std::make_unique<caf::actor_system>(*im.config);
  SupervisorArgs args;
  args.shared = im.shared;
  args.config = im.current_routing()->config;
  args.state_dir = im.options.state_dir;
  args.seed = im.options.seed;
  args.stall_after_s = im.options.stall_after_s;
  // The node outlives its actors (stop() waits for them), so `this` is safe here.
  if (im.report_log || cluster)
    args.on_saved = [impl = &im](const std::vector<GroupRecord>& records) { impl->saved(records); };
  im.supervisor = spawn_supervisor(*im.system, std::move(args));
  // Without its supervisor a node still answers decisions (from snapshots)
  // and accepts reports that nothing applies: say so loudly, and /readyz 503.
  im.supervisor->attach_functor([shared = im.shared](const caf::error& reason) {
    if (reason == caf::exit_reason::normal || reason == caf::exit_reason::user_shutdown) return;
    shared->supervisor_down.store(true);
    spdlog::critical(
        "the supervisor actor stopped ({}): accepted reports are no longer applied; "
        "restart this node",
        caf::to_string(reason));
  });
  caf::scoped_actor self{*im.system};
  std::size_t restored = 0;
  self->request(im.supervisor, std::chrono::minutes(10), restore_atom::value)
      .receive([&](std::size_t count) { restored = count; },
               [&](caf::error& error) {
                 throw std::runtime_error("restoring state failed: " + im.system->render(error));
               });
  if (!im.options.state_dir.empty())
    spdlog::info("restored {} group(s) from {}", restored, im.options.state_dir);
  if (cluster) {
    FederationArgs federation_args;
    federation_args.cluster = cluster;
    federation_args.self_name = im.options.node_name;
    federation_args.shared = im.shared;
    federation_args.federation = im.federation_shared;
    federation_args.supervisor = im.supervisor;
    federation_args.state_dir = im.options.state_dir;
    federation_args.schema = im.current_routing()->config->schema;
    federation_args.epoch = im.stamp_epoch;
    federation_args.grouping = im.grouping_shared;
    federation_args.labels = im.current_routing()->config;
    if (auto* log = im.report_log.get())
      federation_args.wal_covered = [log](const std::string& group, std::uint64_t through) {
        log->covered(group, through);
      };
    im.federation = start_federation(*im.system, std::move(federation_args));
    im.federation_cell->store(std::make_shared<const caf::actor>(im.federation));
    im.sample_rate = cluster->sample_rate;
    const auto* me = cluster->find(im.options.node_name);
    spdlog::info("cluster member {} ({}{}), federation on {}:{}", me->name, to_string(me->role),
                 me->cluster.empty() ? "" : ", cluster " + me->cluster, me->host, me->caf_port);
  }
  const auto& labels = *im.current_routing()->config;
  if (!cluster) {
    // Published before the HTTP listener opens, so GET /v1/grouping answers
    // from the first request; a learning node's actor replaces it as it learns.
    GroupingFacts facts;
    facts.learned = labels.learning.enabled;
    facts.labels = &labels;
    im.grouping_shared->status.store(make_grouping_status(facts));
  }
  if (!cluster && labels.learning.enabled) im.start_learning(im.current_routing()->config);
  if (recovery) im.replay(*recovery);
  im.ready = true;
}

void Node::stop() {
  auto& im = *impl_;
  if (!im.system) return;
  im.ready = false;
  // Every accepted report is applied by its group (or acknowledged by its
  // owner) before state is written.
  auto drain = [&](std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (im.shared->queue.depth() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  };
  drain(std::chrono::seconds(30));
  if (im.federation) {
    // Leave the cluster: tell the others, so the new owners of our groups
    // fetch their state from us and our kept reports go to them, then give
    // them a moment (bounded) before the link drops.
    caf::anon_send(im.federation, LocalLeave{});
    const double grace_s = std::min(1.5, 2 * im.options.cluster->peer_timeout_s);
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(1000 * grace_s)));
    drain(std::chrono::seconds(5));
    caf::scoped_actor self{*im.system};
    self->send_exit(im.federation, caf::exit_reason::user_shutdown);
    self->wait_for(im.federation);
    im.federation_cell->store(nullptr);
    im.federation = nullptr;
    drain(std::chrono::seconds(5));
  }
  if (auto left = im.shared->queue.depth())
    spdlog::error("stop: {} report(s) still queued after the drain deadline", left);
  {
    caf::scoped_actor self{*im.system};
    self->request(im.supervisor, std::chrono::minutes(5), shutdown_atom::value)
        .receive([](ok_atom) {},
                 [&](caf::error& error) {
                   spdlog::error("stop: persisting state failed: {}", im.system->render(error));
                 });
  }
  im.supervisor = nullptr;
  if (im.grouping_actor) {
    caf::anon_send_exit(im.grouping_actor, caf::exit_reason::user_shutdown);
    im.grouping_actor = nullptr;
    im.set_learner(nullptr);
  }
  im.system.reset();  // waits for every actor to finish
  im.config.reset();
  im.report_log.reset();  // syncs; deletes the segments persisted state covers
  // Writes what is queued (the io threads stopped before the node).
  im.decision_log.reset();
}

bool Node::reload(std::string& message) {
  auto& im = *impl_;
  if (im.options.labels_file.empty()) {
    message = "no --labels file to reload";
    return false;
  }
  try {
    auto config = std::make_shared<LabelConfig>(load_label_config(im.options.labels_file));
    // Every key takes effect now or the reload is refused: never a
    // "reloaded" that leaves a key as it was (docs/OPERATIONS.md, reload table).
    const auto refusals =
        reload_refusals(*im.current_routing()->config, *config, im.options.cluster != nullptr);
    if (!refusals.empty()) {
      message = refusals.front();
      for (std::size_t i = 1; i < refusals.size(); ++i) message += "; " + refusals[i];
      return false;
    }
    config->make_grouping();
    const bool learns = !im.options.cluster && config->learning.enabled;
    // Learning stops before the new grouping is installed: no session is
    // keyed by learned rules once the supervisor has retired their groups.
    if (im.system && im.grouping_actor && !learns) im.stop_learning(*config);
    im.install(config);
    if (im.supervisor) caf::anon_send(im.supervisor, reload_atom::value, LabelConfigPtr(config));
    if (im.grouping_actor) {
      caf::anon_send(im.grouping_actor, reload_atom::value, LabelConfigPtr(config));
      im.sample_rate = config->learning.sample_rate;
    } else if (im.system && learns) {
      im.start_learning(config);
    }
    message = "reloaded " + im.options.labels_file;
    return true;
  } catch (const std::exception& e) {
    message = e.what();
    return false;
  }
}

const FeatureSchema& Node::schema() const {
  return impl_->initial_config->schema;
}

DecideResult Node::decide(const DecideRequest& request) {
  auto& im = *impl_;
  auto routing = im.current_routing();
  if (request.features.size() != routing->config->schema.size())
    throw InvalidInput("decide: expected " + std::to_string(routing->config->schema.size()) +
                       " feature values");
  DecideResult result;
  result.group = im.group_key(*routing, request.features);
  const double now = wall_seconds();
  auto& rng = thread_rng();
  // A group another node owns is decided from the snapshot its owner pushed.
  std::shared_ptr<const Ownership> ownership;
  if (im.federation) ownership = im.current_ownership();
  const bool remote = ownership && ownership->remote_owner(result.group);
  const auto& table = remote ? im.federation_shared->mirrors : im.shared->table;
  std::uint64_t policy_version = 0;
  bool served = table.visit(result.group, [&](GroupSlot& slot) {
    auto snapshot = slot.snapshot.load();
    if (!snapshot) return;
    auto pick = snapshot->pick(request.candidates, rng);
    policy_version = snapshot->version();
    result.index = pick.index;
    result.propensity = pick.propensity;
    result.policy = snapshot->policy();
    slot.decisions.fetch_add(1, std::memory_order_relaxed);
    slot.touch(static_cast<std::int64_t>(monotonic_seconds()));  // passivation: monotonic
  });
  if (!served || result.policy.empty()) {
    auto pick = DecisionSnapshot::uniform_pick(request.candidates, rng);
    result.index = pick.index;
    result.propensity = pick.propensity;
    result.policy = "fallback-uniform";
    if (im.federation)
      caf::anon_send(im.federation, LocalEnsure{result.group});  // subscribe, or settle ours
    else
      caf::anon_send(im.supervisor, ensure_atom::value, result.group);
  }
  if (request.issue_event_id) {
    // A sampled decision's id carries its features to its report, for the learner.
    result.event_id = im.journal->record(result.group, request.candidates[result.index],
                                         {now, monotonic_seconds()},
                                         im.sampled(rng) ? request.features : FeatureView{});
  }
  if (im.decision_log) log_decision(*im.decision_log, now, request, result, policy_version);
  return result;
}

ReportStatus Node::report_event(std::string_view event_id, double score) {
  auto& im = *impl_;
  check_score(score);
  if (!im.shared->queue.admit()) return ReportStatus::overloaded;
  EventJournal::Event event;
  switch (im.journal->claim(event_id, {wall_seconds(), monotonic_seconds()}, event)) {
    case EventJournal::Claim::unknown:
      im.shared->queue.release();
      return ReportStatus::unknown_event;
    case EventJournal::Claim::duplicate:
      im.shared->queue.release();
      return ReportStatus::duplicate;
    case EventJournal::Claim::ok:
      break;
  }
  if (!event.features.empty())
    im.sample(std::move(event.features), event.group, event.decision, score);
  const auto status = im.route(std::move(event.group), std::move(event.decision), score);
  if (im.decision_log) im.decision_log->report_event(wall_seconds(), event_id, score);
  return status;
}

ReportStatus Node::report(const ReportByFeatures& report) {
  auto& im = *impl_;
  check_score(report.score);
  if (report.decision.empty()) throw InvalidInput("report: empty decision");
  auto routing = im.current_routing();
  if (report.features.size() != routing->config->schema.size())
    throw InvalidInput("report: expected " + std::to_string(routing->config->schema.size()) +
                       " feature values");
  auto key = im.group_key(*routing, report.features);
  if (!im.shared->queue.admit()) return ReportStatus::overloaded;
  // sample_rate is 0 unless a learner (here or a cluster's) wants samples.
  if (im.sampled(thread_rng()))
    im.sample({report.features.begin(), report.features.end()}, key, std::string(report.decision),
              report.score);
  const auto status = im.route(std::move(key), std::string(report.decision), report.score);
  if (im.decision_log)
    im.decision_log->report_features(wall_seconds(), report.features, report.decision,
                                     report.score);
  return status;
}

namespace {
GroupInfo info_of(const GroupSlot& slot, std::string owner = {}) {
  GroupInfo info{slot.key,
                 slot.snapshot.load(),
                 slot.decisions.load(),
                 slot.reports.load(),
                 wall_from_monotonic(static_cast<double>(slot.last_activity.load())),
                 std::move(owner)};
  if (info.snapshot) info.last_update = wall_from_monotonic(info.snapshot->taken_at());
  return info;
}
}  // namespace

std::vector<GroupInfo> Node::groups() const {
  auto& im = *impl_;
  std::vector<GroupInfo> out;
  std::shared_ptr<const Ownership> ownership;
  if (im.federation_shared) ownership = im.federation_shared->ownership.load();
  for (const auto& slot : im.shared->table.all())
    // A group another node owns is listed from its mirror (a local copy left
    // behind by a move of ownership is not this node's to show).
    if (!ownership || !ownership->remote_owner(slot->key)) out.push_back(info_of(*slot));
  if (im.federation_shared) {
    for (const auto& slot : im.federation_shared->mirrors.all())
      if (const auto* owner = ownership ? ownership->remote_owner(slot->key) : nullptr)
        out.push_back(info_of(*slot, *owner));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

std::optional<GroupInfo> Node::group(std::string_view key) const {
  auto& im = *impl_;
  std::optional<GroupInfo> out;
  if (im.federation_shared) {
    auto ownership = im.federation_shared->ownership.load();
    if (const auto* owner = ownership ? ownership->remote_owner(key) : nullptr) {
      im.federation_shared->mirrors.visit(
          key, [&](const GroupSlot& slot) { out = info_of(slot, *owner); });
      return out;
    }
  }
  im.shared->table.visit(key, [&](const GroupSlot& slot) { out = info_of(slot); });
  return out;
}

NodeStats Node::stats() const {
  const auto& shared = *impl_->shared;
  NodeStats stats;
  stats.active_groups = shared.table.size();
  stats.passivations = shared.passivations.load();
  stats.restarts = shared.restarts.load();
  stats.queue_depth = shared.queue.depth();
  stats.queue_capacity = shared.queue.capacity();
  stats.reports_applied = shared.reports_applied.load();
  stats.reports_lost = shared.reports_lost.load();
  stats.reports_duplicate = shared.reports_duplicate.load();
  stats.events_evicted = impl_->journal->evicted();
  stats.events_forged = impl_->journal->forged();
  stats.event_claims = impl_->journal->size();
  stats.stalls = shared.stalls.load();
  stats.stalled_groups = shared.stalled_groups.load();
  stats.queue_over_released = shared.queue.over_released();
  stats.freshness = &shared.freshness;
  stats.federation = impl_->federation_shared.get();
  if (const auto& log = impl_->decision_log) stats.decision_log = log->counters();
  return stats;
}

std::shared_ptr<const GroupingStatus> Node::grouping_status() const {
  auto status = impl_->grouping_shared->status.load();
  if (!status || !impl_->federation_shared) return status;
  auto with_table = std::make_shared<GroupingStatus>(*status);
  with_table->table_version = impl_->grouping_shared->table_version.load();
  return with_table;
}

std::shared_ptr<const ClusterStatus> Node::cluster_status() const {
  if (!impl_->federation_shared) return nullptr;
  return impl_->federation_shared->status.load();
}

void Node::stall_group_for_test(const std::string& key, double seconds) {
  caf::anon_send(impl_->supervisor, stall_atom::value, key, seconds);
}

std::string Node::unready_reason() const {
  const auto& im = *impl_;
  if (!im.ready) return "restoring state";
  const auto& shared = *im.shared;
  if (shared.supervisor_down.load())
    return "the supervisor actor stopped: accepted reports are not applied (see the log)";
  // The supervisor sweeps every second; one that has not for the stall
  // bound is stuck (or its mailbox is), and nothing reaches the groups.
  const double beat = shared.supervisor_beat.load(std::memory_order_relaxed);
  if (beat > 0 && monotonic_seconds() - beat > std::max(im.options.stall_after_s, 2.0))
    return fmt::format("the supervisor has not swept for {:.0f} s", monotonic_seconds() - beat);
  if (shared.stalled_groups.load(std::memory_order_relaxed) > 0)
    if (auto reason = shared.stall_reason.load()) return "stalled: " + *reason;
  return {};
}

}  // namespace pytheas
