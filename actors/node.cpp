#include "actors/node.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include <atomic>
#include <cmath>
#include <random>
#include <stdexcept>
#include <thread>

#include "actors/event_journal.hpp"
#include "actors/messages.hpp"
#include "actors/node_shared.hpp"
#include "actors/snapshot_cell.hpp"
#include "actors/state_store.hpp"
#include "actors/supervisor.hpp"
#include "config/label_config.hpp"
#include "core/errors.hpp"

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

void check_score(double score) {
  if (!std::isfinite(score)) throw InvalidInput("score must be a finite number");
}

}  // namespace

struct Node::Impl {
  NodeOptions options;
  LabelConfigPtr initial_config;
  std::shared_ptr<NodeShared> shared = std::make_shared<NodeShared>();
  std::unique_ptr<EventJournal> journal;

  SnapshotCell<Routing> routing;
  std::atomic<std::uint64_t> routing_version{0};

  std::unique_ptr<caf::actor_system_config> config;
  std::unique_ptr<caf::actor_system> system;
  caf::actor supervisor;
  std::atomic<bool> ready{false};

  /// The current routing, cached per thread and refreshed only when a reload
  /// bumped the version: no shared refcount traffic per request.
  std::shared_ptr<const Routing> current_routing() {
    struct Cache {
      const Impl* owner = nullptr;
      std::uint64_t version = ~0ull;
      std::shared_ptr<const Routing> routing;
    };
    thread_local Cache cache;
    auto version = routing_version.load(std::memory_order_acquire);
    if (cache.owner != this || cache.version != version) {
      cache.owner = this;
      cache.routing = routing.load();
      cache.version = version;
    }
    return cache.routing;
  }

  void install(LabelConfigPtr config) {
    auto next = std::make_shared<Routing>();
    next->grouping = config->make_grouping();
    next->config = std::move(config);
    routing.store(std::move(next));
    routing_version.fetch_add(1, std::memory_order_release);
  }

  ReportStatus route(std::string key, std::string decision, double score) {
    caf::anon_send(supervisor, report_atom::value, std::move(key), std::move(decision), score,
                   wall_seconds());
    return ReportStatus::accepted;
  }
};

Node::Node(NodeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  auto config = impl_->options.labels_file.empty()
                    ? std::make_shared<LabelConfig>()
                    : std::make_shared<LabelConfig>(load_label_config(impl_->options.labels_file));
  config->make_grouping();  // validates the grouping against the schema now
  impl_->initial_config = std::move(config);
  impl_->install(impl_->initial_config);
  impl_->journal = std::make_unique<EventJournal>(impl_->initial_config->event_capacity,
                                                  impl_->initial_config->event_window_s);
}

Node::~Node() {
  stop();
}

void Node::start() {
  auto& im = *impl_;
  if (im.system) return;
  if (!im.options.state_dir.empty()) StateStore probe(im.options.state_dir);  // fail early, clearly
  im.config = std::make_unique<caf::actor_system_config>();
  im.config->set("scheduler.max-threads",
                 static_cast<size_t>(std::max(1, im.options.scheduler_threads)));
  im.config->set("logger.verbosity", caf::atom("quiet"));
  im.system = std::make_unique<caf::actor_system>(*im.config);
  SupervisorArgs args;
  args.shared = im.shared;
  args.config = im.current_routing()->config;
  args.state_dir = im.options.state_dir;
  args.seed = im.options.seed;
  im.supervisor = spawn_supervisor(*im.system, std::move(args));
  caf::scoped_actor self{*im.system};
  std::size_t restored = 0;
  self->request(im.supervisor, std::chrono::minutes(10), restore_atom::value)
      .receive([&](std::size_t count) { restored = count; },
               [&](caf::error& error) {
                 throw std::runtime_error("restoring state failed: " + im.system->render(error));
               });
  if (!im.options.state_dir.empty())
    spdlog::info("restored {} group(s) from {}", restored, im.options.state_dir);
  im.ready = true;
}

void Node::stop() {
  auto& im = *impl_;
  if (!im.system) return;
  im.ready = false;
  // Every accepted report is applied by its group before state is written.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (im.shared->queued.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (auto left = im.shared->queued.load())
    spdlog::error("stop: {} report(s) still queued after 30 s", left);
  {
    caf::scoped_actor self{*im.system};
    self->request(im.supervisor, std::chrono::minutes(5), shutdown_atom::value)
        .receive([](ok_atom) {},
                 [&](caf::error& error) {
                   spdlog::error("stop: persisting state failed: {}", im.system->render(error));
                 });
  }
  im.supervisor = nullptr;
  im.system.reset();  // waits for every actor to finish
  im.config.reset();
}

