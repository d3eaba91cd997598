// The federation actor's behavior: which message goes to which part (see
// actors/federation/federation_state.hpp for the parts), its timers, and its start.

#include "actors/federation/federation.hpp"

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/common/stray_messages.hpp"
#include "actors/federation/federation_state.hpp"

namespace pytheas {

namespace {

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long>(seconds * 1000));
}

/// Sets up peers, the backend's learner and table, and the first view.
void init(Federation* self, FederationArgs args) {
  auto& st = self->state;
  st.args = std::move(args);
  st.me = st.args.cluster->find(st.args.self_name);
  st.origin = origin_id(st.me->name);
  st.epoch = st.args.epoch;
  st.started_at = monotonic_seconds();
  // A backend just started is not late; a timestamp for Prometheus (wall time).
  st.regrouped_at = wall_seconds();
  for (const auto& node : st.args.cluster->nodes)
    if (node.serves_frontend() && node.name != st.me->name) st.other_frontends = true;
  const bool tls = st.args.cluster->tls.enabled();
  st.peers.reserve(st.args.cluster->nodes.size());
  for (const auto& node : st.args.cluster->nodes) {
    if (node.name == st.me->name) continue;
    Peer peer;
    peer.node = &node;
    peer.origin = origin_id(node.name);
    // Frontends dial the backend; between frontends the smaller name dials.
    peer.dial = (!st.me->serves_backend() && node.serves_backend()) ||
                (st.me->role == NodeRole::frontend && node.role == NodeRole::frontend &&
                 st.me->name < node.name);
    if (peer.dial) peer.connector = self->spawn<caf::detached>(connector, tls);
    st.peer_by_origin[peer.origin] = st.peers.size();
    st.peers.push_back(std::move(peer));
  }
  if (st.me->serves_backend()) {
    auto cluster = st.args.cluster;  // the lambda keeps the config alive
    st.assignment.set_pins(
        [cluster](const std::string& group) { return cluster->pinned_cluster(group); });
    // The backend learns the grouping when the cluster file says `learned`,
    // or says nothing and the label config learns (its default).
    const auto& mode = st.args.cluster->grouping;
    if (mode == "learned" || (mode.empty() && st.args.labels && st.args.labels->learning.enabled)) {
      GroupingActorArgs learning;
      learning.config = st.args.labels ? st.args.labels : std::make_shared<const LabelConfig>();
      learning.shared = st.args.grouping;
      learning.sink = self;
      learning.install = false;  // the table carries the rules to every member, us included
      if (mode == "learned") {
        RegrouperOptions options;
        options.learner = st.args.cluster->learner;
        options.window = st.args.cluster->learner_window;
        // The cluster file has no min_samples: learn once every group could hold two.
        options.min_samples = std::min(options.window, 2 * options.learner.min_group_size);
        learning.options = options;
      }
      learning.regroup_interval_s = st.args.cluster->regroup_interval_s;
      st.learner = spawn_grouping_actor(self->system(), std::move(learning));
    }
  }
  // Every member starts from the last table it knew (its state dir): a
  // restarted frontend that waited for the backend's push would meanwhile
  // serve every group it sees as untabled, beside the groups' real owners.
  load_table(st);
  // A frontend shows the label config's grouping until rules are installed.
  if (!st.me->serves_backend()) publish_received_grouping(self, nullptr);
  install_rules(self);
  st.args.grouping->table_version.store(st.table.version);
  if (st.me->serves_backend()) publish_grouping_status(self, 0);
  recompute(self);
  publish_status(self);
}

