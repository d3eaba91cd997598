// Federation backend duties (role backend or all): the group table.
//  * Samples: frontends send a share of their reports (sample_rate) with
//    their features; the backend counts them per (group, cluster) and, with
//    `grouping: learned`, keeps them for the grouping learner.
//  * Regrouping: every regroup_interval_s the backend recomputes which
//    cluster owns each group (core/owner_assignment.hpp, or the learner's
//    owners) and, learning, the rules; a changed table gets a new version,
//    is persisted (group-table.txt in the state dir) and pushed to frontends.
//  * Recovery: a backend that lost its state takes the newest table back from
//    the first frontend that links (frontends only move forward in versions).
//    Every member keeps the last table it installed in its state dir and
//    starts from it (save_table, load_table).

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "actors/federation/federation_state.hpp"
#include "actors/learning/grouping_status.hpp"
#include "config/label_config.hpp"

namespace pytheas {

namespace {

constexpr std::size_t kSampleBuffer = 10000;  // samples kept while the backend is away
constexpr const char* kTableFile = "group-table.txt";

/// Backend: one sampled session for the learner (learned grouping).
void learn_from(Federation* self, SampledReport& sample, const std::string& cluster) {
  auto& st = self->state;
  if (!st.learner || sample.features.empty()) return;
  self->send(st.learner,
             LocalGroupingSample{GroupingSample{
                 std::move(sample.features), std::move(sample.decision), sample.score, cluster}});
}

}  // namespace

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
  if (st.me->serves_backend()) st.assignment.set_owners(st.table.owners);
  spdlog::info("federation: group table version {} ({} groups) loaded from {}", st.table.version,
               st.table.owners.size(), path);
}

void publish_grouping_status(Federation* self, double seconds) {
  auto& st = self->state;
  if (st.learner) return;  // the learner publishes its own (rules, sizes, owners)
  GroupingFacts facts;
  facts.labels = st.args.labels.get();
  facts.table_version = st.table.version;
  facts.owners = &st.table.owners;
  facts.learned_at = wall_seconds();
  facts.learn_seconds = seconds;
  st.args.grouping->status.store(make_grouping_status(facts));
}

/// Sends a new table version to every frontend and installs it here.
void publish_table(Federation* self, GroupTableMessage table) {
  auto& st = self->state;
  table.version = st.table.version + 1;
  spdlog::info("federation: regrouped: group table version {} ({} groups)", table.version,
               table.owners.size());
  st.table = table;
  save_table(st);
  for (auto& peer : st.peers)
    if (peer.up && peer.node->serves_frontend()) self->send(peer.handle, table_atom::value, table);
  install_rules(self);
  recompute(self);
  st.args.grouping->table_version.store(st.table.version);
  publish_grouping_status(self, 0);
}

void regroup(Federation* self) {
  auto& st = self->state;
  // Once the learner has rules, it regroups on its own clock (on_learned);
  // until then, groups are assigned to clusters from the samples' counts.
  if (st.learner && !st.table.rules.empty()) return;
  st.regrouped_at = wall_seconds();  // a pass, changed or not (/metrics: a stuck one shows)
  if (!st.assignment.regroup()) return;
  GroupTableMessage table;
  table.owners = st.assignment.owners();
  publish_table(self, std::move(table));
}

void on_learned(Federation* self, const RegroupNotice& notice) {
  auto& st = self->state;
  st.regrouped_at = wall_seconds();
  const auto& learned = notice.regroup->learned;
  GroupTableMessage table;
  table.rules = rules_to_yaml(*learned.rules);
  table.owners = learned.owner;
  for (const auto& [group, owner] : st.table.owners)  // pins and known owners stay
    if (auto* pinned = st.args.cluster->pinned_cluster(group)) table.owners[group] = *pinned;
  if (table.rules == st.table.rules && table.owners == st.table.owners) return;
  if (notice.rules_changed) table.parents = notice.regroup->parent;
  publish_table(self, std::move(table));
}

void add_sample(Federation* self, SampledReport sample) {
  auto& st = self->state;
  if (st.me->serves_backend()) {
    st.assignment.add(sample.group, st.me->cluster);  // role all: we are a frontend too
    learn_from(self, sample, st.me->cluster);
    return;
  }
  if (st.sample_outbox.size() >= kSampleBuffer) {
    st.sample_outbox.erase(st.sample_outbox.begin());
    st.args.federation->samples_dropped.fetch_add(1);
  }
  st.sample_outbox.push_back(std::move(sample));
}

void on_samples(Federation* self, Peer& from, std::vector<SampledReport>& samples) {
  auto& st = self->state;
  if (!st.me->serves_backend()) return;
  from.last_seen = monotonic_seconds();
  for (auto& sample : samples) {
    st.assignment.add(sample.group, from.node->cluster);
    learn_from(self, sample, from.node->cluster);
  }
}

void recover_table(Federation* self, GroupTableMessage& table, const std::string& from) {
  auto& st = self->state;
  if (table.version <= st.table.version) return;
  // We restarted without our table; the frontend kept the newest one.
  st.table = std::move(table);
  st.assignment.set_owners(st.table.owners);
  save_table(st);
  spdlog::info("federation: group table version {} recovered from {}", st.table.version, from);
  install_rules(self);
  recompute(self);
}

}  // namespace pytheas
