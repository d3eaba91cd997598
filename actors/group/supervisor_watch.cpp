#include "actors/group/supervisor_state.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "actors/common/clock.hpp"
#include "logging/log_fields.hpp"

namespace pytheas::supervision {

/// Asks a stalled group's actor whether it is there. Mailboxes are FIFO, so
/// an answer means it applied what it had been sent (the watch sees it move);
/// "receiver down" means it ended without a word and took its mailbox with
/// it: it restarts from its last persisted state with the reports the
/// supervisor still holds for it, and the ones it took are counted lost
/// (on_failed). No answer in time: it is still stuck (a blocked handler);
/// nothing can be done without losing what it holds, so it stays reported.
/// `Table` is SupervisorState::watched or ::transit (entries with `probing`).
template <class Table>
void probe(Supervisor* self, const std::string& key, Table& table) {
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
  // `was_stalled` is the watched entry's own flag: logged and counted once.
  auto report = [&](const std::string& key, bool& was_stalled, double since, std::uint64_t holds,
                    const char* where) {
    ++stalled;
    if (reason.empty())
      reason = fmt::format("group {} has applied none of its {} {} report(s) for {:.1f} s", key,
                           holds, where, now - since);
    if (was_stalled) return;
    was_stalled = true;
    shared.stalls.fetch_add(1, std::memory_order_relaxed);
    log_event(spdlog::level::err, LogFields{.group = key},
              "group {}: stalled: applied none of its {} {} report(s) for {:.1f} s", key, holds,
              where, now - since);
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
      report(key, w.stalled, w.since, pending, "sent");
      if (!w.probing) probe(self, key, st.watched);
    }
    ++it;
  }
  // Groups in transit that hold reports (or a decision's wish): stalled
  // when that lasts. The watch starts at the first sweep that sees it.
  std::vector<std::string> orphans;  // waited too long for a parent's state
  for (auto& [key, transit] : st.transit) {
    if (!transit.holds()) continue;
    if (transit.holding_since == 0) transit.holding_since = now;
    if (now - transit.holding_since < bound) continue;
    if (transit.awaits == Transit::Awaits::own_state) {
      report(key, transit.stalled, transit.holding_since, transit.reports.size(),
             "held (passivating)");
      if (!transit.probing) probe(self, key, st.transit);
    } else {
      report(key, transit.stalled, transit.holding_since, transit.reports.size(),
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

}  // namespace pytheas::supervision
