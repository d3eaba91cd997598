#pragma once
// Messages between the nodes of a cluster (CAF remote actors). Every type that
// crosses a process boundary is registered by add_federation_types() on every
// node: CAF refuses a message whose type the receiving side does not know.
// Everything a peer sends is checked against its handshake
// (actors/federation/federation_links.cpp) and attributed to it: a report's origin is the
// link it came on, never a field a peer could forge.
//
//   (challenge) -> (challenge, nonce)             handshake, see actors/federation/peer_auth.hpp
//   (hello, name, nonce, proof, GroupTableMessage) -> (welcome, name, proof)
//   (heartbeat)                                   liveness, both directions (urgent)
//   (leaving)                                     the sender stops: take its groups
//   (samples, vector<SampledReport>)              frontend -> backend
//   (table, GroupTableMessage)                    backend -> frontends (and back after a
//                                                 backend restart)
//   (forward, batch_id, resync_groups, vector<ForwardedReport>) -> (ok, refused_groups)
//                                                 origin -> owner: reports to apply; for each
//                                                 group in resync_groups the origin starts over
//                                                 from its oldest unconfirmed report
//   (confirm, vector<Confirmation>)               home -> origin: durable up to this stamp
//   (fetch, vector<FetchItem>) -> (fetch, vector<GroupRecord>, busy_groups)
//                                                 new owner -> everyone: your state of
//                                                 these groups (or of their parents)
//   (resend, group, ReportMarks)                  owner -> origins: my state of `group`
//                                                 changed base; send me again what it lacks
//   (offer, vector<string>)                       old owner -> new owner: these groups are
//                                                 yours now (fetch their state, serve them)
//   (subscribe, vector<string>)                   frontend -> owner: push me these groups
//   (mirror, GroupRecord)                         owner -> subscribers: a group's state
//   (standby, GroupRecord) -> ok                  home -> its standby: keep this copy (the
//                                                 home then confirms what it includes)

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <map>
#include <string>
#include <vector>

#include "actors/common/messages.hpp"

namespace pytheas {

using hello_atom = caf::atom_constant<caf::atom("hello")>;
using welcome_atom = caf::atom_constant<caf::atom("welcome")>;
using challenge_atom = caf::atom_constant<caf::atom("challenge")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using leaving_atom = caf::atom_constant<caf::atom("leaving")>;
using samples_atom = caf::atom_constant<caf::atom("samples")>;
using table_atom = caf::atom_constant<caf::atom("table")>;
using forward_atom = caf::atom_constant<caf::atom("forward")>;
using confirm_atom = caf::atom_constant<caf::atom("confirm")>;
using fetch_atom = caf::atom_constant<caf::atom("fetch")>;
using resend_atom = caf::atom_constant<caf::atom("resend")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using offer_atom = caf::atom_constant<caf::atom("offer")>;
using mirror_atom = caf::atom_constant<caf::atom("mirror")>;
using standby_atom = caf::atom_constant<caf::atom("standby")>;
using export_atom = caf::atom_constant<caf::atom("export")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using push_atom = caf::atom_constant<caf::atom("push")>;
using connect_atom = caf::atom_constant<caf::atom("connect")>;

/// A report accepted by its origin for a group another node owns. The origin
/// is the link it arrives on; (epoch, seq) is the rest of its stamp.
struct ForwardedReport {
  std::string group;
  std::string decision;
  double score = 0;
  double accepted_at = 0;  ///< monotonic seconds (this process's) it was accepted
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
};

/// Crosses as an age (time since the origin accepted it, by the origin's
/// monotonic clock), never as an instant of the origin's clock: the
/// receiver's forward latency must not include the clocks' skew.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ForwardedReport& x) {
  double age = std::max(0.0, monotonic_seconds() - x.accepted_at);
  return f(caf::meta::type_name("pytheas.forwarded_report"), x.group, x.decision, x.score, age,
           x.epoch, x.seq, caf::meta::load_callback([&]() -> caf::error {
             x.accepted_at = monotonic_seconds() - age;
             return caf::none;
           }));
}

/// A group's home to one origin: every report of yours for `group` up to this
/// stamp is durably in its state; you may forget them.
struct Confirmation {
  std::string group;
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Confirmation& x) {
  return f(caf::meta::type_name("pytheas.confirmation"), x.group, x.epoch, x.seq);
}

/// One group a new owner settles: its key and, after a regrouping, the key
/// of the group it was split from or merged into (to start from its state).
struct FetchItem {
  std::string group;
  std::string parent;  ///< empty: none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, FetchItem& x) {
  return f(caf::meta::type_name("pytheas.fetch_item"), x.group, x.parent);
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
  /// Learned grouping: new group -> the group of the previous rules that held
  /// most of its sessions (its state is where the new group starts).
  std::map<std::string, std::string> parents;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, GroupTableMessage& x) {
  return f(caf::meta::type_name("pytheas.group_table"), x.version, x.owners, x.rules, x.parents);
}

/// Registers every type that crosses a node boundary. Call on the config of
/// every node, before the actor system starts.
inline void add_federation_types(caf::actor_system_config& config) {
  config.add_message_type<ForwardedReport>("pytheas.forwarded_report");
  config.add_message_type<std::vector<ForwardedReport>>("pytheas.forwarded_reports");
  config.add_message_type<Confirmation>("pytheas.confirmation");
  config.add_message_type<std::vector<Confirmation>>("pytheas.confirmations");
  config.add_message_type<FetchItem>("pytheas.fetch_item");
  config.add_message_type<std::vector<FetchItem>>("pytheas.fetch_items");
  config.add_message_type<SampledReport>("pytheas.sampled_report");
  config.add_message_type<std::vector<SampledReport>>("pytheas.sampled_reports");
  config.add_message_type<GroupTableMessage>("pytheas.group_table");
  config.add_message_type<ReportMarks::Mark>("pytheas.report_mark");
  config.add_message_type<std::vector<ReportMarks::Mark>>("pytheas.report_mark_list");
  config.add_message_type<ReportMarks>("pytheas.report_marks");
  config.add_message_type<GroupRecord>("pytheas.group_record");
  config.add_message_type<std::vector<GroupRecord>>("pytheas.group_records");
}

}  // namespace pytheas