bool Node::reload(std::string& message) {
  auto& im = *impl_;
  if (im.options.labels_file.empty()) {
    message = "no --labels file to reload";
    return false;
  }
  try {
    auto config = std::make_shared<LabelConfig>(load_label_config(im.options.labels_file));
    if (!(config->schema == im.current_routing()->config->schema)) {
      message =
          im.options.labels_file + ": features: cannot change while running; restart the node";
      return false;
    }
    config->make_grouping();
    im.install(config);
    if (im.supervisor) caf::anon_send(im.supervisor, reload_atom::value, LabelConfigPtr(config));
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
  result.group = routing->grouping->key(request.features);
  const double now = wall_seconds();
  auto& rng = thread_rng();
  bool served = im.shared->table.visit(result.group, [&](GroupSlot& slot) {
    auto snapshot = slot.snapshot.load();
    if (!snapshot) return;
    auto pick = snapshot->pick(request.candidates, rng);
    result.index = pick.index;
    result.propensity = pick.propensity;
    result.policy = snapshot->policy();
    slot.decisions.fetch_add(1, std::memory_order_relaxed);
    slot.touch(static_cast<std::int64_t>(now));
  });
  if (!served || result.policy.empty()) {
    auto pick = DecisionSnapshot::uniform_pick(request.candidates, rng);
    result.index = pick.index;
    result.propensity = pick.propensity;
    result.policy = "fallback-uniform";
    caf::anon_send(im.supervisor, ensure_atom::value, result.group);
  }
  if (request.issue_event_id)
    result.event_id = im.journal->record(result.group, request.candidates[result.index], now);
  return result;
}

ReportStatus Node::report_event(std::string_view event_id, double score) {
  auto& im = *impl_;
  check_score(score);
  if (!im.shared->admit()) return ReportStatus::overloaded;
  EventJournal::Event event;
  switch (im.journal->claim(event_id, wall_seconds(), event)) {
    case EventJournal::Claim::unknown:
      im.shared->release();
      return ReportStatus::unknown_event;
    case EventJournal::Claim::duplicate:
      im.shared->release();
      return ReportStatus::duplicate;
    case EventJournal::Claim::ok:
      break;
  }
  return im.route(std::move(event.group), std::move(event.decision), score);
}

ReportStatus Node::report(const ReportByFeatures& report) {
  auto& im = *impl_;
  check_score(report.score);
  if (report.decision.empty()) throw InvalidInput("report: empty decision");
  auto routing = im.current_routing();
  if (report.features.size() != routing->config->schema.size())
    throw InvalidInput("report: expected " + std::to_string(routing->config->schema.size()) +
                       " feature values");
  auto key = routing->grouping->key(report.features);
  if (!im.shared->admit()) return ReportStatus::overloaded;
  return im.route(std::move(key), std::string(report.decision), report.score);
}

namespace {
GroupInfo info_of(const GroupSlot& slot) {
  return GroupInfo{slot.key, slot.snapshot.load(), slot.decisions.load(), slot.reports.load(),
                   static_cast<double>(slot.last_activity.load())};
}
}  // namespace

std::vector<GroupInfo> Node::groups() const {
  std::vector<GroupInfo> out;
  for (const auto& slot : impl_->shared->table.all()) out.push_back(info_of(*slot));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  return out;
}

std::optional<GroupInfo> Node::group(std::string_view key) const {
  std::optional<GroupInfo> out;
  impl_->shared->table.visit(key, [&](const GroupSlot& slot) { out = info_of(slot); });
  return out;
}

NodeStats Node::stats() const {
  const auto& shared = *impl_->shared;
  NodeStats stats;
  stats.active_groups = shared.table.size();
  stats.passivations = shared.passivations.load();
  stats.restarts = shared.restarts.load();
  stats.queue_depth = shared.queued.load();
  stats.queue_capacity = shared.queue_capacity.load();
  stats.reports_applied = shared.reports_applied.load();
  stats.reports_lost = shared.reports_lost.load();
  stats.events_evicted = impl_->journal->evicted();
  stats.freshness = &shared.freshness;
  return stats;
}

bool Node::ready() const {
  return impl_->ready;
}

}  // namespace pytheas
