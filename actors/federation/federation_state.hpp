#pragma once
// The federation actor's state, and the functions each of its parts offers
// the others. Internal to actors/federation/; one actor owns it, so
// nothing here is thread-safe (and nothing needs to be).
//
//   federation.cpp            the behavior: which message goes to which part
//   federation_links.cpp      links: handshake, heartbeats, reconnects, status
//   federation_ownership.cpp  the group table and members' health -> who owns what
//   federation_relay.cpp      reports: stamps, retention until confirmed, forwarding
//   federation_settle.cpp     group state: settling a new owner, mirrors for decisions
//   federation_table.cpp      backend: samples, regrouping, the table's persistence

#include <caf/actor.hpp>
#include <caf/stateful_actor.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/common/federation_messages.hpp"
#include "actors/federation/federation.hpp"
#include "actors/federation/federation_local.hpp"
#include "actors/group/supervisor.hpp"  // ok_atom
#include "actors/learning/grouping_actor.hpp"
#include "core/owner_assignment.hpp"
#include "core/ownership_rule.hpp"

namespace pytheas {

/// One other member of the cluster, as this node sees it.
struct Peer {
  const ClusterNode* node = nullptr;
  std::uint64_t origin = 0;  ///< origin_id(name): how its reports are stamped
  bool dial = false;         ///< we open the link (else we wait for its hello)
  caf::actor connector;      ///< dialling side: does the blocking connect
  caf::actor handle;         ///< its federation actor, while linked
  bool up = false;
  bool leaving = false;  ///< said it stops: owns nothing, still answers fetches
  bool connecting = false;
  double last_seen = -1;
  double backoff_s = 0.1;
  double next_attempt = 0;
  int attempts = 0;  ///< link attempts so far (dialling side)
  std::string last_error;
  // Reports for groups it owns, waiting for a place in the window.
  std::vector<ForwardedReport> outbox;
  std::set<std::string> resync;  ///< groups restarting from their oldest report (next batch)
  std::uint64_t next_batch = 1;
  std::map<std::uint64_t, std::size_t> unacked;  ///< batch id -> reports in it
  std::map<std::uint64_t, double> sent_at;       ///< monotonic seconds each unacked batch left
  std::vector<Confirmation> confirms;            ///< for its reports, sent at the next tick
};

/// A report this node accepted and whose group's home has not yet confirmed
/// it durable: kept to send again wherever the group's state goes.
struct Retained {
  std::string decision;
  double score = 0;
  double accepted_at = 0;
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
  std::uint64_t wal_seq = 0;  ///< its write-ahead log record (0: none)
};

/// The reports of one group this node accepted and must keep.
struct Outgoing {
  std::deque<Retained> unconfirmed;  ///< stamp order
  std::string destination;           ///< the member they go to now ("": none yet)
  std::size_t sent = 0;              ///< unconfirmed[0, sent) went to `destination`
  bool refused = false;              ///< the destination refused them: retry at the next tick
};

/// A group this node owns whose base state is being chosen.
struct Settling {
  std::string parent;                   ///< to inherit from if nobody has the group
  std::vector<GroupRecord> candidates;  ///< what the others had
  std::size_t waiting = 0;              ///< fetch answers outstanding
  bool busy = false;                    ///< a member still thinks it owns the group
  bool asked = false;                   ///< the members were asked at least once
  std::set<std::string> answered;       ///< members that answered (and gave the group up)
  int attempts = 0;
  double deadline = 0;              ///< monotonic seconds; settle with what came by then
  std::vector<ReportItem> pending;  ///< reports held until the state is chosen
};

struct FederationState {
  FederationArgs args;
  const ClusterNode* me = nullptr;
  std::uint64_t origin = 0;  ///< origin_id(me)
  std::uint64_t epoch = 0;   ///< this run's stamp epoch
  std::uint64_t next_seq = 0;
  double started_at = 0;  ///< monotonic seconds
  bool leaving = false;
  std::vector<Peer> peers;
  std::unordered_map<caf::actor_addr, std::size_t> peer_of;
  std::unordered_map<std::uint64_t, std::size_t> peer_by_origin;

