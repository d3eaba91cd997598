#include "actors/federation.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include "actors/federation_local.hpp"
#include "actors/federation_messages.hpp"
#include "actors/peer_auth.hpp"
#include "actors/supervisor.hpp"
#include "config/label_config.hpp"
#include "core/decision_snapshot.hpp"
#include "core/errors.hpp"
#include "core/grouping_learner.hpp"
#include "core/grouping_sample_window.hpp"
#include "core/owner_assignment.hpp"
#include "core/policy.hpp"

namespace pytheas {

namespace {

using namespace std::chrono_literals;

constexpr std::size_t kForwardBatch = 256;  // flush a peer's outbox at this size
constexpr std::size_t kMaxBatch = 4096;     // reports per forward message at most
// Forward batches in flight per peer: the window keeps the owner's mailbox
// (and so its heartbeats) prompt under overload; beyond it reports wait in
// the outbox, counted in the node's report queue, whose cap makes ingress
// answer 503: back-pressure reaches the players instead of memory.
constexpr std::size_t kMaxInFlight = 8;
constexpr std::size_t kSampleBuffer = 10000;     // samples kept while the backend is away
constexpr std::size_t kRetainPerGroup = 100000;  // acknowledged, not yet in a pushed state
constexpr const char* kTableFile = "group-table.txt";

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

/// One other member of the cluster, as this node sees it.
struct Peer {
  const ClusterNode* node = nullptr;
  bool dial = false;     ///< we open the link (else we wait for its hello)
  caf::actor connector;  ///< dialling side: does the blocking connect
  caf::actor handle;     ///< its federation actor, while linked
  bool up = false;
  bool connecting = false;
  double last_seen = -1;
  double backoff_s = 0.1;
  double next_attempt = 0;
  std::string last_error;
  // Reports for groups it owns: queued, then sent and kept until acknowledged.
  std::vector<ForwardedReport> outbox;
  std::uint64_t next_batch = 1;  ///< batch ids grow per link; 0 means "none"
  std::map<std::uint64_t, std::vector<ForwardedReport>> unacked;
  std::map<std::uint64_t, double> sent_at;  ///< wall seconds each unacked batch left
  /// Owner side: the last batch id this peer forwarded to us (coverage stamps).
  std::uint64_t last_batch_in = 0;
  std::size_t handoffs_pending = 0;  ///< the outbox waits until state is handed over
};

struct FederationState {
  FederationArgs args;
  const ClusterNode* me = nullptr;
  std::vector<Peer> peers;
  std::unordered_map<caf::actor_addr, std::size_t> peer_of;

  GroupTableMessage table;
  std::shared_ptr<const Ownership> ownership = std::make_shared<Ownership>();
  std::unordered_set<std::string> owned_from_table;  ///< table groups resolved to this node

  // Groups owned elsewhere: last state pushed by their owner, and whom we asked.
  std::unordered_map<std::string, GroupRecord> mirror_records;
  std::unordered_map<std::string, std::string> subscribed;  ///< group -> owner asked
  std::unordered_set<std::string> to_subscribe;
  /// Reports we forwarded that the owner acknowledged but that no pushed state
  /// includes yet (batch id, report): replayed here if the owner dies first,
  /// so a report this node accepted survives its owner's crash.
  std::unordered_map<std::string, std::deque<std::pair<std::uint64_t, ForwardedReport>>> retained;

  // Our groups that others mirror.
  std::unordered_map<std::string, std::set<std::size_t>> subscribers;
  std::unordered_map<std::string, std::uint64_t> pushed;  ///< reports count at the last push

