#include "actors/group/group_actor.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <caf/all.hpp>
#include <thread>

#include "actors/common/federation_messages.hpp"
#include "core/errors.hpp"
#include "logging/log_fields.hpp"

namespace pytheas {

namespace {

struct GroupState {
  GroupActorArgs args;
  bool home = false;                ///< this member confirms the group's reports (federation)
  bool dirty = false;               ///< changed since the last checkpoint
  std::vector<double> unpublished;  ///< accept times of applied, unpublished reports
  const std::string& key() const { return args.slot->key; }  // one copy, in the slot
  /// The group's marks, allocated on first use.
  GroupMarks& marks() {
    if (!args.marks) args.marks = std::make_unique<GroupMarks>();
    return *args.marks;
  }
  /// The group's marks to read: empty ones if it has none (none allocated).
  const GroupMarks& marks_or_none() const {
    static const GroupMarks kNone;
    return args.marks ? *args.marks : kNone;
  }
  static inline const char* name = "pytheas.group";
};

using GroupActor = caf::stateful_actor<GroupState>;

GroupRecord make_record(const GroupState& st) {
  const auto& slot = *st.args.slot;
  const GroupMarks& marks = st.marks_or_none();
  const double now = monotonic_seconds();
  GroupRecord record{st.key(),
                     slot.decisions.load(),
                     slot.reports.load(),
                     wall_from_monotonic(static_cast<double>(slot.last_activity.load())),
                     st.args.policy->serialize(now),
                     st.args.wal_seq,
                     marks.marks,
                     marks.floor,
                     marks.confirmer};
  record.written_at = now;
  return record;
}

void publish(GroupActor* self);

/// A group that never applied a report nor took state from anyone.
bool fresh(const GroupState& st) {
  return st.args.slot->reports.load() == 0 && st.marks_or_none().marks.empty() &&
         st.marks_or_none().floor.empty();
}

/// Replaces this group's state by `record`'s (its key, its counts and marks).
/// False, with a log line, if the record's policy cannot be restored.
bool take_state(GroupActor* self, const GroupRecord& record, bool inherit_only) {
  auto& st = self->state;
  try {
    // Another group's state (a parent's) is a prior, not data of this group.
    st.args.policy = inherit_only ? inherit_policy(record.policy_state, record.written_at)
                                  : restore_policy(record.policy_state, record.written_at);
  } catch (const CorruptState& e) {
    spdlog::error("group {}: state from {} unusable, keeping ours: {}", st.key(), record.key,
                  e.what());
    return false;
  }
  if (!inherit_only) {
    st.args.slot->reports.store(record.reports);
    st.args.slot->decisions.store(record.decisions);
    if (st.args.marks || !record.marks.empty() || !record.floor.empty() ||
        !record.confirmer.empty())
      st.marks() = GroupMarks{record.marks, record.floor, record.confirmer};
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
  const ReportMarks* best_floor = &st.marks_or_none().floor;
  for (const auto& candidate : candidates) {
    if (candidate.key != st.key()) {
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
  spdlog::debug("group {}: settling from {} candidate(s), own state {} report(s){}", st.key(),
                candidates.size(), st.args.slot->reports.load(), own_fresh ? " (fresh)" : "");
  SettleResult result;
  if (best) {
    result.took_state = take_state(self, *best, false);
    result.rebased = result.took_state && !own_fresh;
    if (result.rebased)
      spdlog::info("group {}: state replaced by a newer copy ({} reports, floor {})", st.key(),
                   best->reports, best->floor.describe());
  } else if (parent && own_fresh) {
    if (take_state(self, *parent, true))
      log_event(spdlog::level::debug, LogFields{.group = st.key()},
                "group starts from the state of {}", parent->key);
  }
  // Confirming as the home is safe only if whoever confirmed this history
  // last has given the group up (it answered); else both could confirm.
  // (take_state may have replaced our marks: read them again.)
  const GroupMarks& now = st.marks_or_none();
  const bool confirmer_gone =
      std::find(unreachable.begin(), unreachable.end(), now.confirmer) != unreachable.end();
  st.home = home && !confirmer_gone;
  result.confirming = st.home;
  result.marks = now.marks;
  return result;
}

void publish(GroupActor* self) {
  auto& st = self->state;
  const double now = monotonic_seconds();
  st.args.slot->snapshot.store(st.args.policy->snapshot(now));
  for (double accepted : st.unpublished) st.args.context->shared->freshness.record(now - accepted);
  // Released, not just cleared: an idle group should hold no buffer (one
  // allocation per published batch is cheap next to the snapshot's two).
  std::vector<double>().swap(st.unpublished);
}

void apply(GroupActor* self, std::vector<ReportItem>& batch) {
  auto& st = self->state;
  std::uint64_t applied = 0;
  std::uint64_t duplicates = 0;
  for (const auto& item : batch) {
    if (item.stamp.stamped()) {  // a cluster member's report
      auto& marks = st.marks().marks;
      if (marks.covers(item.stamp)) {
        ++duplicates;  // sent again after a move of state or ownership: already in
        continue;
      }
      marks.advance(item.stamp);
    }
    // Reports arrive in log order; even a rejected one is "included" (a replay
    // would reject it again), and the new sequence makes the state worth saving.
    if (item.wal_seq > st.args.wal_seq) {
      st.args.wal_seq = item.wal_seq;
      st.dirty = true;
    }
    try {
      st.args.policy->update(Outcome{item.decision, item.score, monotonic_seconds(), {}});
      ++applied;
      st.unpublished.push_back(item.accepted_at);
    } catch (const InvalidInput& e) {
      // Ingress validates scores and decisions, so this is a bug worth a log line.
      spdlog::warn("group {}: report rejected by policy: {}", st.key(), e.what());
    }
  }
  st.dirty = st.dirty || applied > 0;
  if (duplicates) spdlog::debug("group {}: skipped {} duplicate report(s)", st.key(), duplicates);
  if (duplicates)
    st.args.context->shared->reports_duplicate.fetch_add(duplicates, std::memory_order_relaxed);
  auto& slot = *st.args.slot;
  slot.reports.fetch_add(applied, std::memory_order_relaxed);
  slot.touch(static_cast<std::int64_t>(monotonic_seconds()));
  if (self->mailbox().empty() || st.unpublished.size() >= kPublishEvery) publish(self);
  // Release only after the snapshot is visible, so "queue empty" implies
  // "every accepted report is in a published snapshot or about to be".
  slot.pending.fetch_sub(batch.size(), std::memory_order_relaxed);
  st.args.context->shared->reports_applied.fetch_add(applied, std::memory_order_relaxed);
  st.args.context->shared->queue.release(batch.size());
}

GroupRecord take_record(GroupActor* self) {  // export: the state the snapshot shows
  auto& st = self->state;
  if (!st.unpublished.empty()) publish(self);
  return make_record(st);
}

void checkpoint(GroupActor* self) {
  auto& st = self->state;
  if (!st.unpublished.empty()) publish(self);
  const auto& context = *st.args.context;
  if (!st.dirty || (!context.store && !context.on_checkpoint)) return;
  if (context.store)
    self->send(context.store, save_atom::value, make_record(st));
  else
    context.on_checkpoint({make_record(st)});
  st.dirty = false;
}

/// The copy for the group's standby: once it holds it, the home confirms
/// what it includes, so this is the new floor.
GroupRecord replicate(GroupActor* self, const std::string& confirmer) {
  auto& st = self->state;
  if (!st.unpublished.empty()) publish(self);
  if (st.home) {
    auto& marks = st.marks();
    marks.floor = marks.marks;
    marks.confirmer = confirmer;
  }
  return make_record(st);
}

void reload(GroupActor* self, const LabelConfigPtr& config) {
  auto& st = self->state;
  const auto& wanted = config->policy_for(st.key());
  if (wanted == st.args.policy->config()) return;
  spdlog::info("group {}: policy changed to {}; learning restarts", st.key(), wanted.kind);
  st.args.policy = make_policy(std::shared_ptr<const PolicyConfig>(config, &wanted),
                               st.args.context->seed ^ hash_decision(st.key()));
  st.dirty = true;
  publish(self);
}

template <class Atom>
bool is(const caf::type_erased_tuple& xs, Atom) {
  return xs.get_as<caf::atom_value>(0) == Atom::value;
}

// Every message reaches a group actor through this default handler. Group
// actors share one behavior (below) instead of each building its own,
// because CAF 0.17 allocates a behavior per actor, ~40 bytes per handler, and
// 100k groups would pay ~40 MB for it. Messages and replies are those of a
// behavior with one handler per message:
//   (report_atom, vector<ReportItem>)  apply the batch
//   (checkpoint_atom)                  save if changed
//   (export_atom) -> GroupRecord       a copy for subscribers; not a checkpoint
//   (replicate_atom, confirmer) -> GroupRecord   a copy for the standby (new floor)
//   (settle_atom, candidates, home, unreachable) -> SettleResult
//                                      keep the newest of our state and candidates
//   (passivate_atom) -> GroupRecord    hand state over, then quit (passivation, node stop)
//   (reload_atom, LabelConfigPtr)      new label config
//   (crash_atom)                       test hook: throw
caf::result<caf::message> dispatch(caf::scheduled_actor* base, caf::message_view& view) {
  auto* self = static_cast<GroupActor*>(base);
  auto& xs = view.content();
  using Batch = std::vector<ReportItem>;
  if (xs.match_elements<caf::atom_value, Batch>() && is(xs, report_atom{})) {
    if (xs.shared()) {  // never in practice: each batch is sent to one actor
      auto batch = xs.get_as<Batch>(1);
      apply(self, batch);
    } else {
      apply(self, xs.get_mutable_as<Batch>(1));
    }
    return caf::message{};
  }
  if (xs.match_elements<caf::atom_value>()) {
    if (is(xs, checkpoint_atom{})) {
      checkpoint(self);
      return caf::message{};
    }
    if (is(xs, export_atom{})) return caf::make_message(take_record(self));
    if (is(xs, passivate_atom{})) {
      auto record = make_record(self->state);
      self->quit();
      return caf::make_message(std::move(record));
    }
    if (is(xs, crash_atom{})) throw std::runtime_error("injected crash (test hook)");
    if (is(xs, ping_atom{})) return caf::make_message(ok_atom::value);
  }
  if (xs.match_elements<caf::atom_value, double>() && is(xs, stall_atom{})) {
    // Test hook: a handler that blocks its scheduler thread (the stall watch's test).
    std::this_thread::sleep_for(std::chrono::duration<double>(xs.get_as<double>(1)));
    return caf::message{};
  }
  if (xs.match_elements<caf::atom_value, std::string>() && is(xs, replicate_atom{}))
    return caf::make_message(replicate(self, xs.get_as<std::string>(1)));
  using Records = std::vector<GroupRecord>;
  using Names = std::vector<std::string>;
  if (xs.match_elements<caf::atom_value, Records, bool, Names>() && is(xs, settle_atom{}))
    return caf::make_message(
        settle(self, xs.get_as<Records>(1), xs.get_as<bool>(2), xs.get_as<Names>(3)));
  if (xs.match_elements<caf::atom_value, LabelConfigPtr>() && is(xs, reload_atom{})) {
    reload(self, xs.get_as<LabelConfigPtr>(1));
    return caf::message{};
  }
  // A stray: answer a request with the error, drop anything else with a log
  // line. Never answer a plain message with an error: an error outside any
  // request used to stop its receiver (actors/common/stray_messages.hpp).
  if (self->current_message_id().is_request()) return caf::sec::unexpected_message;
  spdlog::warn("group {}: unexpected message {} dropped", self->state.key(), caf::to_string(xs));
  return caf::message{};
}

/// A message nobody sends: the one handler of the shared behavior, which only
/// keeps group actors alive (an actor without a behavior terminates).
using unused_atom = caf::atom_constant<caf::atom("grpunused")>;

/// An exception escaped a handler: tell the supervisor (it restarts the
/// group from its last persisted state), then end with the reason.
caf::error on_failure(caf::scheduled_actor* base, std::exception_ptr& failure) {
  auto* self = static_cast<GroupActor*>(base);
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  auto reason = caf::make_error(caf::sec::runtime_error, what);
  if (auto supervisor = caf::actor_cast<caf::actor>(self->state.args.context->supervisor))
    self->send(supervisor, group_failed_atom::value, self->state.key(), self->id(), reason);
  return reason;
}

caf::behavior group_actor(GroupActor* self, GroupActorArgs args) {
  self->state.args = std::move(args);  // the supervisor already published its first snapshot
  self->set_default_handler(dispatch);
  self->set_exception_handler(on_failure);
  // An error outside any request is logged, never fatal (stray_messages.hpp).
  self->set_error_handler([](caf::scheduled_actor* base, caf::error& error) {
    spdlog::warn("group {}: error outside any request ignored: {}",
                 static_cast<GroupActor*>(base)->state.key(), base->system().render(error));
  });
  // Immutable and stateless (its handler captures nothing), so every group
  // actor can hold a reference to the same one.
  static const caf::behavior shared{[](unused_atom) {}};
  return shared;
}

}  // namespace

caf::actor spawn_group_actor(caf::event_based_actor* parent, GroupActorArgs args) {
  return parent->spawn(group_actor, std::move(args));
}

}  // namespace pytheas
