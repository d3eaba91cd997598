// Federation relay: every report this node accepts, from ingress to the group
// that applies it, exactly once.
//  * Stamps: a report gets (this node, epoch, seq) (core/report_marks.hpp);
//    with a write-ahead log the log's sequence is the seq, so a replay after a
//    crash carries the same stamp.
//  * Retention: the report is kept in `outgoing` until the group's home
//    confirms a state that includes it, which the home does once its standby
//    holds a copy of that state (so whoever takes the group over next starts
//    from it: nothing confirmed can be lost with the home).
//  * Routing: a group's kept reports go to its current owner in stamp order;
//    when the owner changes (or refuses them, its view lagging ours, or asks
//    after replacing its state) they are sent again from the oldest, marked
//    as a restart (resync) so the owner can drop stragglers of the old order.
//  * The owner side: a forwarded report of a group we do not own is refused
//    (its origin retries); one from an origin we wait to restart is dropped.
// The group actor skips any stamp its state already includes, so sending
// again is always safe; retention makes it complete.

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/federation/federation_state.hpp"

namespace pytheas {

namespace {

constexpr std::size_t kForwardBatch = 256;  // flush a peer's outbox at this size
constexpr std::size_t kMaxBatch = 4096;     // reports per forward message at most
// Forward batches in flight per peer: the window keeps the owner's mailbox
// (and so its heartbeats) prompt under overload; beyond it reports wait in
// the outbox, counted in the node's report queue, whose cap makes ingress
// answer 503: back-pressure reaches the players instead of memory.
constexpr std::size_t kMaxInFlight = 8;
constexpr std::size_t kRetainPerGroup = 1000000;  // beyond: oldest dropped, counted, logged

ReportItem item_of(const Retained& kept, std::uint64_t origin) {
  ReportItem item;
  item.decision = kept.decision;
  item.score = kept.score;
  item.accepted_at = kept.accepted_at;
  item.wal_seq = kept.wal_seq;
  item.stamp = ReportStamp{origin, kept.epoch, kept.seq};
  return item;
}

}  // namespace

void deliver_local(Federation* self, const std::string& group, ReportItem item) {
  auto& st = self->state;
  st.args.shared->queue.owe();  // the group releases it
  if (auto settled = st.settled.find(group); settled != st.settled.end()) {
    if (settled->second.confirming) st.replication_due.insert(group);
    self->send(st.args.supervisor, report_atom::value, group, std::move(item));
    return;
  }
  st.settling[group].pending.push_back(std::move(item));
  start_settle(self, group);
}

void accept_local(Federation* self, LocalReport report) {
  auto& st = self->state;
  st.args.shared->queue.release();  // ingress admitted it; from here on it is ours to count
  auto& item = report.item;
  if (item.stamp.epoch == 0) {
    item.stamp.epoch = st.epoch;
    item.stamp.seq = ++st.next_seq;
  }
  item.stamp.origin = st.origin;
  auto& out = st.outgoing[report.group];
  if (out.unconfirmed.size() >= kRetainPerGroup) {
    out.unconfirmed.pop_front();
    if (out.sent > 0) --out.sent;
    --st.retained_total;
    st.args.federation->retain_overflow.fetch_add(1, std::memory_order_relaxed);
  }
  out.unconfirmed.push_back(Retained{std::move(item.decision), item.score, item.accepted_at,
                                     item.stamp.epoch, item.stamp.seq, item.wal_seq});
  ++st.retained_total;
  route_outgoing(self, report.group);
}

void route_outgoing(Federation* self, const std::string& group) {
  auto& st = self->state;
  auto it = st.outgoing.find(group);
  if (it == st.outgoing.end() || it->second.refused) return;
  auto& out = it->second;
  const auto* owner = ownership_of(st, group, st.me->cluster).owner;
  const std::string& destination = owner ? *owner : st.me->name;
  Peer* peer = nullptr;
  if (destination != st.me->name) {
    peer = peer_named(st, destination);
    if (!peer || !peer->up) return;  // the view lists only living owners; a race at most
  }
  if (destination != out.destination) {
    if (!out.destination.empty() && out.sent > 0)
      st.args.federation->forward_rerouted.fetch_add(out.sent, std::memory_order_relaxed);
    out.destination = destination;
    out.sent = 0;
    if (peer) peer->resync.insert(group);
  }
  for (auto i = out.sent; i < out.unconfirmed.size(); ++i) {
    const auto& kept = out.unconfirmed[i];
    if (peer) {
      st.args.shared->queue.owe();  // until acknowledged
      peer->outbox.push_back(ForwardedReport{group, kept.decision, kept.score, kept.accepted_at,
                                             kept.epoch, kept.seq});
    } else {
      deliver_local(self, group, item_of(kept, st.origin));
    }
  }
  out.sent = out.unconfirmed.size();
  if (peer && peer->outbox.size() >= kForwardBatch) flush_outboxes(self);
}

void reroute_all(Federation* self) {
  auto& st = self->state;
  std::vector<std::string> groups;
  groups.reserve(st.outgoing.size());
  for (const auto& [group, out] : st.outgoing) groups.push_back(group);
  for (const auto& group : groups) route_outgoing(self, group);
}

std::vector<std::string> on_forward(Federation* self, Peer& from, std::vector<std::string>& resync,
                                    std::vector<ForwardedReport>& batch) {
  auto& st = self->state;
  for (const auto& group : resync) {
    auto it = st.resyncing.find(group);
    if (it == st.resyncing.end()) continue;
    it->second.erase(from.origin);
    if (it->second.empty()) st.resyncing.erase(it);
  }
  std::set<std::string> refused;
  const double now = monotonic_seconds();
  std::uint64_t taken = 0, dropped = 0;
  for (auto& report : batch) {
    const auto own = ownership_of(st, report.group, from.node->cluster);
    if (!own.owner || *own.owner != st.me->name) {
      refused.insert(report.group);
      // The origin sends this group's reports again from its oldest, with a
      // restart mark; until then its later batches (already on their way,
      // perhaps after our view changed) are dropped, or a later report would
      // be applied before the refused ones and the watermark would pass them.
      st.resyncing[report.group].insert(from.origin);
      continue;
    }
    if (auto waiting = st.resyncing.find(report.group);
        waiting != st.resyncing.end() && waiting->second.count(from.origin)) {
      ++dropped;  // sent before its origin learned our state changed: it comes again
      continue;
    }
    ++taken;
    st.args.federation->forward_latency.record(now - report.accepted_at);
    ReportItem item;
    item.decision = std::move(report.decision);
    item.score = report.score;
    item.accepted_at = report.accepted_at;
    item.stamp = ReportStamp{from.origin, report.epoch, report.seq};
    deliver_local(self, report.group, std::move(item));
  }
  st.args.federation->forwarded_in.fetch_add(taken, std::memory_order_relaxed);
  if (dropped > 0)
    spdlog::debug("federation: dropped {} report(s) from {}: sent before its restart mark", dropped,
                  from.node->name);
  if (!refused.empty()) {
    st.args.federation->forward_refused.fetch_add(batch.size() - taken - dropped,
                                                  std::memory_order_relaxed);
    spdlog::debug("federation: refused reports of {} group(s) from {}: not ours", refused.size(),
                  from.node->name);
  }
  return {refused.begin(), refused.end()};
}

void on_confirm(Federation* self, std::vector<Confirmation>& confirmations, std::uint64_t origin) {
  auto& st = self->state;
  if (origin != st.origin) return;  // confirmations are for our own reports
  for (const auto& confirmation : confirmations) {
    auto it = st.outgoing.find(confirmation.group);
    if (it == st.outgoing.end()) continue;
    auto& out = it->second;
    const ReportMarks::Mark mark{origin, confirmation.epoch, confirmation.seq};
    std::uint64_t wal_through = 0;
    std::size_t popped = 0;
    while (!out.unconfirmed.empty() &&
           !stamp_after(out.unconfirmed.front().epoch, out.unconfirmed.front().seq, mark)) {
      wal_through = std::max(wal_through, out.unconfirmed.front().wal_seq);
      out.unconfirmed.pop_front();
      ++popped;
    }
    if (popped == 0) continue;
    out.sent = out.sent > popped ? out.sent - popped : 0;
    st.retained_total -= popped;
    st.args.federation->confirmed.fetch_add(popped, std::memory_order_relaxed);
    if (wal_through && st.args.wal_covered) st.args.wal_covered(confirmation.group, wal_through);
    if (out.unconfirmed.empty()) st.outgoing.erase(it);
  }
}

void on_resend(Federation* self, const std::string& group, const ReportMarks& marks, Peer* to) {
  auto& st = self->state;
  (void)marks;  // the owner skips what its marks cover; we simply start over
  auto it = st.outgoing.find(group);
  spdlog::debug("federation: sending the {} kept report(s) of {} again to its owner",
                it == st.outgoing.end() ? 0 : it->second.unconfirmed.size(), group);
  if (it != st.outgoing.end()) {
    it->second.destination.clear();
    it->second.refused = false;
    route_outgoing(self, group);
  }
  // Even with nothing kept, the owner waits for our restart mark.
  if (to && to->up) to->resync.insert(group);
}

void confirm_to_origins(Federation* self, const std::string& group, const ReportMarks& marks) {
  auto& st = self->state;
  for (const auto& mark : marks.marks()) {
    if (mark.origin == st.origin) {
      std::vector<Confirmation> own{{group, mark.epoch, mark.seq}};
      on_confirm(self, own, st.origin);
      continue;
    }
    auto peer = st.peer_by_origin.find(mark.origin);
    if (peer != st.peer_by_origin.end())
      st.peers[peer->second].confirms.push_back({group, mark.epoch, mark.seq});
  }
}

void on_saved(Federation* self, std::vector<GroupRecord>& records) {
  auto& st = self->state;
  // With other frontends, homes confirm what their standby holds (replicate());
  // a lone frontend has no standby: what its disk holds is all there is.
  if (st.other_frontends) return;
  for (const auto& record : records)
    if (confirming_home(st, record.key)) confirm_to_origins(self, record.key, record.marks);
}

void replicate(Federation* self) {
  auto& st = self->state;
  if (!st.other_frontends) return;
  std::vector<std::string> due;
  for (auto it = st.replication_due.begin(); it != st.replication_due.end();) {
    if (st.replicating.count(*it)) {
      ++it;  // the previous copy is still on its way: next round
      continue;
    }
    due.push_back(*it);
    it = st.replication_due.erase(it);
  }
  const auto timeout =
      std::chrono::milliseconds(static_cast<long>(1000 * st.args.cluster->forward_timeout_s));
  for (const auto& group : due) {
    auto settled = st.settled.find(group);
    if (settled == st.settled.end() || !settled->second.confirming)
      continue;  // not ours to confirm
    const auto* standby = ownership_of(st, group, st.me->cluster).standby;
    Peer* peer = standby ? peer_named(st, *standby) : nullptr;
    if (!peer || !peer->up) {
      st.replication_due.insert(group);  // nobody to hold a copy: keep the reports kept
      continue;
    }
    st.replicating.insert(group);
    const auto index = index_of(st, *peer);
    self->request(st.args.supervisor, timeout, replicate_atom::value, group, st.me->name)
        .then(
            [=](GroupRecord& record) {
              auto& st = self->state;
              auto& peer = st.peers[index];
              if (!peer.up) {
                st.replicating.erase(group);
                st.replication_due.insert(group);
                return;
              }
              auto marks = record.floor;
              self->request(peer.handle, timeout, standby_atom::value, std::move(record))
                  .then(
                      [=](ok_atom) {
                        self->state.replicating.erase(group);
                        confirm_to_origins(self, group, marks);
                      },
                      [=](const caf::error&) {
                        self->state.replicating.erase(group);
                        self->state.replication_due.insert(group);
                      });
            },
            [=](const caf::error&) {  // passivated meanwhile: its next activation replicates
              self->state.replicating.erase(group);
            });
  }
}

void flush_outboxes(Federation* self) {
  auto& st = self->state;
  for (auto& peer : st.peers) {
    while (peer.up && (!peer.outbox.empty() || !peer.resync.empty()) &&
           peer.unacked.size() < kMaxInFlight) {
      const auto id = peer.next_batch++;
      const auto index = index_of(st, peer);
      std::vector<ForwardedReport> batch;
      if (peer.outbox.size() > kMaxBatch) {
        batch.assign(std::make_move_iterator(peer.outbox.begin()),
                     std::make_move_iterator(peer.outbox.begin() + kMaxBatch));
        peer.outbox.erase(peer.outbox.begin(), peer.outbox.begin() + kMaxBatch);
      } else {
        batch = std::move(peer.outbox);
        peer.outbox = {};
      }
      std::vector<std::string> resync(peer.resync.begin(), peer.resync.end());
      peer.resync.clear();
      const auto count = batch.size();
      peer.unacked[id] = count;
      // No request timeout: under a burst the ack can queue behind our own
      // backlog for longer than any fixed timeout. A dead owner is found by
      // its link (down message, urgent heartbeats, forward_timeout_s in tick()).
      peer.sent_at[id] = monotonic_seconds();
      self->request(peer.handle, caf::infinite, forward_atom::value, id, std::move(resync),
                    std::move(batch))
          .then(
              [=](ok_atom, std::vector<std::string>& refused) {
                auto& st = self->state;
                auto& peer = st.peers[index];
                if (!peer.unacked.erase(id)) return;  // the link went down meanwhile
                peer.sent_at.erase(id);
                peer.last_seen = monotonic_seconds();  // any answer is a sign of life
                st.args.shared->queue.release(count);
                st.args.federation->forwarded_out.fetch_add(count, std::memory_order_relaxed);
                for (const auto& group : refused) {
                  auto it = st.outgoing.find(group);
                  if (it != st.outgoing.end()) it->second.refused = true;  // retried at the tick
                }
                if (!peer.outbox.empty() || !peer.resync.empty()) flush_outboxes(self);
              },
              [=](const caf::error& error) {
                auto& peer = self->state.peers[index];
                if (!peer.unacked.count(id)) return;
                mark_down(self, peer, "forward failed: " + self->system().render(error));
              });
    }
  }
  flush_subscriptions(self);
  flush_fetches(self);
}

}  // namespace pytheas
