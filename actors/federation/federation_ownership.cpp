// Federation ownership: the one place where "who owns this group" is decided.
// The rule itself is core/ownership_rule.hpp (table, else pin, else the seeing
// cluster; rendezvous over living members). Here the federation rebuilds the
// view whenever the group table or a member's health changes, and acts on
// what moved:
//  * reports this node keeps for a group go to its new owner (relay);
//  * a group this node no longer owns is unsettled (its next owner settles
//    it, fetching our copy); one it now owns settles on its next report;
//  * mirrors of groups whose owner changed are asked of the new owner.
// It also installs the backend's tables and learned rules.

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/federation/federation_state.hpp"
#include "actors/learning/grouping_status.hpp"
#include "config/label_config.hpp"
#include "core/grouping_learner.hpp"

namespace pytheas {

GroupOwnership ownership_of(const FederationState& st, const std::string& group,
                            const std::string& seeing_cluster) {
  return st.view->of(group, seeing_cluster);
}

bool owned_here(const FederationState& st, const std::string& group) {
  const auto* owner = st.view->of(group, st.me->cluster).owner;
  return !owner || *owner == st.me->name;
}

bool confirming_home(const FederationState& st, const std::string& group) {
  const auto own = ownership_of(st, group, st.me->cluster);
  return own.confirmable && own.home && *own.home == st.me->name;
}

void recompute(Federation* self) {
  auto& st = self->state;
  std::vector<ClusterMember> members;
  for (const auto& node : st.args.cluster->nodes)
    if (node.serves_frontend()) members.push_back({node.name, node.cluster});
  auto cluster = st.args.cluster;
  auto alive = [&st](const std::string& name) {
    if (name == st.me->name) return !st.leaving;
    const auto* peer = peer_named(st, name);
    return peer && peer->up && !peer->leaving;
  };
  const auto version = st.view ? st.view->version() + 1 : 1;
  st.view = std::make_shared<const OwnershipView>(
      std::move(members),
      [cluster](std::string_view group) { return cluster->pinned_cluster(group); },
      std::make_shared<const std::map<std::string, std::string>>(st.table.owners), alive, version);
  st.table_groups_by_cluster.clear();
  st.owned_by_cluster.clear();
  for (const auto& [group, owner_cluster] : st.table.owners) {
    ++st.table_groups_by_cluster[owner_cluster];
    if (!st.me->serves_frontend()) continue;
    const auto* owner = st.view->of(group, st.me->cluster).owner;
    auto& owned = st.owned_by_cluster[owner_cluster];  // 0 is a value too: it shows
    if (owner && *owner == st.me->name) ++owned;
  }

  // Groups we settled: still ours, with the same home? Else they settle again
  // (here or at their new owner, which we tell: a quiet group would otherwise
  // wait for its next report to be taken over).
  std::map<std::string, std::vector<std::string>> offers;  // new owner -> groups
  for (auto it = st.settled.begin(); it != st.settled.end();) {
    if (!owned_here(st, it->first)) {
      if (const auto* owner = ownership_of(st, it->first, st.me->cluster).owner)
        offers[*owner].push_back(it->first);
      st.subscribers.erase(it->first);
      st.pushed.erase(it->first);
      it = st.settled.erase(it);
    } else if (confirming_home(st, it->first) != it->second.home) {
      it = st.settled.erase(it);  // became (or stopped being) its home: settle again
    } else {
      ++it;
    }
  }
  // Groups settling here that are not ours any more: their reports go on.
  std::vector<std::string> moved;
  for (auto& [group, settling] : st.settling)
    if (!owned_here(st, group)) moved.push_back(group);
  for (const auto& group : moved) {
    auto pending = std::move(st.settling[group].pending);
    st.settling.erase(group);
    st.args.shared->queue.release(pending.size());
    for (auto& item : pending) {
      if (item.stamp.origin != st.origin) continue;  // its origin still has it
      // Ours and not kept (we were its home): keep it now, it goes on below.
      auto& out = st.outgoing[group];
      out.unconfirmed.push_back(Retained{std::move(item.decision), item.score, item.accepted_at,
                                         item.stamp.epoch, item.stamp.seq, item.wal_seq});
      ++st.retained_total;
    }
  }
  // Mirrors: groups that became ours stop being mirrored; others follow their owner.
  for (auto it = st.subscribed.begin(); it != st.subscribed.end();) {
    const auto own = ownership_of(st, it->first, st.me->cluster);
    if (!own.owner || *own.owner == st.me->name) {
      st.args.federation->mirrors.erase(it->first);
      it = st.subscribed.erase(it);
    } else if (*own.owner != it->second) {
      st.to_subscribe.insert(it->first);
      it = st.subscribed.erase(it);
    } else {
      ++it;
    }
  }
  reroute_all(self);
  for (auto& [owner, groups] : offers)
    if (auto* peer = peer_named(st, owner); peer && peer->up)
      self->send(peer->handle, offer_atom::value, std::move(groups));

  auto published = std::make_shared<Ownership>();
  published->self = st.me->name;
  published->cluster = st.me->cluster;
  published->view = st.view;
  st.args.federation->ownership.store(std::move(published));
  st.args.federation->ownership_version.fetch_add(1, std::memory_order_release);
}

void publish_received_grouping(Federation* self, const RuleNode* rules) {
  auto& st = self->state;
  GroupingFacts facts;
  facts.learned = rules != nullptr;
  facts.labels = st.args.labels.get();
  facts.table_version = st.table.version;
  facts.rules = rules;
  st.args.grouping->status.store(make_grouping_status(facts));
}

void install_rules(Federation* self) {
  auto& st = self->state;
  if (st.table.rules == st.installed_rules) return;
  std::shared_ptr<const Grouping> grouping;
  std::shared_ptr<const RuleNode> rules;
  if (!st.table.rules.empty()) {
    try {
      rules = parse_rules(st.table.rules, st.args.schema, "group table rules");
      grouping = make_rule_tree_grouping(st.args.schema, rules);
    } catch (const std::exception& e) {
      spdlog::error("federation: learned rules of table version {} unusable, keeping ours: {}",
                    st.table.version, e.what());
      return;
    }
  }
  spdlog::info("federation: grouping now {}",
               grouping ? grouping->describe() : "the label config's");
  st.installed_rules = st.table.rules;
  if (!st.learner) publish_received_grouping(self, grouping ? rules.get() : nullptr);
  st.args.grouping->install(std::move(grouping));
}

void install_table(Federation* self, GroupTableMessage table, const std::string& from) {
  auto& st = self->state;
  if (table.version <= st.table.version) return;
  spdlog::info("federation: group table version {} ({} groups) from {}", table.version,
               table.owners.size(), from);
  st.table = std::move(table);
  if (st.me->serves_backend()) st.assignment.set_owners(st.table.owners);
  save_table(st);
  install_rules(self);
  recompute(self);
  st.args.grouping->table_version.store(st.table.version);
}

}  // namespace pytheas
