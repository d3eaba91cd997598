#pragma once
// The trace-driven simulator: replays a trace's sessions in time order through
// one or more policies ("lanes") side by side, the way the original trace
// player drove a frontend, and measures the cost each lane's decisions get.
//
// Per lane and session: reports due by the session's time reach the lane
// first (each report arrives `report_delay_s` after its session, as the
// original player's update); the lane picks a candidate from the session's
// DecisionMap; cost = DecisionMap cost x LoadMap factor of the decision's
// share of this minute's sessions (counting the sessions assigned so far,
// this one included, over the minute's total, as the original player did);
// the policy later learns score = -cost.
//
// E2 lanes (ducb, swucb, ucb, egreedy, thompson, random, fixed:D) run the very core/
// Policy objects the node runs (make_policy), one per group of the lane's
// core Grouping; a group's DecisionSnapshot is retaken only when the group
// learned something since, and at most every `snapshot_interval_s` (0: after
// every update), as the node republishes snapshots after report batches.
// Baselines: cfa (CfaController) and oracle (per session the candidate of
// least cost given the current load; it needs no learning).
// Deterministic for a given seed. Not thread-safe (one simulation per thread).

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/features.hpp"
#include "core/policy.hpp"
#include "core/trace_source.hpp"
#include "simulation/cfa_controller.hpp"
#include "simulation/trace_loader.hpp"

namespace pytheas::sim {

struct SimulatorOptions {
  /// Lane specs: POLICY or POLICY@GROUPING, e.g. "ducb", "ucb@global",
  /// "ducb@Asn+City", "ducb@learned". Policies: labels (each group runs
  /// `policy_for(its key)`, as a node with that label config does), ducb,
  /// ducb-original, swucb, ucb, egreedy, thompson, random, fixed:DECISION
  /// (the core `fixed`: that decision when offered), cfa, oracle.
  std::vector<std::string> lanes = {"ducb"};
  std::string grouping = "Asn";  ///< lanes without @GROUPING use this
  /// The "labels" lanes' policy per group key (a label config's default
  /// policy and per-group overrides: LabelConfig::policy_for). Null: `policy`.
  std::function<PolicyConfig(std::string_view group_key)> policy_for;
  /// The tree of the "rules" grouping (a label config's `rules:`).
  std::shared_ptr<const RuleNode> rules;
  /// How "learned" is learned (all lanes using it share one learned grouping).
  LearnedGroupingConfig learned;
  double report_delay_s = 2;
  double snapshot_interval_s = 0;
  double interval_s = 60;  ///< width of the per-interval statistics
  /// Width of the windows before and after each regrouping whose mean costs
  /// LaneResult::regroup_costs compares (trace seconds).
  double regroup_window_s = 60;
  std::uint64_t seed = 1;
  CfaConfig cfa;
  /// Parameters for the E2 lanes (kind is set per lane).
  PolicyConfig policy;
  FeatureSchema schema = FeatureSchema::original();

  /// Called at each regrouping that changed the learned grouping, once per E2
  /// lane using it, after the new groups took their parents' state: each
  /// inherited group's key, its parent's key, the parent's serialized state
  /// just before and the child's just after. For tests and diagnostics; null:
  /// nothing is serialized twice.
  struct Inherited {
    std::string child, parent, parent_state, child_state;
  };
  std::function<void(std::string_view lane, double time_s, const std::vector<Inherited>&)>
      on_regroup;

  /// Throws InvalidInput naming the first bad value (unknown policy, bad
  /// grouping, negative delay, ...).
  void validate() const;
};

/// Mean cost of a lane in the windows before and after one regrouping.
struct RegroupCost {
  double time_s = 0;  ///< of the regrouping, from the trace's first session
  std::size_t sessions_before = 0, sessions_after = 0;
  double mean_before = 0, mean_after = 0;
};

struct IntervalStats {
  double start_s = 0;  ///< from the trace's first session
  std::size_t sessions = 0;
  double mean_cost = 0;
  double p90_cost = 0;
};

struct LaneResult {
  std::string name;      ///< the lane spec
  std::string policy;    ///< policy part
  std::string grouping;  ///< grouping used
  std::size_t sessions = 0;
  std::size_t groups = 0;
  double mean_cost = 0;
  double p90_cost = 0;
  std::vector<IntervalStats> intervals;
  std::vector<float> session_costs;  ///< per session, in trace order
  /// With the learned grouping: per regrouping that changed it, the mean cost
  /// regroup_window_s before vs after.
  std::vector<RegroupCost> regroup_costs;
  double seconds = 0;  ///< CPU time this lane took (thread CPU clock)
  /// Shifts its groups' change detection found (Policy::changes_detected;
  /// groups retired by a regroup included).
  std::uint64_t changes_detected = 0;
};

struct SimulationResult {
  std::vector<LaneResult> lanes;
  std::size_t sessions = 0;
  std::size_t decisions = 0;  ///< distinct decisions in the trace
  double load_seconds = 0;    ///< CPU time reading + interning the trace
  double first_time_s = 0;
  std::vector<RegroupRecord> regroups;  ///< of the learned grouping, if used
};

/// Runs the simulation over `source`. Throws InvalidInput on bad options or a
/// bad trace (the message names the line or record), CorruptState on a
/// corrupt compact trace.
SimulationResult simulate(TraceSource& source, const SimulatorOptions& options);

/// The seed of lane number `lane` (its pick Rng is Rng(lane_seed(...))), and
/// the seed of the core Policy of its group `group` (group ids are numbered
/// from 0 in order of first appearance in the trace). Documented so a lane can
/// be reproduced outside the simulator.
std::uint64_t lane_seed(std::uint64_t seed, std::size_t lane);
std::uint64_t group_policy_seed(std::uint64_t lane_seed, std::uint32_t group);

/// p-quantile (0..1) of `values` by nearest rank; 0 for an empty input.
/// Reorders `values`.
double quantile(std::vector<float>& values, double p);

}  // namespace pytheas::sim
