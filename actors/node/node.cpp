#include "actors/node/node.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/node/node_impl.hpp"

namespace pytheas {

using namespace node_detail;

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
  const double now = wall_seconds();                 // decision logs, and the event id's issue time
  const double monotonic_now = monotonic_seconds();  // passivation stamps, event ids' age
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
    slot.touch(static_cast<std::int64_t>(monotonic_now));
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
    result.event_id =
        im.journal->record(result.group, request.candidates[result.index], {now, monotonic_now},
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

}  // namespace pytheas
