#pragma once
// GroupingActor: a node's grouping learner (core/regrouper.hpp), on a thread
// of its own (a detached actor: a learn takes up to a second and must never
// hold up the actors that route reports or the io threads that decide).
// Runs on nodes that learn their groups: an all-in-one node, and a cluster's
// backend (role backend or all).
//  * Takes sampled sessions: (LocalGroupingSample).
//  * Every regroup interval, learns from its window; the outcome goes to its
//    sink as a RegroupNotice: the supervisor (an all-in-one node: new groups
//    inherit their parent's state, reports of retired groups go to their heir)
//    or the federation (a backend: the rules, parents and owners go into the
//    group table). A node installs the new grouping itself (GroupingShared)
//    when it learns for itself.
//  * (reload_atom, LabelConfigPtr): a new label config; when its grouping
//    changed, learning restarts from its `by`.
//  * Publishes GET /v1/grouping's status.

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <memory>

#include "actors/common/messages.hpp"
#include "actors/learning/grouping_shared.hpp"
#include "core/grouping_sample.hpp"
#include "core/regrouper.hpp"

namespace pytheas {

/// A sampled session for the learner (from io threads or the federation).
struct LocalGroupingSample {
  GroupingSample sample;
};

/// What one regroup decided.
struct RegroupNotice {
  /// The new grouping, parents and heirs; when only sizes or owners changed
  /// (rules_changed false), `grouping` is the one in force and the maps are empty.
  std::shared_ptr<const Regroup> regroup;
  bool rules_changed = false;
};

struct GroupingActorArgs {
  LabelConfigPtr config;
  std::shared_ptr<GroupingShared> shared;
  caf::actor sink;  ///< receives RegroupNotice
  /// Install learned groupings in `shared` (this node keys its sessions by
  /// them); false on a backend, whose frontends get them with the table.
  bool install = true;
  /// Options to use instead of the label config's (a cluster file's learner).
  std::optional<RegrouperOptions> options;
  double regroup_interval_s = 0;  ///< 0: the label config's
};

/// Spawns the learner (detached). Throws InvalidInput on bad options.
caf::actor spawn_grouping_actor(caf::actor_system& system, GroupingActorArgs args);

}  // namespace pytheas

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pytheas::LocalGroupingSample)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pytheas::RegroupNotice)