  // Ownership (federation_ownership.cpp).
  GroupTableMessage table;
  std::shared_ptr<const OwnershipView> view;
  std::string installed_rules;
  /// Per cluster: the table's groups, and those this node owns in `view`
  /// (recompute(); shown by /metrics). Backend: when it last regrouped.
  std::map<std::string, std::size_t> table_groups_by_cluster;
  std::map<std::string, std::size_t> owned_by_cluster;
  double regrouped_at = 0;

  // Reports this node accepted (federation_relay.cpp).
  std::unordered_map<std::string, Outgoing> outgoing;
  std::uint64_t retained_total = 0;

  // Groups this node owns (federation_settle.cpp).
  /// A group settled here: whether our view made us its home, and whether we
  /// confirm its reports (the home, once the group's last confirmer gave it
  /// up; until then a provisional owner, settled again when members relink).
  struct SettledGroup {
    bool home = false;
    bool confirming = false;
  };
  std::unordered_map<std::string, SettledGroup> settled;
  std::unordered_map<std::string, Settling> settling;
  /// group -> origins whose reports are dropped until they start over (after
  /// the group's state here was replaced by an older-based copy).
  std::unordered_map<std::string, std::unordered_set<std::uint64_t>> resyncing;
  std::map<std::size_t, std::vector<FetchItem>> fetch_out;  ///< peer -> asks for its next flush
  std::size_t took_over = 0;  ///< groups settled from another member's copy since the last log
  /// Groups we are the confirming home of that took reports (or duplicates)
  /// since their last copy went to their standby.
  std::unordered_set<std::string> replication_due;
  std::unordered_set<std::string> replicating;  ///< copies on their way to the standby
  bool other_frontends = false;                 ///< the cluster file lists a frontend besides us

  // Mirrors: groups owned elsewhere, for decisions (federation_settle.cpp).
  std::unordered_map<std::string, GroupRecord> mirror_records;
  std::unordered_map<std::string, std::string> subscribed;  ///< group -> owner asked
  std::unordered_set<std::string> to_subscribe;
  std::unordered_map<std::string, std::set<std::size_t>> subscribers;  ///< our groups -> peers
  std::unordered_map<std::string, std::uint64_t> pushed;  ///< reports count at the last push

  // Backend (federation_table.cpp).
  std::vector<SampledReport> sample_outbox;
  OwnerAssignment assignment;
  caf::actor learner;  ///< the grouping actor, when the backend learns the grouping