caf::behavior federation(Federation* self, FederationArgs args) {
  tolerate_strays(self);
  init(self, std::move(args));
  self->set_down_handler([=](caf::down_msg& down) {
    auto it = self->state.peer_of.find(caf::actor_cast<caf::actor_addr>(down.source));
    if (it == self->state.peer_of.end()) return;
    mark_down(self, self->state.peers[it->second],
              "link lost (" + self->system().render(down.reason) + ")");
  });
  self->set_exit_handler([=](caf::exit_msg& exit) {
    for (auto& peer : self->state.peers)
      if (peer.connector) self->send_exit(peer.connector, exit.reason);
    if (self->state.learner) self->send_exit(self->state.learner, exit.reason);
    self->quit(exit.reason);
  });
  const auto& cfg = *self->state.args.cluster;
  // The first tick (and so the first dial) comes from start_federation once
  // we listen: a dial must never hold up our own listening socket.
  self->delayed_send(self, millis(cfg.snapshot_push_interval_s), push_atom::value);
  if (self->state.me->serves_backend())
    self->delayed_send(self, millis(cfg.regroup_interval_s), regroup_atom::value);
  self->delayed_send(self, millis(cfg.replicate_interval_s), replicate_atom::value);
  return {
      // -- handshake (the only messages accepted before it)
      [=](challenge_atom) { return on_challenge(self); },
      [=](hello_atom, const std::string& name, const std::string& their_nonce,
          const std::string& proof,
          GroupTableMessage& table) { return on_hello(self, name, their_nonce, proof, table); },
      [=](welcome_atom, std::size_t index) {
        if (self->current_sender().get() != self->ctrl()) return;  // only our own reminder
        start_link(self, self->state.peers.at(index));
      },
      // -- between members
      [=](heartbeat_atom) {
        if (auto* peer = sender_peer(self)) peer->last_seen = monotonic_seconds();
      },
      [=](leaving_atom) {
        auto* peer = sender_peer(self);
        if (!peer || peer->leaving) return;
        spdlog::info("federation: {} is leaving; its groups move", peer->node->name);
        peer->leaving = true;
        recompute(self);
        flush_outboxes(self);
        publish_status(self);
      },
      [=](samples_atom, std::vector<SampledReport>& samples) {
        if (auto* peer = sender_peer(self)) on_samples(self, *peer, samples);
      },
      [=](table_atom, GroupTableMessage& table) {
        auto* peer = sender_peer(self);
        if (!peer) return;
        peer->last_seen = monotonic_seconds();
        install_table(self, std::move(table), peer->node->name);
      },
      [=](forward_atom, std::uint64_t, std::vector<std::string>& resync,
          std::vector<ForwardedReport>& batch) -> caf::result<ok_atom, std::vector<std::string>> {
        auto* peer = sender_peer(self);
        if (!peer) return caf::make_error(caf::sec::runtime_error, "no handshake");
        peer->last_seen = monotonic_seconds();
        return {ok_atom::value, on_forward(self, *peer, resync, batch)};
      },
      [=](confirm_atom, std::vector<Confirmation>& confirmations) {
        if (sender_peer(self)) on_confirm(self, confirmations, self->state.origin);
      },
      [=](fetch_atom, std::vector<FetchItem>& items)
          -> caf::result<fetch_atom, std::vector<GroupRecord>, std::vector<std::string>> {
        auto* peer = sender_peer(self);
        if (!peer) return caf::make_error(caf::sec::runtime_error, "no handshake");
        return on_fetch(self, *peer, items);
      },
      [=](resend_atom, const std::string& group, const ReportMarks& marks) {
        if (auto* peer = sender_peer(self)) {
          on_resend(self, group, marks, peer);
          flush_outboxes(self);
        }
      },
      [=](offer_atom, std::vector<std::string>& groups) {
        if (!sender_peer(self)) return;
        auto& st = self->state;
        for (const auto& group : groups) {
          if (!owned_here(st, group)) continue;
          // Provisional here (the offerer may be the confirmer we waited for): again.
          if (auto it = st.settled.find(group); it != st.settled.end() && !it->second.confirming)
            st.settled.erase(it);
          start_settle(self, group);
        }
        flush_outboxes(self);
      },
      [=](subscribe_atom, std::vector<std::string>& groups) {
        if (auto* peer = sender_peer(self)) on_subscribe(self, *peer, groups);
      },
      [=](mirror_atom, GroupRecord& record) {
        if (auto* peer = sender_peer(self)) on_mirror(self, *peer, record);
      },
      [=](standby_atom, GroupRecord& record) -> caf::result<ok_atom> {
        auto* peer = sender_peer(self);
        if (!peer) return caf::make_error(caf::sec::runtime_error, "no handshake");
        on_standby(self, *peer, record);
        return ok_atom::value;
      },
      // -- from this node (local-only types: a peer cannot forge them)
      [=](LocalReport& report) {
        accept_local(self, std::move(report));
        // Batches grow with load: send as soon as the burst that filled them is read.
        if (self->mailbox().empty()) flush_outboxes(self);
      },
      [=](LocalSample& sample) { add_sample(self, std::move(sample.sample)); },
      [=](LocalEnsure& ensure) {
        auto& st = self->state;
        if (owned_here(st, ensure.group)) {
          if (st.settled.count(ensure.group))
            self->send(st.args.supervisor, ensure_atom::value, ensure.group);
          else
            start_settle(self, ensure.group);
        } else if (!st.subscribed.count(ensure.group)) {
          st.to_subscribe.insert(ensure.group);
        }
        if (self->mailbox().empty()) flush_outboxes(self);
      },
      [=](LocalSaved& saved) { on_saved(self, saved.records); },
      [=](regroup_atom, RegroupNotice& notice) {
        if (self->current_sender() == self->state.learner.address()) on_learned(self, notice);
      },
      [=](LocalLeave) {
        auto& st = self->state;
        if (st.leaving) return;
        spdlog::info("federation: leaving the cluster; handing groups over");
        st.leaving = true;
        for (auto& peer : st.peers)
          if (peer.up) self->send<caf::message_priority::high>(peer.handle, leaving_atom::value);
        recompute(self);
        flush_outboxes(self);
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
      [=](replicate_atom) {
        replicate(self);
        self->delayed_send(self, millis(self->state.args.cluster->replicate_interval_s),
                           replicate_atom::value);
      },
      [=](regroup_atom) {
        regroup(self);
        self->delayed_send(self, millis(self->state.args.cluster->regroup_interval_s),
                           regroup_atom::value);
      },
  };
}

}  // namespace

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
  caf::anon_send<caf::message_priority::high>(actor, tick_atom::value);
  return actor;
}

}  // namespace pytheas
