#include "actors/group/supervisor_state.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/common/clock.hpp"
#include "actors/storage/store_actor.hpp"
#include "core/decision_snapshot.hpp"
#include "core/errors.hpp"
#include "logging/log_fields.hpp"

namespace pytheas::supervision {

using namespace std::chrono_literals;

std::int64_t now_s() {
  return static_cast<std::int64_t>(monotonic_seconds());
}

void flush(Supervisor* self, Entry& entry) {
  if (entry.batch.empty() || entry.passivating) return;
  const auto pending = entry.slot->pending.fetch_add(entry.batch.size(), std::memory_order_relaxed);
  self->send(entry.actor, report_atom::value, std::move(entry.batch));
  entry.batch = {};
  if (!entry.watched) {  // watched until it has applied all it was sent (watch_stalls)
    entry.watched = true;
    self->state.watched.insert_or_assign(
        entry.key(), SupervisorState::Watched{entry.slot->reports.load(std::memory_order_relaxed),
                                              pending, monotonic_seconds()});
  }
}

void flush_all(Supervisor* self) {
  auto& st = self->state;
  for (const auto& key : st.to_flush) {
    auto it = st.groups.find(key);
    if (it != st.groups.end()) flush(self, it->second);
  }
  st.to_flush.clear();
}

// Reports wait in their group's batch until the supervisor's mailbox is
// empty (one message per group for a burst), but no longer than this while
// the mailbox stays busy (a wave of passivations, say).
constexpr auto kMaxBatchDelay = 1ms;

void flush_if_due(Supervisor* self) {
  auto& st = self->state;
  if (st.to_flush.empty()) return;
  if (self->mailbox().empty() || st.to_flush.size() >= 4096 ||
      std::chrono::steady_clock::now() - st.batching_since >= kMaxBatchDelay)
    flush_all(self);
}

void touch_lru(SupervisorState& st, Entry& entry) {
  st.lru.move_to_front(entry);
  entry.lru_time = entry.slot->last_activity.load(std::memory_order_relaxed);
}

/// Loads the last persisted state of `key`: the unsaved cache first, then the
/// disk. A corrupt file is logged and set aside; the group starts fresh.
std::optional<GroupRecord> persisted_state(SupervisorState& st, const std::string& key) {
  try {
    if (auto record = st.unsaved.get(key)) return record;
    if (!st.reader) return std::nullopt;
    return st.reader->load(key);
  } catch (const std::exception& e) {
    spdlog::error("group {}: persisted state unusable, starting fresh: {}", key, e.what());
    return std::nullopt;
  }
}

std::unique_ptr<Policy> make_group_policy(SupervisorState& st, const std::string& key,
                                          const std::optional<GroupRecord>& record) {
  const auto& wanted = st.args.config->policy_for(key);
  // Groups share their policy settings with the label config (no copy per group).
  std::shared_ptr<const PolicyConfig> settings(st.args.config, &wanted);
  if (record) {
    try {
      auto restored = restore_policy(record->policy_state, record->written_at, settings);
      if (restored->config() == wanted) {
        restored->share_arm_names(*st.arm_names);
        return restored;
      }
      spdlog::info("group {}: persisted policy differs from the label config; learning restarts",
                   key);
    } catch (const CorruptState& e) {
      spdlog::error("group {}: persisted policy unusable, starting fresh: {}", key, e.what());
    }
  }
  auto fresh = make_policy(std::move(settings), st.args.seed ^ hash_decision(key));
  fresh->share_arm_names(*st.arm_names);
  return fresh;
}

void enforce_cap(Supervisor* self) {
  auto& st = self->state;
  const auto cap = st.args.config->max_active_groups;
  // The LRU list holds exactly the active, non-passivating groups. Second
  // chance: a group whose slot saw decisions since it was last moved to the
  // front goes to the front again instead of being evicted.
  for (std::size_t looked = 0; st.lru.size() > cap && looked < 2 * st.lru.size(); ++looked) {
    auto& entry = *st.lru.back();
    if (entry.slot->last_activity.load(std::memory_order_relaxed) > entry.lru_time) {
      touch_lru(st, entry);
      continue;
    }
    passivate(self, entry.key());
  }
}

/// A new group's first state after a regroup: its parent's policy as a
/// prior (inherited_policy_state: a few observations per arm), with counts
/// and marks of its own (they start at zero).
std::optional<GroupRecord> inherited_state(SupervisorState& st, const std::string& key) {
  std::optional<GroupRecord> parent;
  if (auto it = st.inherit.find(key); it != st.inherit.end()) {
    parent = std::move(it->second);
    st.inherit.erase(it);
  } else if (auto from = st.inherit_from.find(key); from != st.inherit_from.end()) {
    parent = persisted_state(st, from->second);
    st.inherit_from.erase(from);
  }
  if (!parent) return std::nullopt;
  GroupRecord record;
  record.key = key;
  try {  // the parent's estimates as a prior, not as data
    record.policy_state = inherited_policy_state(parent->policy_state, parent->written_at);
    record.written_at = parent->written_at;
  } catch (const CorruptState& e) {
    spdlog::error("group {}: parent {} state unusable, starting fresh: {}", key, parent->key,
                  e.what());
    return std::nullopt;
  }
  ++st.inherited;
  return record;
}

Entry& activate(Supervisor* self, const std::string& key, std::optional<GroupRecord> record) {
  auto& st = self->state;
  if (!record) record = persisted_state(st, key);
  if (!record && (!st.inherit.empty() || !st.inherit_from.empty()))
    record = inherited_state(st, key);
  // An entry that comes back (from passivation or a crash) keeps its slot:
  // the maps are keyed by the slot's key.
  auto existing = st.groups.find(key);
  auto slot = existing != st.groups.end() ? st.args.shared->table.insert(existing->second.slot)
                                          : st.args.shared->table.insert(key);
  if (record) {
    slot->decisions.store(record->decisions);
    slot->reports.store(record->reports);
  }
  slot->touch(now_s());
  auto policy = make_group_policy(st, key, record);
  // Publish before the actor runs, so that a restored group serves decisions
  // from its own state as soon as the restore request is answered.
  slot->snapshot.store(policy->snapshot(monotonic_seconds()));
  GroupActorArgs args;
  args.slot = slot;
  args.policy = std::move(policy);
  if (record) {
    args.wal_seq = record->wal_seq;
    if (!record->marks.empty() || !record->floor.empty())
      args.marks = std::make_unique<GroupMarks>(GroupMarks{record->marks, record->floor, {}});
  }
  args.context = st.group_context;
  auto actor = spawn_group_actor(self, std::move(args));
  const bool inserted = existing == st.groups.end();
  auto& entry = inserted ? st.groups.try_emplace(std::string_view(slot->key)).first->second
                         : existing->second;
  if (inserted || entry.passivating) st.lru.push_front(entry);
  if (entry.passivating) --st.passivating;
  entry.actor = actor;
  entry.slot = slot;
  entry.passivating = false;
  touch_lru(st, entry);
  st.args.shared->spawns.fetch_add(1, std::memory_order_relaxed);
  log_event(spdlog::level::debug, LogFields{.group = key}, "group activated{}",
            record ? " from its persisted state" : "");
  enforce_cap(self);
  return st.groups.at(key);
}

Entry& ensure(Supervisor* self, const std::string& key) {
  auto& st = self->state;
  auto it = st.groups.find(key);
  if (it != st.groups.end()) return it->second;
  return activate(self, key);
}

void remember_unsaved(Supervisor* self, const GroupRecord& record) {
  auto& st = self->state;
  const auto stamp = st.unsaved.put(record);
  if (!st.store) {  // no state dir: the memory copy is the passivated state
    if (st.args.on_saved) st.args.on_saved({record});
    return;
  }
  self->request(st.store, caf::infinite, save_atom::value, std::vector<GroupRecord>{record})
      .then(
          [=, key = record.key](saved_atom, const std::vector<std::string>&) {
            // Unless a newer state of the group was passivated meanwhile.
            self->state.unsaved.erase_if_stamp(key, stamp);
          },
          [=, key = record.key](const caf::error& error) {
            spdlog::error("group {}: passivated state not written ({}); kept in memory", key,
                          self->system().render(error));
          });
}

/// Reports held for `key` that will never be applied: freed from the queue,
/// counted lost and logged, never dropped in silence.
void give_up(Supervisor* self, const std::string& key, std::size_t reports, const char* why) {
  self->state.args.shared->queue.release(reports);
  self->state.args.shared->reports_lost.fetch_add(reports, std::memory_order_relaxed);
  log_event(spdlog::level::err, LogFields{.group = key}, "group {}: {} held report(s) lost: {}",
            key, reports, why);
}

/// Holds group `key` until its state arrives (see Transit).
Transit& hold(SupervisorState& st, const std::string& key, Transit::Awaits awaits) {
  auto& transit = st.transit[key];
  transit.awaits = awaits;
  return transit;
}

/// Group `key` while its state is on its way; null when it is not in transit.
Transit* in_transit(SupervisorState& st, const std::string& key) {
  if (st.transit.empty()) return nullptr;
  auto it = st.transit.find(key);
  return it == st.transit.end() ? nullptr : &it->second;
}

/// Group `key`'s state is here (or will not come): what was held for it,
/// taken out of transit (nullopt when it was not in transit).
std::optional<Transit> arrive(Supervisor* self, const std::string& key) {
  auto node = self->state.transit.extract(key);
  if (node.empty()) return std::nullopt;
  const auto& transit = node.mapped();
  if (transit.stalled)
    log_event(spdlog::level::warn, LogFields{.group = key},
              "group {}: applies reports again after {:.1f} s", key,
              monotonic_seconds() - transit.holding_since);
  return std::move(node.mapped());
}

/// Runs the requests that waited for a group's state.
void run_waiting(std::optional<Transit>& transit) {
  if (!transit) return;
  auto waiting = std::move(transit->on_arrival);
  for (auto& request : waiting) request();
}

void on_passivated(Supervisor* self, const std::string& key, GroupRecord& record) {
  auto& st = self->state;
  auto it = st.groups.find(key);
  if (it == st.groups.end()) return;
  auto transit = arrive(self, key);
  const std::size_t held = transit ? transit->reports.size() : 0;
  if (st.shutting_down) {  // collected for the stop's one write
    if (held) {
      // Reports came while its state was on its way (the node drains its
      // queue before it stops, but a late one may still come): apply them
      // and collect the group again, as a passivation that comes back would.
      // It stays counted in shutdown_outstanding; its actor applies the
      // batch before it hands its state over.
      auto& revived = activate(self, key, std::move(record));
      revived.batch = std::move(transit->reports);
      passivate(self, key);
      run_waiting(transit);
      return;
    }
    st.shutdown_records.push_back(std::move(record));
    --st.passivating;
    st.groups.erase(it);
    if (--st.shutdown_outstanding == 0) finish_shutdown(self);
    return;
  }
  st.args.shared->passivations.fetch_add(1, std::memory_order_relaxed);
  log_event(spdlog::level::debug, LogFields{.group = key}, "group passivated");
  remember_unsaved(self, record);
  if (transit && transit->holds()) {
    // Reports (or decisions) arrived meanwhile: come straight back, state in hand.
    auto& revived = activate(self, key, std::move(record));
    revived.batch = std::move(transit->reports);
    flush(self, revived);
  } else {
    --st.passivating;
    st.groups.erase(it);
  }
  run_waiting(transit);
}

/// Sends queued passivations while fewer than kPassivationsInFlight are in
/// flight (kWave when the node stops: no report waits behind them then);
/// resumes an unfinished sweep once the queue is empty.
void send_passivations(Supervisor* self) {
  auto& st = self->state;
  const auto limit = st.shutting_down ? kWave : kPassivationsInFlight;
  while (st.passivations_in_flight < limit && !st.to_passivate.empty()) {
    auto next = std::move(st.to_passivate.front());
    st.to_passivate.pop_front();
    auto it = st.groups.find(next.key);
    if (it == st.groups.end() || !it->second.passivating || it->second.actor.id() != next.actor) {
      if (next.done) next.done(nullptr);  // its actor failed meanwhile (see on_failed)
      continue;
    }
    ++st.passivations_in_flight;
    self->request(it->second.actor, caf::infinite, passivate_atom::value)
        .then(
            [=, key = next.key, done = next.done](GroupRecord& record) {
              --self->state.passivations_in_flight;
              if (done) done(&record);
              on_passivated(self, key, record);
              send_passivations(self);
              flush_if_due(self);
            },
            [=, key = next.key, actor = next.actor, done = next.done](const caf::error& error) {
              --self->state.passivations_in_flight;
              if (done) done(nullptr);
              // A crash reports itself (group_failed_atom); an actor that
              // ended without a word would leave the group passivating, its
              // reports held, for ever. on_failed ignores a second call.
              on_failed(self, key, actor, error);
              send_passivations(self);
            });
  }
  if (st.to_passivate.empty() && st.sweep_unfinished && !st.shutting_down) {
    st.sweep_unfinished = false;
    sweep(self);
  }
}

/// From now on the group is passivating: it serves no decisions (they fall
/// back and ask for it back), reports to it are held, and its actor is asked
/// for its state once fewer than kPassivationsInFlight are in flight.
void passivate(Supervisor* self, const std::string& key, PassivatedFn done) {
  auto& st = self->state;
  auto& entry = st.groups.at(key);
  if (entry.passivating) return;
  flush(self, entry);
  entry.passivating = true;
  hold(st, key, Transit::Awaits::own_state);
  ++st.passivating;
  st.lru.erase(entry);
  st.args.shared->table.erase(key);  // decisions fall back (and ask us back) meanwhile
  st.to_passivate.push_back({key, entry.actor.id(), std::move(done)});
  send_passivations(self);
}

void on_report(Supervisor* self, std::string& key, ReportItem item) {
  auto& st = self->state;
  if (!st.redirect.empty())
    if (auto heir = st.redirect.find(key); heir != st.redirect.end()) key = heir->second;
  if (auto* transit = in_transit(st, key)) {
    transit->reports.push_back(std::move(item));
    return;
  }
  if (st.shutting_down) {
    // Every group it knew is passivating (in transit, above). A group that
    // reports reach only now is started with them and collected with the
    // rest; once every state is collected and being written, it is too late.
    if (st.shutdown_outstanding == 0)
      return give_up(self, key, 1, "it came after the stop collected every group's state");
    const bool known = st.groups.count(key) > 0;
    std::optional<GroupRecord> collected;  // it may have been collected already (rare: a scan)
    if (!known) {
      auto& records = st.shutdown_records;
      auto it = std::find_if(records.begin(), records.end(),
                             [&](const GroupRecord& record) { return record.key == key; });
      if (it != records.end()) {
        collected = std::move(*it);
        records.erase(it);
      }
    }
    auto& entry = known ? st.groups.find(key)->second : activate(self, key, std::move(collected));
    entry.batch.push_back(std::move(item));
    if (!known) ++st.shutdown_outstanding;
    passivate(self, key);
    return;
  }
  auto& entry = ensure(self, key);
  if (entry.batch.empty()) {
    if (st.to_flush.empty()) st.batching_since = std::chrono::steady_clock::now();
    st.to_flush.push_back(key);
  }
  entry.batch.push_back(std::move(item));
  entry.slot->touch(now_s());
  touch_lru(st, entry);
  flush_if_due(self);
}

/// Group `key`'s actor `failed_id` threw (see spawn_group_actor): restart it.
void on_failed(Supervisor* self, const std::string& key, caf::actor_id failed_id,
               const caf::error& reason) {
  auto& st = self->state;
  auto it = st.groups.find(key);
  if (it == st.groups.end() || it->second.actor.id() != failed_id) return;  // replaced already
  auto& entry = it->second;
  // Reports routed to the dead actor and not applied are lost; say so loudly.
  auto lost = entry.slot->pending.exchange(0);
  st.args.shared->queue.release(lost);
  st.args.shared->reports_lost.fetch_add(lost, std::memory_order_relaxed);
  st.args.shared->restarts.fetch_add(1, std::memory_order_relaxed);
  log_event(spdlog::level::err, LogFields{.group = key},
            "group {}: actor failed ({}); restarting from its last persisted state; "
            "{} unapplied report(s) lost",
            key, self->system().render(reason), lost);
  // It was passivating: its last persisted state is the one to come.
  auto transit = entry.passivating ? arrive(self, key) : std::nullopt;
  if (st.shutting_down && entry.passivating) {
    if (transit && !transit->reports.empty())
      give_up(self, key, transit->reports.size(), "its actor failed at stop");
    --st.passivating;  // requests that waited are dropped with the entry, as ever
    st.groups.erase(it);
    if (--st.shutdown_outstanding == 0) finish_shutdown(self);
    return;
  }
  auto batch = std::move(entry.batch);
  auto& revived = activate(self, key);
  revived.batch = std::move(batch);
  if (transit)
    revived.batch.insert(revived.batch.end(), std::make_move_iterator(transit->reports.begin()),
                         std::make_move_iterator(transit->reports.end()));
  flush(self, revived);
  run_waiting(transit);
}

/// Passivates groups idle longer than passivate_after_s. Walks the LRU list
/// from its least recently used end and stops at the first group still in
/// use, so a sweep costs O(groups passivated), not O(active groups). It also
/// stops once kWave passivations are queued and goes on when they have been
/// sent: when a whole node goes idle, the supervisor handles other messages
/// in between, and groups keep serving from their own state until their turn.
void sweep(Supervisor* self) {
  auto& st = self->state;
  const auto idle_limit = st.args.config->passivate_after_s;
  const auto now = monotonic_seconds();
  for (std::size_t looked = 0, total = st.lru.size(); !st.lru.empty() && looked < total; ++looked) {
    auto& entry = *st.lru.back();
    const auto last = entry.slot->last_activity.load(std::memory_order_relaxed);
    if (last > entry.lru_time) {  // decisions used it since it moved: second chance
      touch_lru(st, entry);
      continue;
    }
    if (now - static_cast<double>(last) <= idle_limit) break;  // the rest are more recent
    if (!entry.batch.empty() || entry.slot->pending.load() != 0) {
      touch_lru(st, entry);  // reports still on their way: not idle
      continue;
    }
    if (st.to_passivate.size() >= kWave) {
      st.sweep_unfinished = true;
      return;
    }
    passivate(self, entry.key());
  }
}

}  // namespace pytheas::supervision
