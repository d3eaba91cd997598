#pragma once
// The one builder of GroupingStatus (what GET /v1/grouping shows;
// grouping_shared.hpp). Four places publish one, each knowing different
// things: a node before any learner runs (actors/node/node.cpp), the grouping
// actor after each learn (grouping_actor.cpp), a cluster member installing a
// pushed table's rules (actors/federation/federation_ownership.cpp) and a
// backend that assigned owners without rules
// (actors/federation/federation_table.cpp). Each says what it knows; the rest
// keeps GroupingStatus's defaults.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "actors/learning/grouping_shared.hpp"

namespace pytheas {

struct LabelConfig;
struct LearnedGrouping;
struct RuleNode;

struct GroupingFacts {
  bool learned = false;                 ///< mode "learned" (rules learned or pushed), else "labels"
  const LabelConfig* labels = nullptr;  ///< by: its starting grouping, described; null: unknown
  std::uint64_t table_version = 0;      ///< cluster members: the group table's version
  const RuleNode* rules = nullptr;      ///< rules in force (format_rules() text)
  /// A learn's result: its rules, split features, group sizes and owners.
  const LearnedGrouping* learning = nullptr;
  const std::map<std::string, std::string>* owners = nullptr;  ///< group -> cluster, no learn
  std::size_t samples = 0;                                     ///< in the learner's window
  std::uint64_t regroups = 0;        ///< regroups that changed the rules so far
  std::uint64_t merges_refused = 0;  ///< Regrouper::kept_on_merge()
  double learned_at = 0;             ///< unix seconds of the last learn (0: none yet)
  double learn_seconds = 0;          ///< how long it took
};

std::shared_ptr<const GroupingStatus> make_grouping_status(const GroupingFacts& facts);

}  // namespace pytheas
