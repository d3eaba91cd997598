#pragma once
// OwnershipRule: which cluster member owns a group, computed the same way by
// every node of a cluster (no coordination, no round trip):
//  1. the group's *cluster*: the group table's entry if it lists the group,
//     else the first pin whose glob matches, else the frontend cluster that
//     sees the session (the caller's own cluster, as in the original Pytheas);
//  2. its *home*: among all configured members of that cluster, the one with
//     the highest rendezvous score of (group, member); the home is where the
//     group's state lives in steady state and the only member that confirms
//     reports as durably applied (actors/federation/federation_relay.cpp);
//  3. its *owner*: the same rendezvous among the members of that cluster that
//     are alive; when none is, among every living frontend (any cluster), so
//     a group whose cluster is down still has exactly one owner;
//  4. its *standby*: the owner it would have if its home died; the home keeps
//     a copy of the group's state there, so whoever takes the group over
//     finds everything the home confirmed.
// A group is *confirmable* when its cluster comes from the table or a pin:
// an untabled group may be owned in several clusters at once (each that sees
// it), so its state stays provisional until the table decides.
//
// OwnershipView is an immutable value (one per table version and liveness
// change), safe to share between threads.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pytheas {

/// The rendezvous score of `member` for a group whose key hashes to
/// `group_hash` (hash_decision of the key): highest score wins.
std::uint64_t rendezvous_score(std::uint64_t group_hash, std::uint64_t member_hash);

/// The member of `members` with the highest rendezvous score for `group`
/// (ties: the smallest name); empty if `members` is empty.
std::string rendezvous_owner(std::string_view group, const std::vector<std::string>& members);

/// A frontend-serving member of the cluster file.
struct ClusterMember {
  std::string name;
  std::string cluster;
};

/// The answer for one group.
struct GroupOwnership {
  const std::string* owner = nullptr;  ///< member name; null only with no living frontend at all
  const std::string* home = nullptr;   ///< member name; null if its cluster has no member
  /// Where the home keeps a copy of the group's state: the member that would
  /// own the group if the home died (the same rendezvous without the home);
  /// null when no other frontend is alive.
  const std::string* standby = nullptr;
  bool confirmable = false;  ///< the cluster came from the table or a pin
};

class OwnershipView {
 public:
  /// `pin`: the cluster a group is pinned to, or null. `table`: group ->
  /// cluster (may be null: no table yet). `alive(name)` says whether a member
  /// is alive in this view.
  using PinFn = std::function<const std::string*(std::string_view group)>;
  OwnershipView(std::vector<ClusterMember> members, PinFn pin,
                std::shared_ptr<const std::map<std::string, std::string>> table,
                const std::function<bool(const std::string&)>& alive, std::uint64_t version);

  /// Ownership of `group` as seen by a member of `seeing_cluster` (which
  /// decides untabled, unpinned groups).
  GroupOwnership of(std::string_view group, std::string_view seeing_cluster) const;

  /// The group's cluster: table, else pin, else `seeing_cluster`.
  std::string_view cluster_of(std::string_view group, std::string_view seeing_cluster,
                              bool* confirmable = nullptr) const;

  std::uint64_t version() const { return version_; }
  const std::map<std::string, std::string>* table() const { return table_.get(); }
  bool alive(const std::string& member) const;

 private:
  struct Member {
    std::string name;
    std::uint64_t hash;
    bool alive;
  };
  /// The highest-scoring member of `candidates` (indices into members_).
  const std::string* pick(std::uint64_t group_hash, const std::vector<std::size_t>& candidates,
                          bool living_only, const std::string* excluded = nullptr) const;

  std::vector<Member> members_;
  std::map<std::string, std::vector<std::size_t>, std::less<>> by_cluster_;
  std::vector<std::size_t> all_;
  PinFn pin_;
  std::shared_ptr<const std::map<std::string, std::string>> table_;
  std::uint64_t version_ = 0;
};

}  // namespace pytheas
