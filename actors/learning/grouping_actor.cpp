#include "actors/learning/grouping_actor.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/common/clock.hpp"
#include "actors/common/stray_messages.hpp"
#include "actors/learning/grouping_status.hpp"
#include "core/grouping_learner.hpp"

namespace pytheas {

namespace {

using learn_atom = caf::atom_constant<caf::atom("learn")>;

struct GroupingActorState {
  GroupingActorArgs args;
  std::unique_ptr<Regrouper> regrouper;
  std::uint64_t regroups = 0;
  double learned_at = 0;
  /// Advanced by every restart: a grouping learned before it is not installed.
  std::uint64_t generation = 0;
  static inline const char* name = "pytheas.grouping";
};

using GroupingActor = caf::stateful_actor<GroupingActorState>;

RegrouperOptions options_of(const GroupingActorState& st) {
  return st.args.options ? *st.args.options : st.args.config->learning.regrouper;
}

double interval_of(const GroupingActorState& st) {
  return st.args.regroup_interval_s > 0 ? st.args.regroup_interval_s
                                        : st.args.config->learning.regroup_interval_s;
}

void publish_status(GroupingActor* self) {
  auto& st = self->state;
  GroupingFacts facts;
  facts.learned = true;
  facts.labels = st.args.config.get();
  facts.learning = st.regrouper->learned();
  facts.samples = st.regrouper->samples();
  facts.regroups = st.regroups;
  facts.merges_refused = st.regrouper->kept_on_merge();
  facts.learned_at = st.learned_at;
  facts.learn_seconds = st.regrouper->last_learn_seconds();
  st.args.shared->status.store(make_grouping_status(facts));
}

void restart(GroupingActor* self) {
  auto& st = self->state;
  std::shared_ptr<const Grouping> initial = st.args.config->make_grouping();
  st.regrouper = std::make_unique<Regrouper>(st.args.config->schema, options_of(st), initial);
  st.regroups = 0;
  st.learned_at = 0;
  ++st.generation;
  if (st.args.install) st.args.shared->install(nullptr);  // the label config's, until a learn
  publish_status(self);
}

void learn(GroupingActor* self) {
  auto& st = self->state;
  std::optional<Regroup> next;
  try {
    next = st.regrouper->regroup();
  } catch (const std::exception& e) {
    spdlog::error("grouping: learning failed, keeping the grouping in force: {}", e.what());
    return;
  }
  const auto* learned = st.regrouper->learned();
  if (!learned) return;  // too few samples yet
  st.learned_at = wall_seconds();
  RegroupNotice notice;
  notice.rules_changed = next.has_value();
  if (next) {
    ++st.regroups;
    spdlog::info("grouping: learned {} group(s) from {} samples in {:.3f} s; split on {}",
                 next->learned.sizes.size(), st.regrouper->samples(), next->learn_seconds,
                 next->learned.split_features.empty()
                     ? std::string("nothing")
                     : fmt::format("{}", fmt::join(next->learned.split_features, ", ")));
    notice.regroup = std::make_shared<const Regroup>(std::move(*next));
  } else {
    Regroup same;
    same.grouping = st.regrouper->current();
    same.learned = *learned;
    same.learn_seconds = st.regrouper->last_learn_seconds();
    notice.regroup = std::make_shared<const Regroup>(std::move(same));
  }
  publish_status(self);
  if (!st.args.install) {  // the sink (a federation) installs rules itself; it does not answer
    if (st.args.sink) self->send(st.args.sink, regroup_atom::value, std::move(notice));
    return;
  }
  auto grouping = notice.regroup->grouping;
  if (!st.args.sink) {
    if (notice.rules_changed) st.args.shared->install(std::move(grouping));
    return;
  }
  // This node keys its sessions by the new rules only once its sink (the
  // supervisor) knows which new group inherits from which old one: a report
  // under a new key must not reach it first and start that group empty.
  // The supervisor answers every notice, so every notice is a request, even
  // one that changed nothing: an answer to a plain message would be a stray
  // here (it once stopped the supervisor: see actors/common/stray_messages.hpp).
  const bool changed = notice.rules_changed;
  auto install = [=, generation = st.generation] {
    if (changed && self->state.generation == generation) self->state.args.shared->install(grouping);
  };
  self->request(st.args.sink, caf::infinite, regroup_atom::value, std::move(notice))
      .then([=](ok_atom) { install(); },
            [=](const caf::error& error) {
              spdlog::error(
                  "grouping: the supervisor did not take the new rules ({}); "
                  "installing them anyway",
                  self->system().render(error));
              install();
            });
}

caf::behavior grouping_actor(GroupingActor* self, GroupingActorArgs args) {
  tolerate_strays(self);
  self->state.args = std::move(args);
  restart(self);
  auto every = [=] {
    return std::chrono::milliseconds(static_cast<long>(1000 * interval_of(self->state)));
  };
  self->delayed_send(self, every(), learn_atom::value);
  return {
      [=](LocalGroupingSample& sample) { self->state.regrouper->add(std::move(sample.sample)); },
      [=](learn_atom) {
        learn(self);
        self->delayed_send(self, every(), learn_atom::value);
      },
      [=](reload_atom, LabelConfigPtr& config) {
        auto& st = self->state;
        const bool same = st.args.config->same_grouping(*config) &&
                          st.args.config->learning.regrouper == config->learning.regrouper;
        st.args.config = std::move(config);
        if (same) return;
        spdlog::info("grouping: the label config's grouping changed; learning starts over from {}",
                     st.args.config->make_grouping()->describe());
        restart(self);
      },
  };
}

}  // namespace

caf::actor spawn_grouping_actor(caf::actor_system& system, GroupingActorArgs args) {
  // Validate here, so a bad config is the caller's exception, not an actor's crash.
  auto options = args.options ? *args.options : args.config->learning.regrouper;
  options.validate();
  return system.spawn<caf::detached>(grouping_actor, std::move(args));
}

}  // namespace pytheas
