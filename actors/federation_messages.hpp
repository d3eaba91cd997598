#pragma once
// Messages between the nodes of a cluster (CAF remote actors) and between a
// node's federation actor and its supervisor. Every type that crosses a
// process boundary is registered by add_federation_types() on every node:
// CAF refuses a message whose type the receiving side does not know.
//
// Between nodes (all checked against the sender's handshake, see
// actors/federation.hpp):
//   (challenge) -> (challenge, nonce)          handshake, see actors/peer_auth.hpp
//   (hello, name, nonce, proof, GroupTableMessage) -> (welcome, name, proof)
//   (heartbeat)                                liveness, both directions
//   (samples, vector<SampledReport>)           frontend -> backend
//   (table, GroupTableMessage)                 backend -> frontends (and back after a backend
//   restart) (forward, batch_id, vector<ForwardedReport>) -> ok   frontend -> owner of the groups
//   (subscribe, vector<string>)                frontend -> owner: push me these groups
//   (mirror, covered_batch_id, GroupRecord)    owner -> subscribers: a group's state,
//                                              including the subscriber's batches <= covered
//   (handoff, vector<GroupRecord>)             adopter -> returning owner: take these back
// Inside a node:
//   (export, key) -> GroupRecord               supervisor delegates to the group actor
//   (adopt, GroupRecord)                       supervisor: serve this group from this state
//   (handoff, vector<string>) -> vector<GroupRecord>  supervisor: passivate and hand over

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <map>
#include <string>
#include <vector>

#include "actors/messages.hpp"

namespace pytheas {

using hello_atom = caf::atom_constant<caf::atom("hello")>;
using welcome_atom = caf::atom_constant<caf::atom("welcome")>;
using challenge_atom = caf::atom_constant<caf::atom("challenge")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using samples_atom = caf::atom_constant<caf::atom("samples")>;
using table_atom = caf::atom_constant<caf::atom("table")>;
using forward_atom = caf::atom_constant<caf::atom("forward")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using mirror_atom = caf::atom_constant<caf::atom("mirror")>;
using handoff_atom = caf::atom_constant<caf::atom("handoff")>;
using export_atom = caf::atom_constant<caf::atom("export")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using push_atom = caf::atom_constant<caf::atom("push")>;
using regroup_atom = caf::atom_constant<caf::atom("regroup")>;
using connect_atom = caf::atom_constant<caf::atom("connect")>;
using sample_atom = caf::atom_constant<caf::atom("sample")>;

/// A report accepted by one frontend for a group another node owns.
struct ForwardedReport {
  std::string group;
  std::string decision;
  double score = 0;
  double accepted_at = 0;  ///< wall seconds at the accepting node's ingress
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ForwardedReport& x) {
  return f(caf::meta::type_name("pytheas.forwarded_report"), x.group, x.decision, x.score,
           x.accepted_at);
}

/// A sampled session for the backend: what it needs to assign groups (and to
/// learn groupings): features, the group the frontend put it in, the outcome.
struct SampledReport {
  std::vector<std::string> features;  ///< in schema order; empty when unknown
  std::string group;
  std::string decision;
  double score = 0;
  std::string cluster;  ///< set by the backend from the sender's membership
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SampledReport& x) {
  return f(caf::meta::type_name("pytheas.sampled_report"), x.features, x.group, x.decision, x.score,
           x.cluster);
}

/// The backend's group table: which frontend cluster owns each group. Newer
/// versions replace older ones; a node never goes back to an older version.
struct GroupTableMessage {
  std::uint64_t version = 0;
  std::map<std::string, std::string> owners;  ///< group -> frontend cluster
  /// Learned grouping rules (rules_to_yaml); empty: each node groups by its
  /// label config.
  std::string rules;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, GroupTableMessage& x) {
  return f(caf::meta::type_name("pytheas.group_table"), x.version, x.owners, x.rules);
}

/// Registers every type that crosses a node boundary. Call on the config of
/// every node, before the actor system starts.
inline void add_federation_types(caf::actor_system_config& config) {
  config.add_message_type<ForwardedReport>("pytheas.forwarded_report");
  config.add_message_type<std::vector<ForwardedReport>>("pytheas.forwarded_reports");
  config.add_message_type<SampledReport>("pytheas.sampled_report");
  config.add_message_type<std::vector<SampledReport>>("pytheas.sampled_reports");
  config.add_message_type<GroupTableMessage>("pytheas.group_table");
  config.add_message_type<GroupRecord>("pytheas.group_record");
  config.add_message_type<std::vector<GroupRecord>>("pytheas.group_records");
}

}  // namespace pytheas