  std::uint64_t unauthenticated = 0;
  /// Nonces we issued, per dialling actor, with their expiry (monotonic seconds).
  std::unordered_map<caf::actor_addr, std::pair<std::string, double>> challenges;
  static inline const char* name = "pytheas.federation";
};

using Federation = caf::stateful_actor<FederationState>;

// ---- federation_links.cpp
Peer* peer_named(FederationState& st, const std::string& name);
Peer* sender_peer(Federation* self);  ///< the sender, if it completed the handshake
std::size_t index_of(const FederationState& st, const Peer& peer);
caf::behavior connector(caf::event_based_actor* self, bool tls);
void connect(Federation* self, Peer& peer);
void register_link(Federation* self, Peer& peer, caf::actor handle);
void start_link(Federation* self, Peer& peer);
void mark_down(Federation* self, Peer& peer, const std::string& reason);
void tick(Federation* self);
void publish_status(Federation* self);
/// Handles a hello (the accepting side of the handshake).
caf::result<welcome_atom, std::string, std::string> on_hello(Federation* self,
                                                             const std::string& name,
                                                             const std::string& their_nonce,
                                                             const std::string& proof,
                                                             GroupTableMessage& table);
caf::result<challenge_atom, std::string> on_challenge(Federation* self);

// ---- federation_ownership.cpp
/// Rebuilds the ownership view from the table and who is alive, acts on what
/// moved (reports re-routed, groups unsettled, mirrors resubscribed) and
/// publishes it to the io threads.
void recompute(Federation* self);
/// Who owns `group` for a session seen by a member of `seeing_cluster`.
GroupOwnership ownership_of(const FederationState& st, const std::string& group,
                            const std::string& seeing_cluster);
/// Whether this node owns `group` (for its own sessions).
bool owned_here(const FederationState& st, const std::string& group);
/// Whether this node is `group`'s home and the group is in the table or pinned:
/// then this node confirms the group's reports.
bool confirming_home(const FederationState& st, const std::string& group);
void install_table(Federation* self, GroupTableMessage table, const std::string& from);
void install_rules(Federation* self);
/// A member that does not learn shows, on GET /v1/grouping, the grouping in
/// force: the label config's until the learner's rules arrive (null), then
/// those.
void publish_received_grouping(Federation* self, const RuleNode* rules);

// ---- federation_relay.cpp
void accept_local(Federation* self, LocalReport report);
/// Sends `group`'s unconfirmed reports that its current owner has not had.
void route_outgoing(Federation* self, const std::string& group);
void reroute_all(Federation* self);
std::vector<std::string> on_forward(Federation* self, Peer& from, std::vector<std::string>& resync,
                                    std::vector<ForwardedReport>& batch);
void on_confirm(Federation* self, std::vector<Confirmation>& confirmations, std::uint64_t origin);
void on_resend(Federation* self, const std::string& group, const ReportMarks& marks,
               Peer* to);  ///< to: the owner asking (null: ourselves)
void on_saved(Federation* self, std::vector<GroupRecord>& records);
/// Timer: copies changed groups we are home of to their standby; confirms
/// to the origins what the standby acknowledged.
void replicate(Federation* self);
/// Confirms the marks of `record` (a state its standby holds) to their origins.
void confirm_to_origins(Federation* self, const std::string& group, const ReportMarks& marks);
void flush_outboxes(Federation* self);
/// Hands a report to the local group (or holds it while the group settles).
void deliver_local(Federation* self, const std::string& group, ReportItem item);

// ---- federation_settle.cpp
/// Whether this node knows who is there: every peer linked, or tried (we
/// dial it and failed once), or silent for peer_timeout_s since we started.
/// Groups settle only then, so a restarted node sees the copies others hold.
bool knows_members(const FederationState& st);
void start_settle(Federation* self, const std::string& group);
/// Settles again the groups we are home of but do not confirm.
void resettle_provisional(Federation* self);
void check_settles(Federation* self);  ///< timers: settle what waited long enough
void flush_fetches(Federation* self);
caf::result<fetch_atom, std::vector<GroupRecord>, std::vector<std::string>> on_fetch(
    Federation* self, Peer& from, std::vector<FetchItem>& items);
void on_mirror(Federation* self, Peer& from, GroupRecord& record);
/// Keeps a home's copy of a group for which we are the standby.
void on_standby(Federation* self, Peer& from, GroupRecord& record);
void on_subscribe(Federation* self, Peer& from, std::vector<std::string>& groups);
void push_snapshots(Federation* self);
void flush_subscriptions(Federation* self);
/// Forgets what a peer that went down was asked or was subscribed to.
void forget_peer_requests(Federation* self, Peer& peer);

// ---- federation_table.cpp
void load_table(FederationState& st);
void save_table(const FederationState& st);
void add_sample(Federation* self, SampledReport sample);
void on_samples(Federation* self, Peer& from, std::vector<SampledReport>& samples);
void regroup(Federation* self);
/// Backend: the learner's outcome becomes the group table.
void on_learned(Federation* self, const RegroupNotice& notice);
void publish_grouping_status(Federation* self, double seconds);
/// Backend: takes a frontend's table when ours is older (we lost our state).
void recover_table(Federation* self, GroupTableMessage& table, const std::string& from);

}  // namespace pytheas
