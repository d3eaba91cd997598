#include "actors/group/supervisor.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include <deque>
#include <functional>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "actors/common/federation_messages.hpp"
#include "actors/common/stray_messages.hpp"
#include "actors/group/group_actor.hpp"
#include "actors/group/passivated_store.hpp"
#include "actors/learning/grouping_actor.hpp"
#include "actors/storage/state_store.hpp"
#include "actors/storage/store_actor.hpp"
#include "core/decision_snapshot.hpp"
#include "core/errors.hpp"
#include "logging/log_fields.hpp"

namespace pytheas {

namespace {

using namespace std::chrono_literals;

/// The supervisor's bookkeeping for one group, kept for every active group,
/// so kept small: no copy of the key (the slot's is the one the maps index
/// by; an entry keeps its slot across passivation and reactivation) and the
/// LRU links inline.
struct Entry {
  caf::actor actor;
  GroupSlotPtr slot;              ///< owns the key
  std::vector<ReportItem> batch;  ///< routed here, not yet sent to the actor
  Entry* lru_prev = nullptr;      ///< LRU links, valid while not passivating
  Entry* lru_next = nullptr;
  std::int64_t lru_time = 0;  ///< last_activity when it was last moved to the LRU front
  bool passivating = false;
  bool wanted = false;   ///< ensure arrived while passivating
  bool watched = false;  ///< in SupervisorState::watched (it holds reports not yet applied)
  const std::string& key() const { return slot->key; }
};

/// The active, non-passivating entries, most recently used first: an
/// intrusive list through Entry's links (no allocation per group).
class Lru {
 public:
  void push_front(Entry& entry) {
    entry.lru_prev = nullptr;
    entry.lru_next = head_;
    (head_ ? head_->lru_prev : tail_) = &entry;
    head_ = &entry;
    ++size_;
  }
  void erase(Entry& entry) {
    (entry.lru_prev ? entry.lru_prev->lru_next : head_) = entry.lru_next;
    (entry.lru_next ? entry.lru_next->lru_prev : tail_) = entry.lru_prev;
    entry.lru_prev = entry.lru_next = nullptr;
    --size_;
  }
  void move_to_front(Entry& entry) {
    if (head_ == &entry) return;
    erase(entry);
    push_front(entry);
  }
  Entry* back() const { return tail_; }  ///< least recently used; null when empty
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  Entry* head_ = nullptr;
  Entry* tail_ = nullptr;
  std::size_t size_ = 0;
};

struct SupervisorState {
  SupervisorArgs args;
  caf::actor store;
  std::unique_ptr<StateStore> reader;  ///< read-only access for restores
  /// Keyed by a view of the entry's own key (Entry::key()).
  std::unordered_map<std::string_view, Entry> groups;
  Lru lru;
  std::size_t passivating = 0;  ///< entries in `groups` being passivated
  /// Reports that arrived while their group was being passivated.
  std::unordered_map<std::string, std::vector<ReportItem>> held;
  std::vector<std::string> to_flush;
  std::chrono::steady_clock::time_point batching_since;  ///< when to_flush got its first key
  /// Passivated state not yet confirmed on disk (or kept in memory when there
  /// is no state dir), compacted: restores read it before the disk.
  PassivatedStore unsaved;
  /// Arm names shared by the groups' policies (see ArmNamesPool).
  std::shared_ptr<ArmNamesPool> arm_names = ArmNamesPool::make();
  /// What every group actor shares (see GroupContext), made once at start.
  std::shared_ptr<const GroupContext> group_context;
  /// Requests (federation) that came while their group was being passivated:
  /// run once its passivation is done (kept aside, like `held`).
  std::unordered_map<std::string, std::vector<std::function<void()>>> after_revive;
  // Learned grouping (actors/learning/grouping_actor.hpp): after a regroup, a new group
  // starts from its parent's state (taken when the rules changed, or its
  // persisted state when the parent was not active), and reports still keyed
  // under a retired group go to its heir.
  std::unordered_map<std::string, GroupRecord> inherit;       ///< new key -> parent's state
  std::unordered_map<std::string, std::string> inherit_from;  ///< new key -> parent key
  std::unordered_map<std::string, std::string> redirect;      ///< retired key -> heir
  /// New groups whose parent's state is on its way (its export or its
  /// passivation): they start when it arrives, with the reports held here.
  struct AwaitingParent {
    std::vector<ReportItem> reports;
    bool wanted = false;  ///< a decision asked for it
  };
  std::unordered_map<std::string, AwaitingParent> awaiting_parent;
  /// The stall watch (watch_stalls): groups sent reports not yet applied, and
  /// groups whose reports the supervisor holds while they are in transit
  /// (passivating, or waiting for a parent's state), with what it saw last.
  struct Watched {
    std::uint64_t applied = 0;  ///< the slot's report count when it last moved
    std::uint64_t pending = 0;  ///< the slot's pending count then
    double since = 0;           ///< monotonic seconds when it last moved
    bool stalled = false;       ///< reported as stalled (logged, counted)
    bool probing = false;       ///< a probe of its actor is in flight
  };
  std::unordered_map<std::string, Watched> watched;
  std::unordered_map<std::string, Watched> in_transit;
  std::uint64_t inherited = 0;  ///< groups started from a parent's state (logged per regroup)
  /// Messages to many groups at once (a checkpoint round, a reload), still
  /// to be sent: they go out a wave at a time (see kWave).
  std::deque<std::pair<caf::actor, caf::message>> outbox;
  /// Passivations asked for and not yet sent to their actor: at most
  /// kPassivationsInFlight are in flight, each answer sends the next.
  struct QueuedPassivation {
    std::string key;
    caf::actor_id actor;  ///< the actor asked for; another one means it failed meanwhile
    std::function<void(const GroupRecord*)> done;
  };
  std::deque<QueuedPassivation> to_passivate;
  std::size_t passivations_in_flight = 0;
  bool sweep_unfinished = false;  ///< a sweep stopped at a full queue; resumed when it drains
  // Shutdown bookkeeping.
  caf::response_promise shutdown_promise;
  bool shutting_down = false;
  std::size_t shutdown_outstanding = 0;
  std::vector<GroupRecord> shutdown_records;
  static inline const char* name = "pytheas.supervisor";
};

using Supervisor = caf::stateful_actor<SupervisorState>;

// Messages to many groups go out in waves. CAF 0.17's work-stealing queue
// (double_ended_queue) steals from its tail by walking the list from the
// head, so one handler that wakes 100k group actors makes each steal O(n)
// and the node crawls: stopping 100k groups took 40-100 s that way. Waves of
// kWave keep each worker's queue short: plain messages (checkpoint rounds,
// reload) go a wave per millisecond, and a stop (every group hands its state
// over) keeps kWave requests in flight, each answer sending the next.
constexpr std::size_t kWave = 512;
// Passivations in flight are fewer: each costs its group actor a state
// export and its end, and the reports of groups still in use queue behind
// them. When 99k of 100k groups went idle at once (bench_actors --idle),
// reports to the others took p99 24-31 ms to be visible with 512 in flight,
// 5.6 ms with 64, 4.2 ms with 32, at the same passivation rate.
constexpr std::size_t kPassivationsInFlight = 32;

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

/// Called with the passivated state (null if the actor failed first).
using PassivatedFn = std::function<void(const GroupRecord*)>;

void passivate(Supervisor* self, const std::string& key, PassivatedFn done = nullptr);

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

Entry& activate(Supervisor* self, const std::string& key,
                std::optional<GroupRecord> record = std::nullopt) {
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
  entry.wanted = false;
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

void finish_shutdown(Supervisor* self);

/// Reports held for `key` that will never be applied: freed from the queue,
/// counted lost and logged, never dropped in silence.
void give_up(Supervisor* self, const std::string& key, std::size_t reports, const char* why) {
  self->state.args.shared->queue.release(reports);
  self->state.args.shared->reports_lost.fetch_add(reports, std::memory_order_relaxed);
  log_event(spdlog::level::err, LogFields{.group = key}, "group {}: {} held report(s) lost: {}",
            key, reports, why);
}

void on_passivated(Supervisor* self, const std::string& key, GroupRecord& record) {
  auto& st = self->state;
  auto it = st.groups.find(key);
  if (it == st.groups.end()) return;
  auto& entry = it->second;
  auto held = st.held.extract(key);
  auto deferred_node = st.after_revive.extract(key);
  std::vector<std::function<void()>> deferred;
  if (!deferred_node.empty()) deferred = std::move(deferred_node.mapped());
  if (st.shutting_down) {  // collected for the stop's one write
    // The node drains the queue before it stops, so none is expected here.
    if (!held.empty()) give_up(self, key, held.mapped().size(), "they came during the stop");
    st.shutdown_records.push_back(std::move(record));
    --st.passivating;
    st.groups.erase(it);
    if (--st.shutdown_outstanding == 0) finish_shutdown(self);
    return;
  }
  st.args.shared->passivations.fetch_add(1, std::memory_order_relaxed);
  log_event(spdlog::level::debug, LogFields{.group = key}, "group passivated");
  remember_unsaved(self, record);
  if (!held.empty() || entry.wanted) {
    // Reports (or decisions) arrived meanwhile: come straight back, state in hand.
    auto& revived = activate(self, key, std::move(record));
    if (!held.empty()) revived.batch = std::move(held.mapped());
    flush(self, revived);
    for (auto& request : deferred) request();
    return;
  }
  --st.passivating;
  st.groups.erase(it);
  for (auto& request : deferred) request();
}

void sweep(Supervisor* self);
void on_failed(Supervisor* self, const std::string& key, caf::actor_id failed_id,
               const caf::error& reason);

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
  if (!st.awaiting_parent.empty())
    if (auto waiting = st.awaiting_parent.find(key); waiting != st.awaiting_parent.end()) {
      waiting->second.reports.push_back(std::move(item));
      return;
    }
  auto& entry = ensure(self, key);
  if (entry.passivating) {
    st.held[key].push_back(std::move(item));
    return;
  }
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
  auto held = st.held.extract(key);
  if (st.shutting_down && entry.passivating) {
    if (!held.empty()) give_up(self, key, held.mapped().size(), "its actor failed at stop");
    st.after_revive.erase(key);  // dropped with the entry, as ever
    --st.passivating;
    st.groups.erase(it);
    if (--st.shutdown_outstanding == 0) finish_shutdown(self);
    return;
  }
  auto batch = std::move(entry.batch);
  auto deferred = st.after_revive.extract(key);  // it was passivating: they waited for that
  auto& revived = activate(self, key);
  revived.batch = std::move(batch);
  if (!held.empty())
    revived.batch.insert(revived.batch.end(), std::make_move_iterator(held.mapped().begin()),
                         std::make_move_iterator(held.mapped().end()));
  flush(self, revived);
  if (!deferred.empty())
    for (auto& request : deferred.mapped()) request();
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

void release_kids(Supervisor* self, const std::vector<std::string>& kids);

/// Asks a stalled group's actor whether it is there. Mailboxes are FIFO, so
/// an answer means it applied what it had been sent (the watch sees it move);
/// "receiver down" means it ended without a word and took its mailbox with
/// it: it restarts from its last persisted state with the reports the
/// supervisor still holds for it, and the ones it took are counted lost
/// (on_failed). No answer in time: it is still stuck (a blocked handler);
/// nothing can be done without losing what it holds, so it stays reported.
void probe(Supervisor* self, const std::string& key,
           std::unordered_map<std::string, SupervisorState::Watched>& table) {
  auto it = self->state.groups.find(key);
  if (it == self->state.groups.end()) return;
  table[key].probing = true;
  const auto actor = it->second.actor;
  // `table` is a member of the actor's state: it outlives the request.
  auto probed = [&table, key] {
    if (auto watched = table.find(key); watched != table.end()) watched->second.probing = false;
  };
  self->request(actor, std::chrono::seconds(2), ping_atom::value)
      .then([=](ok_atom) { probed(); },
            [=](const caf::error& error) {
              probed();
              if (error != caf::sec::request_timeout) on_failed(self, key, actor.id(), error);
            });
}

/// The stall watch, run with every sweep. A group stalls when it holds
/// accepted reports and applies none of them for stall_after_s: sent to its
/// actor and not applied, or held by the supervisor while it is in transit
/// (passivating, or waiting for its parent's state after a regroup). A stall
/// is logged with the group and the wait, counted (stalls), and shown by
/// /readyz (503) while it lasts; the node recovers by itself where it can
/// without losing a report: a group waiting for a parent's state that has
/// not come starts from the parent's persisted state with its held reports,
/// an actor that is gone is restarted (probe). Also stamps the supervisor's
/// heartbeat, so a node whose supervisor stops sweeping is not ready either.
void watch_stalls(Supervisor* self) {
  auto& st = self->state;
  auto& shared = *st.args.shared;
  const double now = monotonic_seconds();
  const double bound = st.args.stall_after_s;
  shared.supervisor_beat.store(now, std::memory_order_relaxed);
  std::size_t stalled = 0;
  std::string reason;
  auto report = [&](const std::string& key, SupervisorState::Watched& w, std::uint64_t holds,
                    const char* where) {
    ++stalled;
    if (reason.empty())
      reason = fmt::format("group {} has applied none of its {} {} report(s) for {:.1f} s", key,
                           holds, where, now - w.since);
    if (w.stalled) return;
    w.stalled = true;
    shared.stalls.fetch_add(1, std::memory_order_relaxed);
    log_event(spdlog::level::err, LogFields{.group = key},
              "group {}: stalled: applied none of its {} {} report(s) for {:.1f} s", key, holds,
              where, now - w.since);
  };
  auto recovered = [&](const std::string& key, const SupervisorState::Watched& w) {
    if (w.stalled)
      log_event(spdlog::level::warn, LogFields{.group = key},
                "group {}: applies reports again after {:.1f} s", key, now - w.since);
  };
  // Groups sent reports: stalled when neither the applied nor the pending
  // count moves.
  for (auto it = st.watched.begin(); it != st.watched.end();) {
    auto& [key, w] = *it;
    auto entry = st.groups.find(key);
    const bool gone = entry == st.groups.end();
    const auto pending = gone ? 0 : entry->second.slot->pending.load(std::memory_order_relaxed);
    if (gone || pending == 0) {
      if (!gone) entry->second.watched = false;
      recovered(key, w);
      it = st.watched.erase(it);
      continue;
    }
    const auto applied = entry->second.slot->reports.load(std::memory_order_relaxed);
    if (applied != w.applied || pending < w.pending) {
      recovered(key, w);
      w = SupervisorState::Watched{applied, pending, now};
    } else if (now - w.since >= bound) {
      report(key, w, pending, "sent");
      if (!w.probing) probe(self, key, st.watched);
    }
    ++it;
  }
  // Groups in transit with reports held for them: stalled when that lasts.
  for (auto it = st.in_transit.begin(); it != st.in_transit.end();) {
    const auto& key = it->first;
    const bool held = st.held.count(key) != 0;
    auto waiting = st.awaiting_parent.find(key);
    const bool awaited = waiting != st.awaiting_parent.end() &&
                         (waiting->second.wanted || !waiting->second.reports.empty());
    if (!held && !awaited) {
      recovered(key, it->second);
      it = st.in_transit.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [key, reports] : st.held)
    st.in_transit.try_emplace(key, SupervisorState::Watched{0, 0, now});
  for (const auto& [key, waiting] : st.awaiting_parent)
    if (waiting.wanted || !waiting.reports.empty())
      st.in_transit.try_emplace(key, SupervisorState::Watched{0, 0, now});
  std::vector<std::string> orphans;  // waited too long for a parent's state
  for (auto& [key, w] : st.in_transit) {
    if (now - w.since < bound) continue;
    if (auto held = st.held.find(key); held != st.held.end()) {
      report(key, w, held->second.size(), "held (passivating)");
      if (!w.probing) probe(self, key, st.in_transit);
    } else {
      report(key, w, st.awaiting_parent[key].reports.size(),
             "held (waiting for its parent's state)");
      orphans.push_back(key);
    }
  }
  if (!orphans.empty()) {
    spdlog::error(
        "grouping: {} new group(s) waited {:.0f} s for their parent's state; they start "
        "from its persisted state (or fresh) with their held reports",
        orphans.size(), bound);
    release_kids(self, orphans);
  }
  if (stalled != shared.stalled_groups.load(std::memory_order_relaxed) || stalled) {
    shared.stall_reason.store(
        stalled ? std::make_shared<const std::string>(
                      stalled > 1 ? fmt::format("{} (and {} more)", reason, stalled - 1) : reason)
                : nullptr);
    shared.stalled_groups.store(stalled, std::memory_order_relaxed);
  }
}

/// The parent's state of `kids` is here (or will not come): those already
/// in use start, from it, with the reports they were sent meanwhile.
void release_kids(Supervisor* self, const std::vector<std::string>& kids) {
  auto& st = self->state;
  for (const auto& kid : kids) {
    auto waiting = st.awaiting_parent.extract(kid);
    if (waiting.empty()) continue;
    auto& reports = waiting.mapped().reports;
    if (st.groups.count(kid)) {  // started meanwhile (a reload, a settle): its reports follow
      for (auto& item : reports) {
        std::string key = kid;
        on_report(self, key, std::move(item));
      }
      continue;
    }
    if (!waiting.mapped().wanted && reports.empty()) continue;  // not used yet
    auto& entry = activate(self, kid);
    entry.batch = std::move(reports);
    flush(self, entry);
  }
}

void release_all_kids(Supervisor* self) {
  std::vector<std::string> kids;
  for (const auto& [kid, waiting] : self->state.awaiting_parent) kids.push_back(kid);
  release_kids(self, kids);
}

/// The learner changed the rules: new groups inherit their parent's state,
/// retired groups hand their reports to their heir and are passivated. The
/// learner installs the rules for the io threads once this returns, so no
/// report under a new key comes before; a new group used before its parent's
/// state is here waits for it (awaiting_parent).
void regroup(Supervisor* self, const Regroup& regroup) {
  auto& st = self->state;
  std::unordered_set<std::string> now;  // every group of the new rules
  for (const auto& [key, size] : regroup.learned.sizes) now.insert(key);
  st.redirect.clear();
  for (const auto& [old_key, heir] : regroup.heir)
    if (!now.count(old_key)) st.redirect.emplace(old_key, heir);
  // Parents' state, as of now, for the new groups that will start from it.
  std::map<std::string, std::vector<std::string>> children;
  for (const auto& [key, parent] : regroup.parent)
    if (key != parent && !st.groups.count(key)) children[parent].push_back(key);
  release_all_kids(self);  // of an earlier regroup, with what has come
  st.inherit.clear();
  st.inherit_from.clear();
  flush_all(self);
  for (auto& [parent, kids] : children) {
    for (const auto& kid : kids) st.inherit_from[kid] = parent;  // its persisted state, or:
    auto it = st.groups.find(parent);
    if (it == st.groups.end()) continue;
    for (const auto& kid : kids) st.awaiting_parent[kid];
    if (it->second.passivating) {  // its state will be in `unsaved`
      st.after_revive[parent].push_back([=] { release_kids(self, kids); });
      continue;
    }
    self->request(it->second.actor, std::chrono::seconds(10), export_atom::value)
        .then(
            [=](GroupRecord& record) {
              auto& st = self->state;
              for (const auto& kid : kids)
                if (st.inherit_from.count(kid) && !st.groups.count(kid)) {
                  st.inherit_from.erase(kid);
                  st.inherit[kid] = record;
                }
              release_kids(self, kids);
            },
            [=](const caf::error& error) {
              spdlog::error("grouping: group {} did not hand its state to its new groups: {}",
                            parent, self->system().render(error));
              release_kids(self, kids);
            });
  }
  std::vector<std::string> retire;
  for (auto& [key, entry] : st.groups)
    if (!entry.passivating && !now.count(std::string(key))) retire.push_back(std::string(key));
  for (const auto& key : retire) passivate(self, key);  // after its export (same mailbox order)
  spdlog::info("grouping: {} new group(s) start from their parent's state, {} retired",
               st.inherit_from.size(), retire.size());
}

/// Sends the next wave of the outbox; the rest follow a millisecond later.
void send_wave(Supervisor* self) {
  auto& outbox = self->state.outbox;
  for (std::size_t i = 0; i < kWave && !outbox.empty(); ++i) {
    self->send(outbox.front().first, std::move(outbox.front().second));
    outbox.pop_front();
  }
  if (!outbox.empty()) self->delayed_send(self, 1ms, wave_atom::value);
}

void reload(Supervisor* self, LabelConfigPtr config) {
  auto& st = self->state;
  // A learning config produces any key; what it starts from is its `by`.
  const bool regrouped = !st.args.config->same_grouping(*config);
  st.args.config = std::move(config);
  st.args.shared->queue.set_capacity(st.args.config->report_queue_capacity);
  std::vector<std::string> retire;
  for (auto& [key, entry] : st.groups) {
    if (entry.passivating) continue;
    if (regrouped && !st.args.config->initial_can_produce(key))
      retire.push_back(std::string(key));
    else
      st.outbox.emplace_back(entry.actor, caf::make_message(reload_atom::value, st.args.config));
  }
  send_wave(self);
  if (regrouped) {
    release_all_kids(self);
    st.redirect.clear();
    st.inherit.clear();
    st.inherit_from.clear();
  }
  flush_all(self);
  for (const auto& key : retire) passivate(self, key);
  std::size_t added = 0;
  for (const auto& key : st.args.config->rule_groups()) {
    if (!st.groups.count(key)) {
      activate(self, key);
      ++added;
    }
  }
  spdlog::info("label config {} loaded: {} group(s) retired, {} added, {} active",
               st.args.config->source, retire.size(), added, st.groups.size());
}

/// Federation: makes `key` active here and lets its actor choose its base
/// state among its own and `candidates` (actors/group/group_actor.hpp). Reports
/// routed before are applied first, to the state they were meant for.
caf::result<SettleResult> settle(Supervisor* self, const std::string& key,
                                 std::vector<GroupRecord> candidates, bool home,
                                 std::vector<std::string> unreachable) {
  auto& st = self->state;
  auto& entry = ensure(self, key);
  auto promise = self->make_response_promise<SettleResult>();
  auto ask = [=]() mutable {
    auto it = self->state.groups.find(key);
    if (it == self->state.groups.end() || it->second.passivating) {
      promise.deliver(caf::make_error(caf::sec::request_receiver_down));
      return;
    }
    flush(self, it->second);
    promise.delegate(it->second.actor, settle_atom::value, std::move(candidates), home,
                     std::move(unreachable));
  };
  if (entry.passivating) {
    entry.wanted = true;
    st.after_revive[key].push_back(std::move(ask));
  } else {
    ask();
  }
  return promise;
}

/// Federation: the state of `keys` for another member that now owns them:
/// active groups are passivated (their state is persisted here too), others
/// come from their persisted state; groups this node never held are skipped.
caf::result<std::vector<GroupRecord>> surrender(Supervisor* self,
                                                const std::vector<std::string>& keys) {
  auto& st = self->state;
  flush_all(self);
  struct Gather {
    std::vector<GroupRecord> records;
    std::size_t outstanding = 1;  // released after the loop
  };
  auto gather = std::make_shared<Gather>();
  auto promise = self->make_response_promise<std::vector<GroupRecord>>();
  auto done = [=]() mutable {
    if (--gather->outstanding == 0) promise.deliver(std::move(gather->records));
  };
  for (const auto& key : keys) {
    auto it = st.groups.find(key);
    if (it == st.groups.end()) {
      if (auto record = persisted_state(st, key)) gather->records.push_back(std::move(*record));
      continue;
    }
    if (it->second.passivating) {  // its record is on its way to `unsaved`
      ++gather->outstanding;
      st.after_revive[key].push_back([=]() mutable {
        if (auto record = persisted_state(self->state, key))
          gather->records.push_back(std::move(*record));
        done();
      });
      continue;
    }
    ++gather->outstanding;
    passivate(self, key, [=](const GroupRecord* record) mutable {
      if (record) gather->records.push_back(*record);
      done();
    });
  }
  done();
  return promise;
}

/// Federation: a copy of `key`'s state (active or persisted), leaving it here.
caf::result<std::vector<GroupRecord>> copy_state(Supervisor* self, const std::string& key) {
  auto& st = self->state;
  auto it = st.groups.find(key);
  if (it != st.groups.end() && !it->second.passivating) {
    flush(self, it->second);
    auto promise = self->make_response_promise<std::vector<GroupRecord>>();
    self->request(it->second.actor, std::chrono::seconds(10), export_atom::value)
        .then(
            [=](GroupRecord& record) mutable { promise.deliver(std::vector<GroupRecord>{record}); },
            [=](const caf::error&) mutable { promise.deliver(std::vector<GroupRecord>{}); });
    return promise;
  }
  std::vector<GroupRecord> out;
  if (auto record = persisted_state(st, key)) out.push_back(std::move(*record));
  return out;
}

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
  auto sweep_every = std::chrono::milliseconds(static_cast<long>(
      1000 * std::min(st.args.sweep_interval_s, st.args.config->passivate_after_s / 2)));
  auto checkpoint_every =
      std::chrono::milliseconds(static_cast<long>(1000 * st.args.config->checkpoint_interval_s));
  self->delayed_send(self, sweep_every, sweep_atom::value);
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
        if (auto waiting = state.awaiting_parent.find(key);
            waiting != state.awaiting_parent.end()) {
          waiting->second.wanted = true;
          return;
        }
        auto& entry = ensure(self, key);
        if (entry.passivating) entry.wanted = true;
        if (self->mailbox().empty()) flush_all(self);
      },
      [=](sweep_atom) {
        flush_all(self);
        if (self->state.shutting_down) return;
        watch_stalls(self);
        sweep(self);
        self->delayed_send(self, sweep_every, sweep_atom::value);
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

}  // namespace

caf::actor spawn_supervisor(caf::actor_system& system, SupervisorArgs args) {
  return system.spawn(supervisor, std::move(args));
}

}  // namespace pytheas