  std::vector<SampledReport> sample_outbox;
  OwnerAssignment assignment;  ///< backend, grouping: labels
  // Backend, grouping: learned.
  std::unique_ptr<GroupingLearner> learner;
  std::unique_ptr<GroupingSampleWindow> window;
  std::optional<LearnedGrouping> learned;
  std::string installed_rules;  ///< the learned rules this node groups by
  std::uint64_t unauthenticated = 0;
  /// Nonces we issued, per dialling actor, with their expiry (wall seconds).
  std::unordered_map<caf::actor_addr, std::pair<std::string, double>> challenges;
  static inline const char* name = "pytheas.federation";
};

using Federation = caf::stateful_actor<FederationState>;

Peer* peer_named(FederationState& st, const std::string& name) {
  for (auto& peer : st.peers)
    if (peer.node->name == name) return &peer;
  return nullptr;
}

/// The peer that sent the current message, if it completed the handshake.
Peer* sender_peer(Federation* self) {
  auto& st = self->state;
  auto sender = self->current_sender();
  if (sender) {
    auto it = st.peer_of.find(caf::actor_cast<caf::actor_addr>(sender));
    if (it != st.peer_of.end()) return &st.peers[it->second];
  }
  if (++st.unauthenticated % 1000 == 1)
    spdlog::warn("federation: dropped a message from a peer that did not complete the handshake");
  return nullptr;
}

std::size_t index_of(const FederationState& st, const Peer& peer) {
  return static_cast<std::size_t>(&peer - st.peers.data());
}

// ---------------------------------------------------------------- persistence

void save_table(const FederationState& st) {
  if (st.args.state_dir.empty()) return;
  auto path = st.args.state_dir + "/" + kTableFile;
  auto temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    // Rules are one line (rules_to_yaml escapes control characters).
    out << "pytheas-group-table 2\n" << st.table.version << '\n' << st.table.rules << '\n';
    for (const auto& [group, cluster] : st.table.owners) out << group << '\t' << cluster << '\n';
    if (!out) {
      spdlog::error("federation: cannot write {}", temp);
      return;
    }
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0)
    spdlog::error("federation: cannot replace {}", path);
}

void load_table(FederationState& st) {
  if (st.args.state_dir.empty()) return;
  auto path = st.args.state_dir + "/" + kTableFile;
  std::ifstream in(path);
  if (!in) return;
  std::string magic, line;
  GroupTableMessage table;
  const bool known = std::getline(in, magic) &&
                     (magic == "pytheas-group-table 1" || magic == "pytheas-group-table 2");
  if (!known || !(in >> table.version)) {
    spdlog::error("federation: {} is not a group table; starting with an empty one", path);
    return;
  }
  std::getline(in, line);
  if (magic == "pytheas-group-table 2") std::getline(in, table.rules);
  while (std::getline(in, line)) {
    auto tab = line.find('\t');
    if (tab == std::string::npos || tab == 0 || tab + 1 == line.size()) {
      spdlog::error("federation: {}: malformed line skipped", path);
      continue;
    }
    table.owners.emplace(line.substr(0, tab), line.substr(tab + 1));
  }
  st.table = std::move(table);
  st.assignment.set_owners(st.table.owners);
  spdlog::info("federation: group table version {} ({} groups) loaded from {}", st.table.version,
               st.table.owners.size(), path);
}

// ------------------------------------------------------------------ ownership

void route_forward(Federation* self, ForwardedReport item);
void flush_outboxes(Federation* self);

/// Hands the local state of `groups` to `owner` (its new owner), then lets the
/// reports queued for it follow, in that order.
void hand_off(Federation* self, std::size_t owner, std::vector<std::string> groups) {
  auto& st = self->state;
  ++st.peers[owner].handoffs_pending;
  self->request(st.args.supervisor, 30s, handoff_atom::value, std::move(groups))
      .then(
          [=](std::vector<GroupRecord>& records) {
            auto& st = self->state;
            auto& peer = st.peers[owner];
            --peer.handoffs_pending;
            if (!records.empty()) {
              spdlog::info("federation: handing {} group(s) over to {}", records.size(),
                           peer.node->name);
              st.args.federation->handoffs.fetch_add(records.size());
              if (peer.up) self->send(peer.handle, handoff_atom::value, records);
              for (auto& record : records) {
                st.to_subscribe.insert(record.key);
                st.mirror_records[record.key] = std::move(record);
              }
            }
            flush_outboxes(self);
          },
          [=](const caf::error& error) {
            auto& peer = self->state.peers[owner];
            --peer.handoffs_pending;
            spdlog::error("federation: handing groups to {} failed: {}", peer.node->name,
                          self->system().render(error));
            flush_outboxes(self);
          });
}

/// Recomputes which groups other nodes own (from the table and who is alive),
/// acts on the changes (adopt, hand off, resubscribe) and publishes the result
/// to the io threads.
void recompute(Federation* self) {
  auto& st = self->state;
  std::map<std::string, std::vector<std::string>> alive;  // cluster -> living members
  for (const auto& node : st.args.cluster->nodes) {
    if (!node.serves_frontend()) continue;
    bool living = node.name == st.me->name;
    if (auto* peer = peer_named(st, node.name)) living = peer->up;
    if (living) alive[node.cluster].push_back(node.name);
  }
  auto next = std::make_shared<Ownership>();
  std::unordered_set<std::string> owned;
  for (const auto& [group, cluster] : st.table.owners) {
    auto members = alive.find(cluster);
    auto owner = members == alive.end() ? std::string() : rendezvous_owner(group, members->second);
    if (owner.empty() || owner == st.me->name)
      owned.insert(group);  // ours, or its cluster is down: served here
    else
      next->remote.emplace(group, std::move(owner));
  }

  // Groups that became ours: adopt them from the last state their owner pushed
  // (if the owner is alive it hands over its newest state too, which wins).
  std::size_t adopted = 0, from_failed = 0;
  for (const auto& [group, old_owner] : st.ownership->remote) {
    if (next->remote.count(group)) continue;
    const auto* previous = peer_named(st, old_owner);
    if (previous && !previous->up) ++from_failed;
    st.args.federation->mirrors.erase(group);
    st.subscribed.erase(group);
    st.to_subscribe.erase(group);
    auto record = st.mirror_records.find(group);
    if (record != st.mirror_records.end()) {
      self->send(st.args.supervisor, adopt_atom::value, std::move(record->second));
      st.mirror_records.erase(record);
      ++adopted;
    }
    // Then what the owner acknowledged after that state: nothing we accepted is lost.
    if (auto kept = st.retained.find(group); kept != st.retained.end()) {
      st.args.shared->queued.fetch_add(kept->second.size(), std::memory_order_relaxed);
      for (auto& [batch, item] : kept->second)
        self->send(st.args.supervisor, report_atom::value, std::move(item.group),
                   std::move(item.decision), item.score, item.accepted_at);
      st.retained.erase(kept);
    }
  }
  if (adopted) {
    st.args.federation->adoptions.fetch_add(from_failed);
    if (from_failed)
      spdlog::warn("federation: adopted {} group(s) of failed owners from their last pushed state",
                   adopted);
    else
      spdlog::info("federation: took over {} group(s) from the group table", adopted);
  }
  // Groups that left us: hand their state to the new owner.
  std::map<std::size_t, std::vector<std::string>> handoffs;
  for (const auto& group : st.owned_from_table) {
    auto owner = next->owner_of(group);
    if (!owner) continue;
    if (auto* peer = peer_named(st, *owner)) handoffs[index_of(st, *peer)].push_back(group);
    st.subscribers.erase(group);
    st.pushed.erase(group);
  }
  // Mirrors whose owner changed: ask the new owner.
  for (const auto& [group, owner] : next->remote) {
    auto it = st.subscribed.find(group);
    if (it != st.subscribed.end() && it->second != owner) {
      st.subscribed.erase(it);
      st.to_subscribe.insert(group);
      // Coverage stamps are per owner. A multi-node cluster rebalancing a
      // living owner's group hands its state over, so these are in it.
      st.retained.erase(group);
    }
  }
  for (auto& [owner, groups] : handoffs) hand_off(self, owner, std::move(groups));

  next->version = st.ownership->version + 1;
  st.owned_from_table = std::move(owned);
  st.ownership = next;
  st.args.federation->ownership.store(next);
  st.args.federation->ownership_version.fetch_add(1, std::memory_order_release);
}

/// Switches this node's grouping to the table's learned rules (or back to
/// the label config's when it has none). Bad rules are logged and ignored.
void install_rules(Federation* self) {
  auto& st = self->state;
  if (st.table.rules == st.installed_rules) return;
  std::shared_ptr<const Grouping> grouping;
  if (!st.table.rules.empty()) {
    try {
      grouping = make_rule_tree_grouping(
          st.args.schema, parse_rules(st.table.rules, st.args.schema, "group table rules"));
    } catch (const std::exception& e) {
      spdlog::error("federation: learned rules of table version {} unusable, keeping ours: {}",
                    st.table.version, e.what());
      return;
    }
  }
  spdlog::info("federation: grouping now {}",
               grouping ? grouping->describe() : "the label config's");
  st.installed_rules = st.table.rules;
  st.args.federation->grouping.store(std::move(grouping));
  st.args.federation->grouping_version.fetch_add(1, std::memory_order_release);
}

void install_table(Federation* self, GroupTableMessage table, const std::string& from) {
  auto& st = self->state;
  if (table.version <= st.table.version) return;
  spdlog::info("federation: group table version {} ({} groups) from {}", table.version,
               table.owners.size(), from);
  st.table = std::move(table);
  if (st.me->serves_backend()) {
    st.assignment.set_owners(st.table.owners);
    save_table(st);
  }
  install_rules(self);
  recompute(self);
}

// ------------------------------------------------------------------ forwarding

void route_forward(Federation* self, ForwardedReport item) {
  auto& st = self->state;
  const auto* owner = st.ownership->owner_of(item.group);
  Peer* peer = owner ? peer_named(st, *owner) : nullptr;
  if (!peer || !peer->up) {
    // Ours now (adopted, or the table changed): the report is already counted
    // in the node's queue, which the group releases when it applies it.
    self->send(st.args.supervisor, report_atom::value, std::move(item.group),
               std::move(item.decision), item.score, item.accepted_at);
    return;
  }
  if (!st.subscribed.count(item.group)) st.to_subscribe.insert(item.group);
  peer->outbox.push_back(std::move(item));
  if (peer->outbox.size() >= kForwardBatch) flush_outboxes(self);
}

void mark_down(Federation* self, Peer& peer, const std::string& reason);

void flush_outboxes(Federation* self) {
  auto& st = self->state;
  for (auto& peer : st.peers) {
    while (peer.up && !peer.outbox.empty() && peer.handoffs_pending == 0 &&
           peer.unacked.size() < kMaxInFlight) {
      const auto id = peer.next_batch++;
      const auto index = index_of(st, peer);
      std::vector<ForwardedReport> next;
      if (peer.outbox.size() > kMaxBatch) {
        next.assign(std::make_move_iterator(peer.outbox.begin() + kMaxBatch),
                    std::make_move_iterator(peer.outbox.end()));
        peer.outbox.resize(kMaxBatch);
      }
      auto& batch = peer.unacked[id] = std::move(peer.outbox);
      peer.outbox = std::move(next);
      // No request timeout: under a burst the ack can queue behind our own
      // backlog for longer than any fixed timeout, and a timed-out request
      // would drop a late ack. A dead owner is found by its link (down
      // message, urgent heartbeats); see the forward_timeout_s check in tick().
      peer.sent_at[id] = wall_seconds();
      self->request(peer.handle, caf::infinite, forward_atom::value, id, batch)
          .then(
              [=](ok_atom) {
                auto& st = self->state;
                auto& peer = st.peers[index];
                auto it = peer.unacked.find(id);
                if (it == peer.unacked.end()) return;  // re-routed after a failure already
                peer.last_seen = wall_seconds();       // any answer is a sign of life
                st.args.shared->release(it->second.size());
                st.args.federation->forwarded_out.fetch_add(it->second.size());
                for (auto& item : it->second) {
                  auto& kept = st.retained[item.group];
                  if (kept.size() >= kRetainPerGroup) kept.pop_front();
                  kept.emplace_back(id, std::move(item));
                }
                peer.unacked.erase(it);
                if (!peer.outbox.empty()) flush_outboxes(self);  // the window moved
              },
              [=](const caf::error& error) {
                auto& peer = self->state.peers[index];
                if (!peer.unacked.count(id)) return;
                mark_down(self, peer, "forward failed: " + self->system().render(error));
              });
    }
  }
  // Subscriptions ride along: one message per owner.
  std::map<Peer*, std::vector<std::string>> asks;
  for (auto it = st.to_subscribe.begin(); it != st.to_subscribe.end();) {
    const auto* owner = st.ownership->owner_of(*it);
    Peer* peer = owner ? peer_named(st, *owner) : nullptr;
    if (!owner) {
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

// ------------------------------------------------------------------ links

void publish_status(Federation* self);

void mark_down(Federation* self, Peer& peer, const std::string& reason) {
  auto& st = self->state;
  if (!peer.up) return;
  spdlog::warn("federation: link to {} down: {}", peer.node->name, reason);
  peer.up = false;
  peer.last_error = reason;
  st.peer_of.erase(peer.handle.address());
  self->demonitor(peer.handle);
  peer.handle = nullptr;
  peer.next_attempt = wall_seconds() + peer.backoff_s;
  const auto index = index_of(st, peer);
  for (auto& [group, subs] : st.subscribers) subs.erase(index);
  for (auto& [group, owner] : st.subscribed)
    if (owner == peer.node->name) st.to_subscribe.insert(group);
  // Everything not acknowledged goes where its group lives now.
  std::vector<ForwardedReport> pending = std::move(peer.outbox);
  peer.outbox = {};
  for (auto& [id, batch] : peer.unacked)
    pending.insert(pending.end(), std::make_move_iterator(batch.begin()),
                   std::make_move_iterator(batch.end()));
  peer.unacked.clear();
  peer.sent_at.clear();
  recompute(self);  // adopts its groups if its cluster has no one left
  if (!pending.empty()) {
    spdlog::warn("federation: re-routing {} unacknowledged report(s) meant for {}", pending.size(),
                 peer.node->name);
    st.args.federation->forward_rerouted.fetch_add(pending.size());
    for (auto& item : pending) route_forward(self, std::move(item));
  }
  flush_outboxes(self);
  publish_status(self);
}

/// Accepts `handle` as `peer`'s link: from now on its messages are taken.
void register_link(Federation* self, Peer& peer, caf::actor handle) {
  auto& st = self->state;
  if (peer.up) mark_down(self, peer, "replaced by a new link (peer restarted?)");
  spdlog::info("federation: linked with {} ({})", peer.node->name, to_string(peer.node->role));
  peer.handle = std::move(handle);
  peer.up = true;
  peer.last_seen = wall_seconds();
  peer.backoff_s = 0.1;
  peer.last_error.clear();
  peer.last_batch_in = 0;
  st.peer_of[peer.handle.address()] = index_of(st, peer);
  self->monitor(peer.handle);
}

/// What follows a new link: the table, ownership changes, queued traffic.
/// The accepting side runs it only after its welcome is on the wire, so the
/// dialling side never gets traffic before it knows the link.
void start_link(Federation* self, Peer& peer) {
  auto& st = self->state;
  if (!peer.up) return;
  if (st.me->serves_backend() && peer.node->serves_frontend())
    self->send(peer.handle, table_atom::value, st.table);
  recompute(self);  // its groups (if the table gives it any) go back to it
  for (const auto& [group, owner] : st.subscribed)
    if (owner == peer.node->name) st.to_subscribe.insert(group);
  flush_outboxes(self);
  publish_status(self);
}

void connect(Federation* self, Peer& peer) {
  auto& st = self->state;
  peer.connecting = true;
  const auto index = index_of(st, peer);
  auto fail = [=](const std::string& why) {
    auto& peer = self->state.peers[index];
    peer.connecting = false;
    if (why != peer.last_error)
      spdlog::warn("federation: cannot link to {} at {}:{}: {}", peer.node->name, peer.node->host,
                   peer.node->caf_port, why);
    peer.last_error = why;
    peer.backoff_s =
        std::min(peer.backoff_s * 2, self->state.args.cluster->reconnect_max_backoff_s);
    peer.next_attempt = wall_seconds() + peer.backoff_s;
  };
  self->request(peer.connector, 30s, connect_atom::value, peer.node->host, peer.node->caf_port)
      .then(
          [=](caf::actor& handle) {
            // Challenge-response (actors/peer_auth.hpp): the secret stays here.
            self->request(handle, 5s, challenge_atom::value)
                .then(
                    [=](challenge_atom, const std::string& their_nonce) {
                      auto& st = self->state;
                      const auto& secret = st.args.cluster->secret;
                      auto my_nonce = make_nonce();
                      auto proof =
                          handshake_proof(secret, "hello", st.me->name, their_nonce, my_nonce);
                      // Only the backend needs our table (to recover it after a restart).
                      GroupTableMessage table;
                      if (st.peers[index].node->serves_backend()) table = st.table;
                      self->request(handle, 5s, hello_atom::value, st.me->name, my_nonce, proof,
                                    std::move(table))
                          .then(
                              [=](welcome_atom, const std::string& name, const std::string& reply) {
                                auto& st = self->state;
                                auto& peer = st.peers[index];
                                peer.connecting = false;
                                if (name != peer.node->name) {
                                  fail("answered as '" + name + "', expected '" + peer.node->name +
                                       "'");
                                  return;
                                }
                                auto expected = handshake_proof(st.args.cluster->secret, "welcome",
                                                                name, my_nonce, their_nonce);
                                if (!same_secret(reply, expected)) {
                                  st.args.federation->refused_peers.fetch_add(1);
                                  fail("it does not know the cluster secret: refused");
                                  return;
                                }
                                register_link(self, peer, handle);
                                start_link(self, peer);
                              },
                              [=](const caf::error& error) {
                                fail("handshake refused: " + self->system().render(error));
                              });
                    },
                    [=](const caf::error& error) {
                      fail("handshake failed: " + self->system().render(error));
                    });
          },
          [=](const caf::error& error) { fail(self->system().render(error)); });
}

caf::behavior connector(caf::event_based_actor* self, bool tls) {
  return {
      [=](connect_atom, const std::string& host, std::uint16_t port) -> caf::result<caf::actor> {
        auto result = tls ? caf::openssl::remote_actor<caf::actor>(self->system(), host, port)
                          : self->system().middleman().remote_actor(host, port);
        if (!result) return std::move(result.error());
        return std::move(*result);
      },
  };
}

// ------------------------------------------------------------------ status

void publish_status(Federation* self) {
  auto& st = self->state;
  auto status = std::make_shared<ClusterStatus>();
  status->node = st.me->name;
  status->role = to_string(st.me->role);
  status->cluster = st.me->cluster;
  status->table_version = st.table.version;
  status->table_groups = st.table.owners.size();
  status->owned_elsewhere = st.ownership->remote.size();
  status->mirrored = st.mirror_records.size();
  for (const auto& [group, subs] : st.subscribers) status->subscribers += subs.size();
  const double now = wall_seconds();
  for (const auto& peer : st.peers) {
    PeerStatus p;
    p.name = peer.node->name;
    p.role = to_string(peer.node->role);
    p.cluster = peer.node->cluster;
    p.healthy = peer.up;
    p.last_seen_s = peer.last_seen < 0 ? -1 : now - peer.last_seen;
    p.last_error = peer.last_error;
    status->peers.push_back(std::move(p));
  }
  st.args.federation->status.store(std::move(status));
}

// ------------------------------------------------------------------ timers

void tick(Federation* self) {
  auto& st = self->state;
  const double now = wall_seconds();
  for (auto& peer : st.peers) {
    if (peer.up) {
      if (now - peer.last_seen > st.args.cluster->peer_timeout_s) {
        mark_down(self, peer, "no heartbeat for " + std::to_string(now - peer.last_seen) + " s");
        continue;
      }
      // Silent and not acknowledging: give up sooner than the heartbeat timeout.
      const double limit = st.args.cluster->forward_timeout_s;
      if (!peer.sent_at.empty() && now - peer.sent_at.begin()->second > limit &&
          now - peer.last_seen > limit) {
        mark_down(self, peer,
                  "forwards unacknowledged for " +
                      std::to_string(now - peer.sent_at.begin()->second) + " s");
        continue;
      }
      // Urgent: liveness must not wait behind a backlog of reports.
      self->send<caf::message_priority::high>(peer.handle, heartbeat_atom::value);
    } else if (peer.dial && !peer.connecting && now >= peer.next_attempt) {
      connect(self, peer);
    }
  }
  // Samples go to the backend in one message per tick.
  if (!st.sample_outbox.empty()) {
    for (auto& peer : st.peers) {
      if (!peer.up || !peer.node->serves_backend()) continue;
      st.args.federation->samples_sent.fetch_add(st.sample_outbox.size());
      self->send(peer.handle, samples_atom::value, std::move(st.sample_outbox));
      st.sample_outbox = {};
    }
  }
  flush_outboxes(self);
  publish_status(self);
}

void push_snapshots(Federation* self) {
  auto& st = self->state;
  for (auto& [group, subs] : st.subscribers) {
    if (subs.empty()) continue;
    auto slot = st.args.shared->table.find(group);
    if (!slot) {  // passivated or not spawned yet: wake it, push next time
      self->send(st.args.supervisor, ensure_atom::value, group);
      continue;
    }
    const auto reports = slot->reports.load(std::memory_order_relaxed);
    auto pushed = st.pushed.find(group);
    if (pushed != st.pushed.end() && pushed->second == reports) continue;
    st.pushed[group] = reports;
    auto key = group;
    // The export is queued behind every report routed so far, so the state it
    // returns covers each subscriber's forwarded batches up to now.
    std::map<std::size_t, std::uint64_t> covered;
    for (auto index : subs) covered[index] = st.peers[index].last_batch_in;
    self->request(st.args.supervisor, 5s, export_atom::value, group)
        .then(
            [=](GroupRecord& record) {
              auto& st = self->state;
              auto subs = st.subscribers.find(key);
              if (subs == st.subscribers.end()) return;
              for (auto index : subs->second) {
                auto stamp = covered.find(index);
                if (st.peers[index].up)
                  self->send(st.peers[index].handle, mirror_atom::value,
                             stamp == covered.end() ? std::uint64_t{0} : stamp->second, record);
              }
            },
            [=](const caf::error&) { self->state.pushed.erase(key); });
  }
}

void publish_grouping_status(Federation* self, double seconds) {
  auto& st = self->state;
  auto status = std::make_shared<GroupingStatus>();
  status->mode = st.args.cluster->grouping;
  status->table_version = st.table.version;
  status->owners = st.table.owners;
  status->learned_at = wall_seconds();
  status->learn_seconds = seconds;
  if (st.learned) {
    status->samples = st.window->size();
    status->rules = format_rules(*st.learned->rules);
    status->sizes = st.learned->sizes;
  }
  st.args.federation->grouping_status.store(std::move(status));
}

void regroup(Federation* self) {
  auto& st = self->state;
  GroupTableMessage table;
  if (st.learner) {
    if (st.window->size() == 0) return;  // nothing learned from yet: keep what we have
    const auto start = std::chrono::steady_clock::now();
    try {
      st.learned = st.learner->learn(st.window->samples(), st.learned ? &*st.learned : nullptr);
    } catch (const std::exception& e) {
      spdlog::error("federation: regrouping failed, keeping the table: {}", e.what());
      return;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto rules = rules_to_yaml(*st.learned->rules);
    if (rules == st.table.rules && st.learned->owner == st.table.owners) {
      publish_grouping_status(self, seconds);
      return;
    }
    table.rules = std::move(rules);
    table.owners = st.learned->owner;
    for (const auto& [group, owner] : st.table.owners)  // pins and known owners stay
      if (auto* pinned = st.args.cluster->pinned_cluster(group)) table.owners[group] = *pinned;
    spdlog::info("federation: learned {} group(s) from {} samples in {:.3f} s; split on {}",
                 st.learned->sizes.size(), st.window->size(), seconds,
                 st.learned->split_features.empty()
                     ? std::string("nothing")
                     : fmt::format("{}", fmt::join(st.learned->split_features, ", ")));
  } else {
    if (!st.assignment.regroup()) return;
    table.owners = st.assignment.owners();
  }
  table.version = st.table.version + 1;
  spdlog::info("federation: regrouped: group table version {} ({} groups)", table.version,
               table.owners.size());
  st.table = table;
  save_table(st);
  for (auto& peer : st.peers)
    if (peer.up && peer.node->serves_frontend()) self->send(peer.handle, table_atom::value, table);
  install_rules(self);
  recompute(self);
  publish_grouping_status(self, 0);
}

/// Backend: one sampled session for the learner (learned grouping).
void learn_from(FederationState& st, SampledReport& sample, const std::string& cluster) {
  if (!st.window || sample.features.size() != st.args.schema.size() || !std::isfinite(sample.score))
    return;
  st.window->add(GroupingSample{std::move(sample.features), std::move(sample.decision),
                                sample.score, cluster});
}

void add_sample(Federation* self, SampledReport sample) {
  auto& st = self->state;
  if (st.me->serves_backend()) {
    st.assignment.add(sample.group, st.me->cluster);  // role all: we are a frontend too
    learn_from(st, sample, st.me->cluster);
    return;
  }
  if (st.sample_outbox.size() >= kSampleBuffer) {
    st.sample_outbox.erase(st.sample_outbox.begin());
    st.args.federation->samples_dropped.fetch_add(1);
  }
  st.sample_outbox.push_back(std::move(sample));
}

// ------------------------------------------------------------------ behavior

caf::behavior federation(Federation* self, FederationArgs args) {
  auto& st = self->state;
  st.args = std::move(args);
  st.me = st.args.cluster->find(st.args.self_name);
  const bool tls = st.args.cluster->tls.enabled();
  st.peers.reserve(st.args.cluster->nodes.size());
  for (const auto& node : st.args.cluster->nodes) {
    if (node.name == st.me->name) continue;
    Peer peer;
    peer.node = &node;
    // Frontends dial the backend; between frontends the smaller name dials.
    peer.dial = (!st.me->serves_backend() && node.serves_backend()) ||
                (st.me->role == NodeRole::frontend && node.role == NodeRole::frontend &&
                 st.me->name < node.name);
    if (peer.dial) peer.connector = self->spawn<caf::detached>(connector, tls);
    st.peers.push_back(std::move(peer));
  }
  if (st.me->serves_backend()) {
    auto cluster = st.args.cluster;  // the lambda keeps the config alive
    st.assignment.set_pins(
        [cluster](const std::string& group) { return cluster->pinned_cluster(group); });
    if (st.args.cluster->grouping == "learned") {
      st.learner = std::make_unique<GroupingLearner>(st.args.schema, st.args.cluster->learner);
      st.window = std::make_unique<GroupingSampleWindow>(st.args.cluster->learner_window);
    }
    load_table(st);
    install_rules(self);
    publish_grouping_status(self, 0);
  }
  recompute(self);
  publish_status(self);
  self->set_down_handler([=](caf::down_msg& down) {
    auto it = self->state.peer_of.find(caf::actor_cast<caf::actor_addr>(down.source));
    if (it == self->state.peer_of.end()) return;
    mark_down(self, self->state.peers[it->second],
              "link lost (" + self->system().render(down.reason) + ")");
  });
  self->set_exit_handler([=](caf::exit_msg& exit) {
    for (auto& peer : self->state.peers)
      if (peer.connector) self->send_exit(peer.connector, exit.reason);
    self->quit(exit.reason);
  });
  const auto& cfg = *st.args.cluster;
  self->send<caf::message_priority::high>(self, tick_atom::value);
  self->delayed_send(self, millis(cfg.snapshot_push_interval_s), push_atom::value);
  if (st.me->serves_backend())
    self->delayed_send(self, millis(cfg.regroup_interval_s), regroup_atom::value);
  return {
      // -- handshake (the only message accepted before it)
      [=](challenge_atom) -> caf::result<challenge_atom, std::string> {
        auto& st = self->state;
        auto sender = self->current_sender();
        if (!sender) return caf::make_error(caf::sec::runtime_error, "anonymous challenge");
        auto nonce = make_nonce();
        if (st.challenges.size() > 256)  // strangers who never said hello
          std::erase_if(st.challenges, [now = wall_seconds()](const auto& entry) {
            return entry.second.second < now;
          });
        // One outstanding challenge per link; a handshake must follow promptly.
        st.challenges[caf::actor_cast<caf::actor_addr>(sender)] = {nonce, wall_seconds() + 10};
        return {challenge_atom::value, std::move(nonce)};
      },
      [=](hello_atom, const std::string& name, const std::string& their_nonce,
          const std::string& proof,
          GroupTableMessage& table) -> caf::result<welcome_atom, std::string, std::string> {
        auto& st = self->state;
        auto sender = caf::actor_cast<caf::actor>(self->current_sender());
        auto* peer = peer_named(st, name);
        std::string my_nonce;
        if (sender) {
          auto it = st.challenges.find(sender.address());
          if (it != st.challenges.end() && it->second.second > wall_seconds())
            my_nonce = it->second.first;
          if (it != st.challenges.end()) st.challenges.erase(it);  // single use
        }
        std::string refusal;
        if (!sender)
          refusal = "anonymous hello";
        else if (my_nonce.empty())
          refusal = "no pending challenge";
        else if (!peer)
          refusal = "'" + name + "' is not a node of this cluster";
        else if (!same_secret(proof, handshake_proof(st.args.cluster->secret, "hello", name,
                                                     my_nonce, their_nonce)))
          refusal = "wrong cluster secret";
        if (!refusal.empty()) {
          st.args.federation->refused_peers.fetch_add(1);
          spdlog::warn("federation: refused a peer claiming to be '{}': {}", name, refusal);
          return caf::make_error(caf::sec::runtime_error, "refused: " + refusal);
        }
        register_link(self, *peer, sender);
        if (st.me->serves_backend() && table.version > st.table.version) {
          // We restarted without our table; the frontend kept the newest one.
          st.table = std::move(table);
          st.assignment.set_owners(st.table.owners);
          save_table(st);
          spdlog::info("federation: group table version {} recovered from {}", st.table.version,
                       name);
        }
        self->send(self, welcome_atom::value, index_of(st, *peer));  // start_link, after the reply
        return {welcome_atom::value, st.me->name,
                handshake_proof(st.args.cluster->secret, "welcome", st.me->name, their_nonce,
                                my_nonce)};
      },
      [=](welcome_atom, std::size_t index) {
        if (self->current_sender().get() != self->ctrl()) return;  // only our own reminder
        start_link(self, self->state.peers.at(index));
      },
      // -- between members
      [=](heartbeat_atom) {
        if (auto* peer = sender_peer(self)) peer->last_seen = wall_seconds();
      },
      [=](samples_atom, std::vector<SampledReport>& samples) {
        auto* peer = sender_peer(self);
        if (!peer || !self->state.me->serves_backend()) return;
        peer->last_seen = wall_seconds();
        for (auto& sample : samples) {
          self->state.assignment.add(sample.group, peer->node->cluster);
          learn_from(self->state, sample, peer->node->cluster);
        }
      },
      [=](table_atom, GroupTableMessage& table) {
        auto* peer = sender_peer(self);
        if (!peer) return;
        peer->last_seen = wall_seconds();
        install_table(self, std::move(table), peer->node->name);
      },
      [=](forward_atom, std::uint64_t batch_id,
          std::vector<ForwardedReport>& batch) -> caf::result<ok_atom> {
        auto* peer = sender_peer(self);
        if (!peer) return caf::make_error(caf::sec::runtime_error, "no handshake");
        auto& st = self->state;
        peer->last_seen = wall_seconds();
        peer->last_batch_in = std::max(peer->last_batch_in, batch_id);
        const double now = wall_seconds();
        // Counted in our queue like a report of our own (never refused: the
        // sender already told its player 202).
        st.args.shared->queued.fetch_add(batch.size(), std::memory_order_relaxed);
        st.args.federation->forwarded_in.fetch_add(batch.size());
        for (auto& item : batch) {
          st.args.federation->forward_latency.record(now - item.accepted_at);
          self->send(st.args.supervisor, report_atom::value, std::move(item.group),
                     std::move(item.decision), item.score, item.accepted_at);
        }
        return ok_atom::value;
      },
      [=](subscribe_atom, std::vector<std::string>& groups) {
        auto* peer = sender_peer(self);
        if (!peer) return;
        auto& st = self->state;
        const auto index = index_of(st, *peer);
        for (auto& group : groups) {
          if (st.ownership->owner_of(group)) continue;  // not ours (any more)
          st.subscribers[group].insert(index);
          st.pushed.erase(group);  // push at the next round
          self->send(st.args.supervisor, ensure_atom::value, group);
        }
      },
      [=](mirror_atom, std::uint64_t covered, GroupRecord& record) {
        auto* peer = sender_peer(self);
        if (!peer) return;
        auto& st = self->state;
        const auto* owner = st.ownership->owner_of(record.key);
        if (!owner || *owner != peer->node->name) return;  // ours now, or moved on
        if (auto kept = st.retained.find(record.key); kept != st.retained.end()) {
          auto& reports = kept->second;
          while (!reports.empty() && reports.front().first <= covered) reports.pop_front();
          if (reports.empty()) st.retained.erase(kept);
        }
        try {
          auto policy = restore_policy(record.policy_state);
          auto slot = st.args.federation->mirrors.insert(record.key);
          slot->snapshot.store(policy->snapshot(wall_seconds()));
          slot->reports.store(record.reports);
          slot->decisions.store(record.decisions);
          slot->touch(static_cast<std::int64_t>(wall_seconds()));
          st.mirror_records[record.key] = std::move(record);
        } catch (const CorruptState& e) {
          spdlog::error("federation: unusable state of {} from {}: {}", record.key,
                        peer->node->name, e.what());
        }
      },
      [=](handoff_atom, std::vector<GroupRecord>& records) {
        auto* peer = sender_peer(self);
        if (!peer) return;
        auto& st = self->state;
        spdlog::info("federation: {} handed {} group(s) over", peer->node->name, records.size());
        for (auto& record : records) {
          st.args.federation->mirrors.erase(record.key);
          st.mirror_records.erase(record.key);
          self->send(st.args.supervisor, adopt_atom::value, std::move(record));
        }
      },
      // -- from this node's io threads (local-only types: a peer cannot forge them)
      [=](LocalForward& forward) {
        route_forward(self, std::move(forward.report));
        // Batches grow with load: send as soon as the burst that filled them is read.
        if (self->mailbox().empty()) flush_outboxes(self);
      },
      [=](LocalSample& sample) { add_sample(self, std::move(sample.sample)); },
      [=](LocalSubscribe& subscribe) {
        auto& st = self->state;
        if (!st.subscribed.count(subscribe.group)) st.to_subscribe.insert(subscribe.group);
        if (self->mailbox().empty()) flush_outboxes(self);
      },
      // -- timers
      [=](tick_atom) {
        tick(self);
        self->delayed_send<caf::message_priority::high>(
            self, millis(self->state.args.cluster->heartbeat_interval_s), tick_atom::value);
      },
      [=](push_atom) {
        flush_outboxes(self);
        push_snapshots(self);
        self->delayed_send(self, millis(self->state.args.cluster->snapshot_push_interval_s),
                           push_atom::value);
      },
      [=](regroup_atom) {
        regroup(self);
        self->delayed_send(self, millis(self->state.args.cluster->regroup_interval_s),
                           regroup_atom::value);
      },
  };
}

}  // namespace

std::string rendezvous_owner(const std::string& group, const std::vector<std::string>& members) {
  std::string best;
  std::uint64_t best_score = 0;
  for (const auto& member : members) {
    // FNV-1a mixes trailing bytes poorly ("fe-1" vs "fe-2"); a murmur3
    // finalizer spreads them over all 64 bits.
    auto score = hash_decision(group + '\x1f' + member);
    score ^= score >> 33;
    score *= 0xff51afd7ed558ccdull;
    score ^= score >> 33;
    score *= 0xc4ceb9fe1a85ec53ull;
    score ^= score >> 33;
    if (best.empty() || score > best_score || (score == best_score && member < best)) {
      best = member;
      best_score = score;
    }
  }
  return best;
}

caf::actor start_federation(caf::actor_system& system, FederationArgs args) {
  const auto* me = args.cluster->find(args.self_name);
  if (!me)
    throw std::runtime_error("--name: '" + args.self_name + "' is not a node of " +
                             args.cluster->source);
  const bool tls = args.cluster->tls.enabled();
  auto actor = system.spawn(federation, std::move(args));
  auto bound = tls ? caf::openssl::publish(actor, me->caf_port, me->host.c_str(), true)
                   : system.middleman().publish(actor, me->caf_port, me->host.c_str(), true);
  if (!bound) {
    caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    throw std::runtime_error("cannot listen for cluster peers on " + me->host + ":" +
                             std::to_string(me->caf_port) + ": " + system.render(bound.error()));
  }
  return actor;
}

}  // namespace pytheas
