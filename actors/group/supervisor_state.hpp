#pragma once
// The supervisor actor's state, and the functions each of its parts offers
// the others. Internal to actors/group/; one actor owns it, so nothing here
// is thread-safe (and nothing needs to be).
//
//   supervisor.cpp             the behavior (which message goes where), stop, restore
//   supervisor_groups.cpp      a group's life: activation, report batches, passivation,
//                              groups in transit, crashes, idle sweeps
//   supervisor_watch.cpp       the stall watch (a group that holds reports and applies none)
//   supervisor_regroup.cpp     regroups (new groups inherit their parent's state), reloads
//   supervisor_federation.cpp  settle, surrender and copy: a group's state for the federation

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "actors/common/federation_messages.hpp"
#include "actors/group/group_actor.hpp"
#include "actors/group/passivated_store.hpp"
#include "actors/group/supervisor.hpp"
#include "actors/learning/grouping_actor.hpp"
#include "actors/storage/state_store.hpp"

namespace pytheas::supervision {

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
  bool passivating = false;   ///< in transit (SupervisorState::transit) until its state is out
  bool watched = false;       ///< in SupervisorState::watched (it holds reports not yet applied)
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

/// A group whose state is on its way: its own while it is being passivated
/// (it comes straight back if it is used meanwhile), or its parent's when a
/// regroup made it (it starts from that state). Every path that moves a
/// group's state (passivation, regroup inheritance, federation hand-over and
/// settle) holds the group the same way: its reports wait here in arrival
/// order, a decision's wish to use it is remembered, and requests that need
/// its state wait for it (on_arrival). When the state is there (arrive), the
/// group starts from it with all of that, or stays passivated if nothing
/// asked for it. The stall watch reports one that holds reports too long.
struct Transit {
  enum class Awaits { own_state, parent_state };
  Awaits awaits = Awaits::own_state;
  std::vector<ReportItem> reports;                ///< held, in arrival order
  bool wanted = false;                            ///< a decision asked for the group
  std::vector<std::function<void()>> on_arrival;  ///< run once its state is here
  // The stall watch (watch_stalls).
  double holding_since = 0;  ///< monotonic seconds when a sweep first saw it hold something
  bool stalled = false;      ///< reported as stalled (logged, counted)
  bool probing = false;      ///< a probe of its passivating actor is in flight
  bool holds() const { return wanted || !reports.empty(); }
};

struct SupervisorState {
  SupervisorArgs args;
  caf::actor store;
  std::unique_ptr<StateStore> reader;  ///< read-only access for restores
  /// Keyed by a view of the entry's own key (Entry::key()).
  std::unordered_map<std::string_view, Entry> groups;
  Lru lru;
  std::size_t passivating = 0;  ///< entries in `groups` being passivated
  /// Groups whose state is on its way (see Transit): the passivating entries
  /// of `groups`, and new groups of a regroup waiting for their parent's state.
  std::unordered_map<std::string, Transit> transit;
  std::vector<std::string> to_flush;
  std::chrono::steady_clock::time_point batching_since;  ///< when to_flush got its first key
  /// Passivated state not yet confirmed on disk (or kept in memory when there
  /// is no state dir), compacted: restores read it before the disk.
  PassivatedStore unsaved;
  /// Arm names shared by the groups' policies (see ArmNamesPool).
  std::shared_ptr<ArmNamesPool> arm_names = ArmNamesPool::make();
  /// What every group actor shares (see GroupContext), made once at start.
  std::shared_ptr<const GroupContext> group_context;
  // Learned grouping (actors/learning/grouping_actor.hpp): after a regroup, a new group
  // starts from its parent's state (taken when the rules changed, or its
  // persisted state when the parent was not active), and reports still keyed
  // under a retired group go to its heir.
  std::unordered_map<std::string, GroupRecord> inherit;       ///< new key -> parent's state
  std::unordered_map<std::string, std::string> inherit_from;  ///< new key -> parent key
  std::unordered_map<std::string, std::string> redirect;      ///< retired key -> heir
  /// The stall watch (watch_stalls): groups sent reports not yet applied,
  /// with what it saw last (groups in transit are watched in `transit`).
  struct Watched {
    std::uint64_t applied = 0;  ///< the slot's report count when it last moved
    std::uint64_t pending = 0;  ///< the slot's pending count then
    double since = 0;           ///< monotonic seconds when it last moved
    bool stalled = false;       ///< reported as stalled (logged, counted)
    bool probing = false;       ///< a probe of its actor is in flight
  };
  std::unordered_map<std::string, Watched> watched;
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

// supervisor_groups.cpp: a group's life.

/// Monotonic seconds, as the slots' activity stamps count them.
std::int64_t now_s();
/// Sends `entry`'s batch of reports to its actor (unless it is passivating).
void flush(Supervisor* self, Entry& entry);
/// Sends every pending batch.
void flush_all(Supervisor* self);
/// Loads the last persisted state of `key`: the unsaved cache first, then the
/// disk. A corrupt file is logged and set aside; the group starts fresh.
std::optional<GroupRecord> persisted_state(SupervisorState& st, const std::string& key);
/// Starts `key`'s actor from `record`, else its persisted state, else its
/// parent's (after a regroup), else fresh.
Entry& activate(Supervisor* self, const std::string& key,
                std::optional<GroupRecord> record = std::nullopt);
/// `key`'s entry, activated first if needed.
Entry& ensure(Supervisor* self, const std::string& key);
/// Called with the passivated state (null if the actor failed first).
using PassivatedFn = std::function<void(const GroupRecord*)>;
void passivate(Supervisor* self, const std::string& key, PassivatedFn done = nullptr);
Transit& hold(SupervisorState& st, const std::string& key, Transit::Awaits awaits);
Transit* in_transit(SupervisorState& st, const std::string& key);
std::optional<Transit> arrive(Supervisor* self, const std::string& key);
void run_waiting(std::optional<Transit>& transit);
void on_report(Supervisor* self, std::string& key, ReportItem item);
void on_failed(Supervisor* self, const std::string& key, caf::actor_id failed_id,
               const caf::error& reason);
void sweep(Supervisor* self);

// supervisor_watch.cpp
void watch_stalls(Supervisor* self);

// supervisor_regroup.cpp
void release_kids(Supervisor* self, const std::vector<std::string>& kids);
void release_all_kids(Supervisor* self);
void regroup(Supervisor* self, const Regroup& regroup);
void send_wave(Supervisor* self);
void reload(Supervisor* self, LabelConfigPtr config);

// supervisor_federation.cpp
caf::result<SettleResult> settle(Supervisor* self, const std::string& key,
                                 std::vector<GroupRecord> candidates, bool home,
                                 std::vector<std::string> unreachable);
caf::result<std::vector<GroupRecord>, std::vector<std::string>> surrender(
    Supervisor* self, const std::vector<std::string>& keys);
caf::result<std::vector<GroupRecord>> copy_state(Supervisor* self, const std::string& key);

// supervisor.cpp
void finish_shutdown(Supervisor* self);

}  // namespace pytheas::supervision
