// Federation links: the handshake, heartbeats, failure detection and
// reconnection, and the status page's picture of them.
//  * A link starts with a challenge-response on the cluster secret
//    (actors/federation/peer_auth.hpp); only then are the peer's messages taken.
//  * Frontends dial the backend; between frontends the smaller name dials.
//    The dialling side redials with exponential backoff.
//  * Heartbeats are urgent messages every heartbeat_interval_s; a peer silent
//    for peer_timeout_s, or silent with forwards unacknowledged for
//    forward_timeout_s, is marked down (which re-routes what it owned).
//  * Networks drop packets silently (a cut link sends no reset): the node
//    also has CAF's middleman close a connection silent for peer_timeout_s
//    (actors/node/node.cpp), so a redial after the heal opens a fresh one; and
//    the connector probes a peer with a short non-blocking connect before
//    CAF's blocking one, so an unreachable host costs a second, not the
//    kernel's SYN retries (minutes), and never holds up other links.

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include <cerrno>
#include <cstring>

#include "actors/common/stray_messages.hpp"
#include "actors/federation/federation_state.hpp"
#include "actors/federation/peer_auth.hpp"

namespace pytheas {

using namespace std::chrono_literals;

Peer* peer_named(FederationState& st, const std::string& name) {
  for (auto& peer : st.peers)
    if (peer.node->name == name) return &peer;
  return nullptr;
}

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

void mark_down(Federation* self, Peer& peer, const std::string& reason) {
  auto& st = self->state;
  if (!peer.up) return;
  spdlog::warn("federation: link to {} down: {}", peer.node->name, reason);
  peer.up = false;
  peer.leaving = false;
  peer.last_error = reason;
  st.peer_of.erase(peer.handle.address());
  self->demonitor(peer.handle);
  peer.handle = nullptr;
  peer.next_attempt = monotonic_seconds() + peer.backoff_s;
  // Forwards in flight may be lost with the link; their reports are retained
  // and go where their groups live now (recompute re-routes them).
  std::size_t in_flight = 0;
  for (const auto& [id, count] : peer.unacked) in_flight += count;
  st.args.shared->queue.release(in_flight + peer.outbox.size());
  peer.outbox.clear();
  peer.resync.clear();
  peer.unacked.clear();
  peer.sent_at.clear();
  peer.confirms.clear();
  forget_peer_requests(self, peer);
  recompute(self);
  flush_outboxes(self);
  publish_status(self);
}

void register_link(Federation* self, Peer& peer, caf::actor handle) {
  auto& st = self->state;
  if (peer.up) mark_down(self, peer, "replaced by a new link (peer restarted?)");
  spdlog::info("federation: linked with {} ({})", peer.node->name, to_string(peer.node->role));
  peer.handle = std::move(handle);
  peer.up = true;
  peer.leaving = false;
  peer.last_seen = monotonic_seconds();
  peer.backoff_s = 0.1;
  peer.last_error.clear();
  st.peer_of[peer.handle.address()] = index_of(st, peer);
  self->monitor(peer.handle);
}

void start_link(Federation* self, Peer& peer) {
  auto& st = self->state;
  if (!peer.up) return;
  if (st.me->serves_backend() && peer.node->serves_frontend())
    self->send(peer.handle, table_atom::value, st.table);
  if (st.leaving) self->send(peer.handle, leaving_atom::value);
  recompute(self);  // groups it owns go (back) to it
  // Groups we own without confirming (their last confirmer was out of reach)
  // settle again now that someone came back: it may be that confirmer.
  resettle_provisional(self);
  flush_outboxes(self);
  publish_status(self);
}

caf::result<challenge_atom, std::string> on_challenge(Federation* self) {
  auto& st = self->state;
  auto sender = self->current_sender();
  if (!sender) return caf::make_error(caf::sec::runtime_error, "anonymous challenge");
  auto nonce = make_nonce();
  if (st.challenges.size() > 256)  // strangers who never said hello
    std::erase_if(st.challenges, [now = monotonic_seconds()](const auto& entry) {
      return entry.second.second < now;
    });
  // One outstanding challenge per link; a handshake must follow promptly.
  st.challenges[caf::actor_cast<caf::actor_addr>(sender)] = {nonce, monotonic_seconds() + 10};
  return {challenge_atom::value, std::move(nonce)};
}

caf::result<welcome_atom, std::string, std::string> on_hello(Federation* self,
                                                             const std::string& name,
                                                             const std::string& their_nonce,
                                                             const std::string& proof,
                                                             GroupTableMessage& table) {
  auto& st = self->state;
  auto sender = caf::actor_cast<caf::actor>(self->current_sender());
  auto* peer = peer_named(st, name);
  std::string my_nonce;
  if (sender) {
    auto it = st.challenges.find(sender.address());
    if (it != st.challenges.end() && it->second.second > monotonic_seconds())
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
  else if (!same_secret(proof, handshake_proof(st.args.cluster->secret, "hello", name, my_nonce,
                                               their_nonce)))
    refusal = "wrong cluster secret";
  if (!refusal.empty()) {
    st.args.federation->refused_peers.fetch_add(1);
    spdlog::warn("federation: refused a peer claiming to be '{}': {}", name, refusal);
    return caf::make_error(caf::sec::runtime_error, "refused: " + refusal);
  }
  register_link(self, *peer, sender);
  if (st.me->serves_backend()) recover_table(self, table, name);
  self->send(self, welcome_atom::value, index_of(st, *peer));  // start_link, after the reply
  return {welcome_atom::value, st.me->name,
          handshake_proof(st.args.cluster->secret, "welcome", st.me->name, their_nonce, my_nonce)};
}

void connect(Federation* self, Peer& peer) {
  auto& st = self->state;
  peer.connecting = true;
  const auto index = index_of(st, peer);
  auto fail = [=](const std::string& why) {
    auto& peer = self->state.peers[index];
    peer.connecting = false;
    ++peer.attempts;
    if (why != peer.last_error)
      spdlog::warn("federation: cannot link to {} at {}:{}: {}", peer.node->name, peer.node->host,
                   peer.node->caf_port, why);
    peer.last_error = why;
    peer.backoff_s =
        std::min(peer.backoff_s * 2, self->state.args.cluster->reconnect_max_backoff_s);
    peer.next_attempt = monotonic_seconds() + peer.backoff_s;
  };
  self->request(peer.connector, 30s, connect_atom::value, peer.node->host, peer.node->caf_port,
                monotonic_seconds() + 25)
      .then(
          [=](caf::actor& handle) {
            // Challenge-response (actors/federation/peer_auth.hpp): the secret stays here.
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

namespace {

/// Whether something accepts TCP connections at host:port within `timeout`.
/// The probe connection is reset, not closed (a FIN on a TLS port makes CAF
/// 0.17's OpenSSL module drop that node's other links; a reset does not).
/// Empty when it does; else why not.
std::string probe(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return std::string("cannot resolve ") + host + ": " + ::gai_strerror(rc);
  std::string why = "no answer within " + std::to_string(timeout.count()) + " ms";
  for (auto* address = found; address; address = address->ai_next) {
    int fd = ::socket(address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      address->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, address->ai_addr, address->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd waiting{fd, POLLOUT, 0};
      rc = ::poll(&waiting, 1, static_cast<int>(timeout.count())) == 1 ? 0 : -1;
      if (rc == 0) {
        int error = 0;
        socklen_t size = sizeof error;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
        if (error != 0) {
          why = std::strerror(error);
          rc = -1;
        }
      }
    } else if (rc != 0) {
      why = std::strerror(errno);
    }
    linger reset{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    ::close(fd);
    if (rc == 0) {
      ::freeaddrinfo(found);
      return {};
    }
  }
  ::freeaddrinfo(found);
  return why;
}

}  // namespace

caf::behavior connector(caf::event_based_actor* self, bool tls) {
  tolerate_strays(self);
  return {
      [=](connect_atom, const std::string& host, std::uint16_t port,
          double deadline) -> caf::result<caf::actor> {
        // A request that waited past its deadline behind a slow one is moot.
        if (monotonic_seconds() > deadline)
          return caf::make_error(caf::sec::runtime_error, "dial abandoned (stale)");
        if (auto why = probe(host, port, std::chrono::milliseconds(1000)); !why.empty())
          return caf::make_error(caf::sec::runtime_error, why);
        auto result = tls ? caf::openssl::remote_actor<caf::actor>(self->system(), host, port)
                          : self->system().middleman().remote_actor(host, port);
        if (!result) return std::move(result.error());
        return std::move(*result);
      },
  };
}

void publish_status(Federation* self) {
  auto& st = self->state;
  auto status = std::make_shared<ClusterStatus>();
  status->node = st.me->name;
  status->role = to_string(st.me->role);
  status->cluster = st.me->cluster;
  status->table_version = st.table.version;
  status->table_groups = st.table.owners.size();
  status->owned_elsewhere = st.subscribed.size();
  status->mirrored = st.mirror_records.size();
  for (const auto& [group, subs] : st.subscribers) status->subscribers += subs.size();
  status->table_groups_by_cluster = st.table_groups_by_cluster;
  status->owned_by_cluster = st.owned_by_cluster;
  status->peer_timeout_s = st.args.cluster->peer_timeout_s;
  if (st.me->serves_backend()) {
    status->regroup_interval_s = st.args.cluster->regroup_interval_s;
    status->regrouped_at = st.regrouped_at;
  }
  const double now = monotonic_seconds();
  for (const auto& peer : st.peers) {
    PeerStatus p;
    p.name = peer.node->name;
    p.role = to_string(peer.node->role);
    p.cluster = peer.node->cluster;
    p.healthy = peer.up && !peer.leaving;
    p.last_seen_s = peer.last_seen < 0 ? -1 : now - peer.last_seen;
    p.last_error = peer.leaving ? "leaving" : peer.last_error;
    status->peers.push_back(std::move(p));
  }
  st.args.federation->status.store(std::move(status));
  st.args.federation->retained.store(st.retained_total, std::memory_order_relaxed);
}

void tick(Federation* self) {
  auto& st = self->state;
  const double now = monotonic_seconds();
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
      if (!peer.confirms.empty()) {
        self->send(peer.handle, confirm_atom::value, std::move(peer.confirms));
        peer.confirms = {};
      }
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
  // Groups whose owner refused their reports (its view lagged ours): again.
  for (auto& [group, out] : st.outgoing) {
    if (!out.refused) continue;
    out.refused = false;
    out.destination.clear();
    route_outgoing(self, group);
  }
  check_settles(self);
  flush_outboxes(self);
  if (st.took_over) {
    spdlog::info("federation: took over {} group(s) with their state from other members",
                 st.took_over);
    st.took_over = 0;
  }
  publish_status(self);
}

}  // namespace pytheas
