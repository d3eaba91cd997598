// Federation group state: how a group's state follows its owner, and how
// other members decide for groups they do not own.
//  * Settling: before a node applies reports of a group it has come to own
//    (the table moved it, its owner died or came back, it was frozen, the
//    node restarted, a regroup created it), it asks every living member for
//    its copy (fetch). A member that does not own the group gives its state
//    away (active groups are passivated there); one with a mirror sends that.
//    The group actor keeps the newest line of history among its own state and
//    these (the highest floor: what the group's home last confirmed), or
//    inherits the parent group's policy after a regroup. Reports wait
//    meanwhile. If the state was replaced, every origin is asked to send its
//    unconfirmed reports again (relay), and its stragglers are dropped until
//    it starts over: so each report ends up applied exactly once.
//  * Mirrors: a member that decides for a group owned elsewhere subscribes to
//    it; the owner pushes the group's state when it changed (every
//    snapshot_push_interval_s), and decisions use that snapshot.

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include <algorithm>
#include <utility>

#include "actors/federation/federation_state.hpp"
#include "core/decision_snapshot.hpp"
#include "core/errors.hpp"
#include "core/policy.hpp"

namespace pytheas {

using namespace std::chrono_literals;

namespace {

constexpr int kBusyRetries = 5;  // a member that still thinks it owns the group: ask again

void finish_settle(Federation* self, const std::string& group);

void ask_everyone(Federation* self, const std::string& group, Settling& settling) {
  auto& st = self->state;
  settling.deadline = monotonic_seconds() + st.args.cluster->forward_timeout_s;
  settling.busy = false;
  settling.asked = true;
  settling.answered.clear();
  for (auto& peer : st.peers) {
    if (!peer.up) continue;
    st.fetch_out[index_of(st, peer)].push_back(FetchItem{group, settling.parent});
    ++settling.waiting;
  }
}

/// Called when a fetch answer from `who` (or its failure: null) for `group` came in.
void answered(Federation* self, const std::string& group, std::vector<GroupRecord>* records,
              bool busy, const std::string* who) {
  auto& st = self->state;
  auto it = st.settling.find(group);
  if (it == st.settling.end() || it->second.waiting == 0) return;
  auto& settling = it->second;
  if (records)
    for (auto& record : *records) settling.candidates.push_back(std::move(record));
  settling.busy = settling.busy || busy;
  if (who && !busy) settling.answered.insert(*who);
  if (--settling.waiting == 0) finish_settle(self, group);
}

void finish_settle(Federation* self, const std::string& group) {
  auto& st = self->state;
  auto it = st.settling.find(group);
  if (it == st.settling.end()) return;
  auto& settling = it->second;
  settling.waiting = 0;
  if (settling.busy && settling.attempts < kBusyRetries) {
    // Its views lag ours (a table or a failure on its way): ask again shortly.
    ++settling.attempts;
    settling.deadline = monotonic_seconds() + 0.2;
    settling.busy = false;
    return;
  }
  const bool home = confirming_home(st, group);
  auto candidates = std::move(settling.candidates);
  settling.candidates.clear();
  // Members that did not answer (down, slow, or still owning the group in
  // their view) may still hold the group's confirmed history.
  std::vector<std::string> unreachable;
  for (const auto& peer : st.peers)
    if (!settling.answered.count(peer.node->name)) unreachable.push_back(peer.node->name);
  settling.deadline = -1;  // asked the group actor; wait for its answer
  self->request(st.args.supervisor, 30s, settle_atom::value, group, std::move(candidates), home,
                std::move(unreachable))
      .then(
          [=](SettleResult& result) {
            auto& st = self->state;
            auto it = st.settling.find(group);
            if (it == st.settling.end()) return;  // moved on meanwhile (recompute re-routed)
            auto pending = std::move(it->second.pending);
            spdlog::debug(
                "federation: settled {}: home {}, confirming {}, took state {}, rebased {}, "
                "{} pending report(s)",
                group, home, result.confirming, result.took_state, result.rebased, pending.size());
            st.settling.erase(it);
            st.args.federation->settles.fetch_add(1, std::memory_order_relaxed);
            st.settled[group] = FederationState::SettledGroup{home, result.confirming};
            if (result.took_state) {
              ++st.took_over;
              st.args.federation->adoptions.fetch_add(1, std::memory_order_relaxed);
            }
            if (!result.rebased) {
              for (auto& item : pending)
                self->send(st.args.supervisor, report_atom::value, group, std::move(item));
              return;
            }
            // The state we apply to is now another copy's: what it lacks comes again,
            // from every origin, in order; until then their stragglers are dropped.
            st.args.federation->rebases.fetch_add(1, std::memory_order_relaxed);
            st.args.shared->queue.release(pending.size());
            auto& waiting = st.resyncing[group];
            for (auto& peer : st.peers) {
              if (!peer.up) continue;
              waiting.insert(peer.origin);
              self->send(peer.handle, resend_atom::value, group, result.marks);
            }
            if (waiting.empty()) st.resyncing.erase(group);
            on_resend(self, group, result.marks, nullptr);
          },
          [=](const caf::error& error) {
            auto& st = self->state;
            auto it = st.settling.find(group);
            if (it == st.settling.end()) return;
            spdlog::error("federation: group {} could not settle: {}; trying again", group,
                          self->system().render(error));
            it->second.deadline = monotonic_seconds() + 0.5;
          });
}

}  // namespace

bool knows_members(const FederationState& st) {
  if (monotonic_seconds() - st.started_at > st.args.cluster->peer_timeout_s) return true;
  for (const auto& peer : st.peers)
    if (!peer.up && !(peer.dial && peer.attempts > 0)) return false;
  return true;
}

void start_settle(Federation* self, const std::string& group) {
  auto& st = self->state;
  if (st.settled.count(group)) return;
  auto& settling = st.settling[group];
  if (settling.deadline != 0) return;  // in progress
  if (auto parent = st.table.parents.find(group); parent != st.table.parents.end())
    settling.parent = parent->second;
  // Our own mirrors are candidates too (the last state an owner pushed us).
  if (auto mirror = st.mirror_records.find(group); mirror != st.mirror_records.end())
    settling.candidates.push_back(mirror->second);
  if (!settling.parent.empty())
    if (auto mirror = st.mirror_records.find(settling.parent); mirror != st.mirror_records.end())
      settling.candidates.push_back(mirror->second);
  if (!knows_members(st)) {  // just started: wait to hear who is there (check_settles)
    settling.deadline = st.started_at + st.args.cluster->peer_timeout_s;
    return;
  }
  ask_everyone(self, group, settling);
  if (settling.waiting == 0) finish_settle(self, group);
}

void resettle_provisional(Federation* self) {
  auto& st = self->state;
  std::vector<std::string> again;
  for (const auto& [group, settled] : st.settled)
    if (settled.home && !settled.confirming) again.push_back(group);
  for (const auto& group : again) {
    st.settled.erase(group);
    start_settle(self, group);
  }
}

void check_settles(Federation* self) {
  auto& st = self->state;
  const double now = monotonic_seconds();
  const bool known = knows_members(st);
  std::vector<std::string> due, again;
  for (auto& [group, settling] : st.settling) {
    if (settling.deadline <= 0) continue;
    if (now < settling.deadline && !(known && !settling.asked)) continue;
    (settling.waiting > 0 ? due : again).push_back(group);
  }
  for (const auto& group : due) finish_settle(self, group);  // some never answered
  for (const auto& group : again) {  // a retry after a busy answer or a failure
    auto& settling = st.settling[group];
    ask_everyone(self, group, settling);
    if (settling.waiting == 0) finish_settle(self, group);
  }
}

void flush_fetches(Federation* self) {
  auto& st = self->state;
  auto asks = std::move(st.fetch_out);
  st.fetch_out.clear();
  const auto timeout =
      std::chrono::milliseconds(static_cast<long>(1000 * st.args.cluster->forward_timeout_s));
  for (auto& [index, items] : asks) {
    auto& peer = st.peers[index];
    if (!peer.up) {
      for (const auto& item : items) answered(self, item.group, nullptr, false, nullptr);
      continue;
    }
    auto sent = items;
    const auto name = peer.node->name;
    self->request(peer.handle, timeout, fetch_atom::value, std::move(items))
        .then(
            [=](fetch_atom, std::vector<GroupRecord>& records, std::vector<std::string>& busy) {
              for (const auto& item : sent) {
                std::vector<GroupRecord> mine;
                for (auto& record : records)
                  if (record.key == item.group ||
                      (!item.parent.empty() && record.key == item.parent))
                    mine.push_back(record);
                const bool is_busy = std::find(busy.begin(), busy.end(), item.group) != busy.end();
                answered(self, item.group, &mine, is_busy, &name);
              }
            },
            [=](const caf::error&) {
              for (const auto& item : sent) answered(self, item.group, nullptr, false, nullptr);
            });
  }
}

caf::result<fetch_atom, std::vector<GroupRecord>, std::vector<std::string>> on_fetch(
    Federation* self, Peer& from, std::vector<FetchItem>& items) {
  auto& st = self->state;
  struct Gather {
    std::vector<GroupRecord> records;
    std::vector<std::string> busy;
    std::size_t outstanding = 1;
  };
  auto gather = std::make_shared<Gather>();
  auto promise =
      self->make_response_promise<fetch_atom, std::vector<GroupRecord>, std::vector<std::string>>();
  auto done = [=]() mutable {
    if (--gather->outstanding == 0)
      promise.deliver(fetch_atom::value, std::move(gather->records), std::move(gather->busy));
  };
  std::vector<std::string> give;
  // Copies: the key stays here. Each with the group it was asked for, which
  // must not count as answered if the copy fails.
  std::vector<std::pair<std::string, std::string>> lend;
  // A group whose state we could not hand over counts as "no answer" (as
  // busy: the asker tries again, and counts us among those that may still
  // hold its confirmed history), never as given up.
  auto not_answered = [gather](const std::string& group) {
    if (std::find(gather->busy.begin(), gather->busy.end(), group) == gather->busy.end())
      gather->busy.push_back(group);
  };
  for (const auto& item : items) {
    const auto requester = ownership_of(st, item.group, from.node->cluster);
    const bool they_own = requester.owner && *requester.owner == from.node->name;
    if (owned_here(st, item.group)) {
      // An untabled group seen in two clusters has an owner in each: lend ours.
      if (they_own && from.node->cluster != st.me->cluster)
        lend.emplace_back(item.group, item.group);
      else
        gather->busy.push_back(item.group);
    } else {
      give.push_back(item.group);
      st.settled.erase(item.group);
      if (auto mirror = st.mirror_records.find(item.group); mirror != st.mirror_records.end())
        gather->records.push_back(mirror->second);
    }
    if (!item.parent.empty()) {
      lend.emplace_back(item.parent, item.group);
      if (auto mirror = st.mirror_records.find(item.parent); mirror != st.mirror_records.end())
        gather->records.push_back(mirror->second);
    }
  }
  spdlog::debug("federation: {} fetches {} group(s): giving {}, lending {}, busy {}",
                from.node->name, items.size(), give.size(), lend.size(), gather->busy.size());
  if (!give.empty()) {
    ++gather->outstanding;
    self->request(st.args.supervisor, 30s, surrender_atom::value, give)
        .then(
            [=](std::vector<GroupRecord>& records, std::vector<std::string>& failed) mutable {
              if (!records.empty()) {
                self->state.args.federation->handoffs.fetch_add(records.size());
                spdlog::info("federation: gave the state of {} group(s) to {}", records.size(),
                             from.node->name);
              }
              for (auto& record : records) gather->records.push_back(std::move(record));
              if (!failed.empty())
                spdlog::warn("federation: could not give {} group(s) to {} (first: {})",
                             failed.size(), from.node->name, failed.front());
              for (const auto& group : failed) not_answered(group);
              done();
            },
            [=](const caf::error& error) mutable {
              spdlog::warn("federation: could not give {} group(s) to {}: {}", give.size(),
                           from.node->name, self->system().render(error));
              for (const auto& group : give) not_answered(group);
              done();
            });
  }
  for (auto& [key, group] : lend) {
    ++gather->outstanding;
    self->request(st.args.supervisor, 30s, copy_atom::value, key)
        .then(
            [=](std::vector<GroupRecord>& records) mutable {
              for (auto& record : records) gather->records.push_back(std::move(record));
              done();
            },
            [=, group = group](const caf::error&) mutable {
              not_answered(group);
              done();
            });
  }
  done();
  return promise;
}

void on_subscribe(Federation* self, Peer& from, std::vector<std::string>& groups) {
  auto& st = self->state;
  const auto index = index_of(st, from);
  for (auto& group : groups) {
    if (!owned_here(st, group)) continue;  // not ours (any more): it will ask the owner
    st.subscribers[group].insert(index);
    st.pushed.erase(group);  // push at the next round
    if (st.settled.count(group))
      self->send(st.args.supervisor, ensure_atom::value, group);
    else
      start_settle(self, group);
  }
}

void on_mirror(Federation* self, Peer& from, GroupRecord& record) {
  auto& st = self->state;
  const auto* owner = ownership_of(st, record.key, st.me->cluster).owner;
  if (!owner || *owner != from.node->name) return;  // ours now, or moved on
  try {
    auto policy = restore_policy(record.policy_state, record.written_at);
    auto slot = st.args.federation->mirrors.insert(record.key);
    slot->snapshot.store(policy->snapshot(monotonic_seconds()));
    slot->reports.store(record.reports);
    slot->decisions.store(record.decisions);
    slot->touch(static_cast<std::int64_t>(monotonic_seconds()));
    st.mirror_records[record.key] = std::move(record);
  } catch (const CorruptState& e) {
    spdlog::error("federation: unusable state of {} from {}: {}", record.key, from.node->name,
                  e.what());
  }
}

void on_standby(Federation* self, Peer& from, GroupRecord& record) {
  auto& st = self->state;
  (void)from;
  // Keep the newest copy (a late copy of an older floor never replaces a newer one).
  auto it = st.mirror_records.find(record.key);
  if (it != st.mirror_records.end() && !record.floor.dominates(it->second.floor)) return;
  st.mirror_records[record.key] = std::move(record);
}

void push_snapshots(Federation* self) {
  auto& st = self->state;
  for (auto& [group, subs] : st.subscribers) {
    if (subs.empty() || !st.settled.count(group)) continue;
    auto slot = st.args.shared->table.find(group);
    if (!slot) {  // passivated: wake it, push next time
      self->send(st.args.supervisor, ensure_atom::value, group);
      continue;
    }
    const auto reports = slot->reports.load(std::memory_order_relaxed);
    auto pushed = st.pushed.find(group);
    if (pushed != st.pushed.end() && pushed->second == reports) continue;
    st.pushed[group] = reports;
    auto key = group;
    self->request(st.args.supervisor, 5s, export_atom::value, group)
        .then(
            [=](GroupRecord& record) {
              auto& st = self->state;
              auto subs = st.subscribers.find(key);
              if (subs == st.subscribers.end()) return;
              for (auto index : subs->second)
                if (st.peers[index].up)
                  self->send(st.peers[index].handle, mirror_atom::value, record);
            },
            [=](const caf::error&) { self->state.pushed.erase(key); });
  }
}

void flush_subscriptions(Federation* self) {
  auto& st = self->state;
  std::map<Peer*, std::vector<std::string>> asks;
  for (auto it = st.to_subscribe.begin(); it != st.to_subscribe.end();) {
    const auto* owner = ownership_of(st, *it, st.me->cluster).owner;
    Peer* peer = owner && *owner != st.me->name ? peer_named(st, *owner) : nullptr;
    if (!owner || *owner == st.me->name) {
      it = st.to_subscribe.erase(it);  // ours now
    } else if (peer && peer->up) {
      st.subscribed[*it] = *owner;
      asks[peer].push_back(*it);
      it = st.to_subscribe.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [peer, groups] : asks) self->send(peer->handle, subscribe_atom::value, groups);
}

void forget_peer_requests(Federation* self, Peer& peer) {
  auto& st = self->state;
  const auto index = index_of(st, peer);
  for (auto& [group, subs] : st.subscribers) subs.erase(index);
  for (auto it = st.subscribed.begin(); it != st.subscribed.end();) {
    if (it->second == peer.node->name) {
      st.to_subscribe.insert(it->first);
      it = st.subscribed.erase(it);
    } else {
      ++it;
    }
  }
  // Its pending fetch answers fail on their own (request timeout); what was
  // not yet sent is answered as "nothing" now.
  if (auto asks = st.fetch_out.find(index); asks != st.fetch_out.end()) {
    auto items = std::move(asks->second);
    st.fetch_out.erase(asks);
    for (const auto& item : items) answered(self, item.group, nullptr, false, nullptr);
  }
  for (auto& [group, waiting] : st.resyncing) waiting.erase(peer.origin);
  std::erase_if(st.resyncing, [](const auto& entry) { return entry.second.empty(); });
}

}  // namespace pytheas
