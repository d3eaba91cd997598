#include "actors/group_actor.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/federation_messages.hpp"
#include "core/errors.hpp"

namespace pytheas {

namespace {

struct GroupState {
  GroupActorArgs args;
  bool dirty = false;               ///< changed since the last checkpoint
  std::vector<double> unpublished;  ///< accept times of applied, unpublished reports
  static inline const char* name = "pytheas.group";
};

using GroupActor = caf::stateful_actor<GroupState>;

GroupRecord make_record(const GroupState& st) {
  const auto& slot = *st.args.slot;
  return GroupRecord{st.args.key,
                     slot.decisions.load(),
                     slot.reports.load(),
                     static_cast<double>(slot.last_activity.load()),
                     st.args.policy->serialize(),
                     st.args.wal_seq};
}

void publish(GroupActor* self) {
  auto& st = self->state;
  const double now = wall_seconds();
  st.args.slot->snapshot.store(st.args.policy->snapshot(now));
  for (double accepted : st.unpublished) st.args.shared->freshness.record(now - accepted);
  st.unpublished.clear();
  // A burst can grow this to kPublishEvery entries; don't keep that per group.
  if (st.unpublished.capacity() > 16) std::vector<double>().swap(st.unpublished);
}

void apply(GroupActor* self, std::vector<ReportItem>& batch) {
  auto& st = self->state;
  std::uint64_t applied = 0;
  for (const auto& item : batch) {
    // Reports arrive in log order; even a rejected one is "included" (a replay
    // would reject it again), and the new sequence makes the state worth saving.
    if (item.wal_seq > st.args.wal_seq) {
      st.args.wal_seq = item.wal_seq;
      st.dirty = true;
    }
    try {
      st.args.policy->update(Outcome{item.decision, item.score, wall_seconds(), {}});
      ++applied;
      st.unpublished.push_back(item.accepted_at);
    } catch (const InvalidInput& e) {
      // Ingress validates scores and decisions, so this is a bug worth a log line.
      spdlog::warn("group {}: report rejected by policy: {}", st.args.key, e.what());
    }
  }
  st.dirty = st.dirty || applied > 0;
  auto& slot = *st.args.slot;
  slot.reports.fetch_add(applied, std::memory_order_relaxed);
  slot.touch(static_cast<std::int64_t>(wall_seconds()));
  if (self->mailbox().empty() || st.unpublished.size() >= kPublishEvery) publish(self);
  // Release only after the snapshot is visible, so "queue empty" implies
  // "every accepted report is in a published snapshot or about to be".
  slot.pending.fetch_sub(batch.size(), std::memory_order_relaxed);
  st.args.shared->reports_applied.fetch_add(applied, std::memory_order_relaxed);
  st.args.shared->release(batch.size());
}

caf::behavior group_actor(GroupActor* self, GroupActorArgs args) {
  self->state.args = std::move(args);  // the supervisor already published its first snapshot
  return {
      [=](report_atom, std::vector<ReportItem>& batch) { apply(self, batch); },
      [=](checkpoint_atom) {
        auto& st = self->state;
        if (!st.unpublished.empty()) publish(self);
        if (!st.dirty || !st.args.store) return;
        self->send(st.args.store, save_atom::value, make_record(st));
        st.dirty = false;
      },
      [=](collect_atom) -> GroupRecord {
        auto& st = self->state;
        if (!st.unpublished.empty()) publish(self);
        st.dirty = false;
        return make_record(st);
      },
      [=](export_atom) -> GroupRecord {  // a copy for subscribers; not a checkpoint
        auto& st = self->state;
        if (!st.unpublished.empty()) publish(self);
        return make_record(st);
      },
      [=](adopt_atom, const GroupRecord& record) {
        auto& st = self->state;
        try {
          st.args.policy = restore_policy(record.policy_state);
        } catch (const CorruptState& e) {
          spdlog::error("group {}: adopted state unusable, keeping ours: {}", st.args.key,
                        e.what());
          return;
        }
        st.args.slot->reports.store(record.reports);
        st.args.slot->decisions.store(record.decisions);
        st.dirty = true;
        publish(self);
      },
      [=](passivate_atom) -> GroupRecord {
        auto& st = self->state;
        auto record = make_record(st);
        self->quit();
        return record;
      },
      [=](reload_atom, const LabelConfigPtr& config) {
        auto& st = self->state;
        const auto& wanted = config->policy_for(st.args.key);
        if (wanted == st.args.policy->config()) return;
        spdlog::info("group {}: policy changed to {}; learning restarts", st.args.key, wanted.kind);
        st.args.policy =
            make_policy(std::shared_ptr<const PolicyConfig>(config, &wanted), st.args.seed);
        st.dirty = true;
        publish(self);
      },
      [=](crash_atom) -> caf::result<void> {
        throw std::runtime_error("injected crash (test hook)");
      },
  };
}

}  // namespace

caf::actor spawn_group_actor(caf::event_based_actor* parent, GroupActorArgs args) {
  return parent->spawn<caf::monitored>(group_actor, std::move(args));
}

}  // namespace pytheas
