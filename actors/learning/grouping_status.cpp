#include "actors/learning/grouping_status.hpp"

#include "config/label_config.hpp"
#include "core/grouping_learner.hpp"

namespace pytheas {

std::shared_ptr<const GroupingStatus> make_grouping_status(const GroupingFacts& facts) {
  auto status = std::make_shared<GroupingStatus>();
  status->mode = facts.learned ? "learned" : "labels";
  if (facts.labels) status->by = facts.labels->make_grouping()->describe();
  status->table_version = facts.table_version;
  status->samples = facts.samples;
  status->regroups = facts.regroups;
  status->merges_refused = facts.merges_refused;
  status->learned_at = facts.learned_at;
  status->learn_seconds = facts.learn_seconds;
  if (facts.rules) status->rules = format_rules(*facts.rules);
  if (facts.owners) status->owners = *facts.owners;
  if (const auto* learned = facts.learning) {
    status->rules = format_rules(*learned->rules);
    status->split_features = learned->split_features;
    status->sizes = learned->sizes;
    status->owners = learned->owner;
  }
  return status;
}

}  // namespace pytheas
