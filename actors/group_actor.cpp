#include "actors/group_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <caf/all.hpp>

#include "actors/federation_messages.hpp"
#include "core/errors.hpp"
#include "logging/log_fields.hpp"

namespace pytheas {

namespace {

struct GroupState {
  GroupActorArgs args;
  bool home = false;                ///< this member confirms the group's reports (federation)
  std::string confirmer;            ///< who set the floor (see GroupRecord::confirmer)
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
                     st.args.wal_seq,
                     st.args.marks,
                     st.args.floor,
                     st.confirmer};
}

void publish(GroupActor* self);

/// A group that never applied a report nor took state from anyone.
bool fresh(const GroupState& st) {
  return st.args.slot->reports.load() == 0 && st.args.marks.empty() && st.args.floor.empty();
}

/// Replaces this group's state by `record`'s (its key, its counts and marks).
/// False, with a log line, if the record's policy cannot be restored.
bool take_state(GroupActor* self, const GroupRecord& record, bool inherit_only) {
  auto& st = self->state;
  try {
    st.args.policy = restore_policy(record.policy_state);
  } catch (const CorruptState& e) {
    spdlog::error("group {}: state from {} unusable, keeping ours: {}", st.args.key, record.key,
                  e.what());
    return false;
  }
  if (!inherit_only) {
    st.args.slot->reports.store(record.reports);
    st.args.slot->decisions.store(record.decisions);
    st.args.marks = record.marks;
    st.args.floor = record.floor;
    st.confirmer = record.confirmer;
  }
  st.dirty = true;
  publish(self);
  return true;
}

/// Keeps the newest line of the group's history among its own state and
/// `candidates` (records of this key from other members, or of the group it
/// was split from, to inherit): a candidate wins when its floor (what its
/// home confirmed) is strictly newer than ours, or when this group is fresh.
SettleResult settle(GroupActor* self, const std::vector<GroupRecord>& candidates, bool home,
                    const std::vector<std::string>& unreachable) {
  auto& st = self->state;
  const GroupRecord* best = nullptr;
  const GroupRecord* parent = nullptr;
  bool own_fresh = fresh(st);
  const ReportMarks* best_floor = &st.args.floor;
  for (const auto& candidate : candidates) {
    if (candidate.key != st.args.key) {
      if (!parent) parent = &candidate;
      continue;
    }
    const bool newer = candidate.floor.dominates(*best_floor) && !(candidate.floor == *best_floor);
    const bool fills = own_fresh && !best && candidate.reports > 0;
    if (newer || fills) {
      best = &candidate;
      best_floor = &candidate.floor;
    }
  }
  SettleResult result;
  if (best) {
    result.took_state = take_state(self, *best, false);
    result.rebased = result.took_state && !own_fresh;
    if (result.rebased)
      spdlog::info("group {}: state replaced by a newer copy ({} reports, floor {})", st.args.key,
                   best->reports, best->floor.describe());
  } else if (parent && own_fresh) {
    if (take_state(self, *parent, true))
      log_event(spdlog::level::debug, LogFields{.group = st.args.key},
                "group starts from the state of {}", parent->key);
  }
  // Confirming as the home is safe only if whoever confirmed this history
  // last has given the group up (it answered); else both could confirm.
  const bool confirmer_gone =
      std::find(unreachable.begin(), unreachable.end(), st.confirmer) != unreachable.end();
  st.home = home && !confirmer_gone;
  result.confirming = st.home;
  result.marks = st.args.marks;
  return result;
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
  std::uint64_t duplicates = 0;
  for (const auto& item : batch) {
    if (st.args.marks.covers(item.stamp)) {
      ++duplicates;  // sent again after a move of state or ownership: already in
      continue;
    }
    st.args.marks.advance(item.stamp);
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
  if (duplicates)
    st.args.shared->reports_duplicate.fetch_add(duplicates, std::memory_order_relaxed);
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
        if (!st.dirty || (!st.args.store && !st.args.on_checkpoint)) return;
        if (st.args.store)
          self->send(st.args.store, save_atom::value, make_record(st));
        else
          st.args.on_checkpoint({make_record(st)});
        st.dirty = false;
      },
      [=](collect_atom) -> GroupRecord {
        auto& st = self->state;
        if (!st.unpublished.empty()) publish(self);
        st.dirty = false;
        return make_record(st);
      },
      [=](replicate_atom, const std::string& confirmer) -> GroupRecord {
        // The copy for the group's standby: once it holds it, the home
        // confirms what it includes, so this is the new floor.
        auto& st = self->state;
        if (!st.unpublished.empty()) publish(self);
        if (st.home) {
          st.args.floor = st.args.marks;
          st.confirmer = confirmer;
        }
        return make_record(st);
      },
      [=](export_atom) -> GroupRecord {  // a copy for subscribers; not a checkpoint
        auto& st = self->state;
        if (!st.unpublished.empty()) publish(self);
        return make_record(st);
      },
      [=](settle_atom, const std::vector<GroupRecord>& candidates, bool home,
          const std::vector<std::string>& unreachable) -> SettleResult {
        return settle(self, candidates, home, unreachable);
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
