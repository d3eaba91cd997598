#include "actors/group/supervisor.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/common/stray_messages.hpp"
#include "actors/group/supervisor_state.hpp"
#include "actors/storage/store_actor.hpp"
#include "logging/log_fields.hpp"

namespace pytheas {
namespace supervision {

using namespace std::chrono_literals;

void finish_shutdown(Supervisor* self) {
  auto& st = self->state;
  auto records = std::move(st.shutdown_records);
  if (st.store)  // without a state dir there is nowhere to write them
    st.unsaved.for_each([&](GroupRecord&& record) { records.push_back(std::move(record)); });
  auto done = [=]() mutable {
    for (auto& [key, entry] : self->state.groups)
      self->send_exit(entry.actor, caf::exit_reason::user_shutdown);
    if (self->state.store) self->send_exit(self->state.store, caf::exit_reason::user_shutdown);
    self->state.shutdown_promise.deliver(ok_atom::value);
    self->quit();
  };
  if (!st.store || records.empty()) {
    done();
    return;
  }
  auto count = records.size();
  self->request(st.store, caf::infinite, save_atom::value, std::move(records))
      .then(
          [=](saved_atom, const std::vector<std::string>&) mutable {
            spdlog::info("shutdown: state of {} group(s) written", count);
            done();
          },
          [=](const caf::error& error) mutable {
            spdlog::error("shutdown: writing state failed: {}", self->system().render(error));
            done();
          });
}

void start_shutdown(Supervisor* self) {
  auto& st = self->state;
  release_all_kids(self);  // their reports are collected with the rest
  st.shutting_down = true;
  st.outbox.clear();
  flush_all(self);
  st.shutdown_outstanding = st.groups.size();
  if (st.shutdown_outstanding == 0) return finish_shutdown(self);
  // Every group hands its state over and ends, as in a passivation (those
  // already passivating are counted too); on_passivated collects it.
  std::vector<std::string> active;
  for (auto& [key, entry] : st.groups)
    if (!entry.passivating) active.emplace_back(key);
  for (const auto& key : active) passivate(self, key);
}

std::size_t restore_all(Supervisor* self) {
  auto& st = self->state;
  std::size_t restored = 0;
  if (st.reader) {
    std::vector<std::string> corrupt;
    auto entries = st.reader->list(&corrupt);
    for (const auto& problem : corrupt) spdlog::error("state dir: skipped {}", problem);
    for (const auto& entry : entries) {
      if (restored >= st.args.config->max_active_groups) break;
      if (!st.args.config->can_produce(entry.key)) continue;  // grouping changed since
      activate(self, entry.key);
      ++restored;
    }
  }
  for (const auto& key : st.args.config->rule_groups())
    if (!st.groups.count(key)) activate(self, key);
  return restored;
}

/// The actor of group `key` for a test hook, its batch sent first; null if
/// the group is not active.
const caf::actor* hook_target(Supervisor* self, const std::string& key) {
  flush_all(self);
  auto it = self->state.groups.find(key);
  return it == self->state.groups.end() ? nullptr : &it->second.actor;
}

caf::behavior supervisor(Supervisor* self, SupervisorArgs args) {
  tolerate_strays(self);
  auto& st = self->state;
  st.args = std::move(args);
  st.args.shared->queue.set_capacity(st.args.config->report_queue_capacity);
  if (!st.args.state_dir.empty()) {
    st.reader = std::make_unique<StateStore>(st.args.state_dir);
    st.store = spawn_store_actor(self->system(), st.args.state_dir, st.args.on_saved);
  }
  st.group_context = std::make_shared<const GroupContext>(GroupContext{
      st.args.shared, st.args.seed, st.store, st.store ? CheckpointFn{} : st.args.on_saved,
      caf::actor_cast<caf::actor_addr>(self)});
  // Read again for every sweep: a reload may lower passivate_after_s.
  auto sweep_every = [self] {
    const auto& st = self->state;
    return std::chrono::milliseconds(static_cast<long>(
        1000 * std::min(st.args.sweep_interval_s, st.args.config->passivate_after_s / 2)));
  };
  auto checkpoint_every =
      std::chrono::milliseconds(static_cast<long>(1000 * st.args.config->checkpoint_interval_s));
  self->delayed_send(self, sweep_every(), sweep_atom::value);
  // Checkpoints persist (with a state dir) and, on a cluster member, let the
  // groups' homes confirm reports (on_saved) even without one.
  if (st.store || st.args.on_saved)
    self->delayed_send(self, checkpoint_every, checkpoint_atom::value);
  return {
      [=](report_atom, std::string& key, std::string& decision, double score, double accepted_at) {
        on_report(self, key, ReportItem{std::move(decision), score, accepted_at, 0, {}});
      },
      [=](report_atom, std::string& key, std::string& decision, double score, double accepted_at,
          std::uint64_t wal_seq) {  // a report in the write-ahead log
        on_report(self, key, ReportItem{std::move(decision), score, accepted_at, wal_seq, {}});
      },
      [=](ensure_atom, std::string& key) {
        auto& state = self->state;
        if (auto heir = state.redirect.find(key); heir != state.redirect.end()) key = heir->second;
        if (auto* transit = in_transit(state, key))
          transit->wanted = true;  // it starts when its state is here
        else
          ensure(self, key);
        if (self->mailbox().empty()) flush_all(self);
      },
      [=](sweep_atom) {
        flush_all(self);
        if (self->state.shutting_down) return;
        watch_stalls(self);
        sweep(self);
        self->delayed_send(self, sweep_every(), sweep_atom::value);
      },
      [=](checkpoint_atom) {
        flush_all(self);
        auto& state = self->state;
        if (state.shutting_down) return;
        if (state.outbox.empty()) {  // else the last round (or a reload) is still going out
          for (auto& [key, entry] : state.groups)
            if (!entry.passivating)
              state.outbox.emplace_back(entry.actor, caf::make_message(checkpoint_atom::value));
          send_wave(self);
        }
        auto every = std::chrono::milliseconds(
            static_cast<long>(1000 * state.args.config->checkpoint_interval_s));
        self->delayed_send(self, every, checkpoint_atom::value);
      },
      [=](wave_atom) {  // the outbox's next wave
        if (!self->state.shutting_down) send_wave(self);
      },
      [=](reload_atom, LabelConfigPtr& config) { reload(self, std::move(config)); },
      [=](regroup_atom, RegroupNotice& notice) {
        if (notice.rules_changed && !self->state.shutting_down) regroup(self, *notice.regroup);
        return ok_atom::value;  // the learner installs the rules now
      },
      [=](restore_atom) -> std::size_t { return restore_all(self); },
      [=](count_atom) -> std::size_t {
        flush_all(self);
        return self->state.groups.size() - self->state.passivating;
      },
      [=](passivate_atom, const std::string& key) {
        flush_all(self);
        if (self->state.groups.count(key)) passivate(self, key);
      },
      [=](group_failed_atom, const std::string& key, caf::actor_id id, const caf::error& reason) {
        on_failed(self, key, id, reason);
      },
      [=](stall_atom, const std::string& key, double seconds) {
        if (auto* actor = hook_target(self, key)) self->send(*actor, stall_atom::value, seconds);
      },
      [=](crash_atom, const std::string& key) {
        if (auto* actor = hook_target(self, key)) self->send(*actor, crash_atom::value);
      },
      [=](crash_atom, const std::string& key, bool silently) {
        auto* actor = hook_target(self, key);
        if (!actor) return;
        if (!silently) return self->send(*actor, crash_atom::value);
        // An actor that ends without a word (its failure report lost): only
        // the stall watch or a passivation can notice.
        self->send_exit(*actor, caf::exit_reason::kill);
      },
      // Federation (actors/federation/federation.hpp).
      [=](export_atom, const std::string& key) -> caf::result<caf::message> {
        flush_all(self);
        auto& entry = ensure(self, key);
        if (entry.passivating) return caf::make_error(caf::sec::request_receiver_down);
        return self->delegate(entry.actor, export_atom::value);
      },
      [=](report_atom, std::string& key, ReportItem& item) {  // stamped (federation)
        on_report(self, key, std::move(item));
      },
      [=](settle_atom, const std::string& key, std::vector<GroupRecord>& candidates, bool home,
          std::vector<std::string>& unreachable) {
        return settle(self, key, std::move(candidates), home, std::move(unreachable));
      },
      [=](surrender_atom, const std::vector<std::string>& keys) { return surrender(self, keys); },
      [=](copy_atom, const std::string& key) { return copy_state(self, key); },
      [=](replicate_atom, const std::string& key,
          const std::string& confirmer) -> caf::result<caf::message> {
        auto it = self->state.groups.find(key);
        if (it == self->state.groups.end() || it->second.passivating)
          return caf::make_error(caf::sec::request_receiver_down);
        flush(self, it->second);
        return self->delegate(it->second.actor, replicate_atom::value, confirmer);
      },
      [=](shutdown_atom) -> caf::result<ok_atom> {
        auto& state = self->state;
        state.shutdown_promise = self->make_response_promise();
        start_shutdown(self);
        return state.shutdown_promise;
      },
  };
}

}  // namespace supervision

caf::actor spawn_supervisor(caf::actor_system& system, SupervisorArgs args) {
  return system.spawn(supervision::supervisor, std::move(args));
}

}  // namespace pytheas
