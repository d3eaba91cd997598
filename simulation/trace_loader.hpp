#pragma once
// TraceLoader: turns a stream of trace sessions into compact, interned
// per-minute batches for the simulator. Decision names, LoadMaps and group
// keys are interned once, so simulating a session touches only integers and
// doubles. Group keys come from core Grouping objects (the node's grouping
// code); because a feature-list key depends only on the listed features, the
// loader caches key lookups by those features' values. The "learned"
// grouping is a rule tree the loader relearns when a regroup is due (see
// LearnedGroupingConfig); its keys depend only on the features it splits on,
// so the same cache works, keyed by those.
//
// A batch holds the sessions of one trace minute (minute = (time_s -
// first_time_s) / 60, in whole seconds, as the original trace player counts
// them), or of the part of it before or after a regroup's due time. The
// LoadMap share needs the minute's session total, so the loader reads a whole
// minute first: memory is bounded by the busiest minute plus the interning
// tables.
// Not thread-safe.

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/features.hpp"
#include "core/grouping.hpp"
#include "core/grouping_learner.hpp"
#include "core/regrouper.hpp"
#include "core/rng.hpp"
#include "core/trace_format.hpp"
#include "core/trace_source.hpp"

namespace pytheas::sim {

/// One candidate of one session.
struct SimOption {
  std::uint32_t decision = 0;  ///< interned decision id
  std::uint32_t load = 0;      ///< interned LoadMap id (0: no LoadMap entry)
  double cost = 0;             ///< DecisionMap cost
};

struct SimSession {
  double time_s = 0;               ///< absolute trace time, seconds
  std::uint32_t first_option = 0;  ///< index into MinuteBatch::options
  std::uint32_t option_count = 0;
};

/// What a regrouping of the learned grouping means for group ids, as the
/// Regrouper's parent and heir maps: before the batch's sessions, each `copies`
/// child starts from a copy of its parent's state (children whose parent is
/// themselves are not listed), and reports still in flight for a retired id
/// go to its heir.
struct GroupTransition {
  std::size_t grouping = 0;                                     ///< the learned grouping's index
  std::vector<std::pair<std::uint32_t, std::uint32_t>> copies;  ///< (child, parent)
  std::vector<std::pair<std::uint32_t, std::uint32_t>> heirs;   ///< (retired, heir)
};

/// Sessions the lanes play together: a minute of the trace, or the part of
/// one before or after a regroup that falls inside it.
struct MinuteBatch {
  std::int64_t minute = 0;
  /// Sessions in the whole minute: LoadMap shares are of the minute's total.
  std::size_t minute_sessions = 0;
  /// The batch starts its minute (LoadMap counts start again).
  bool minute_start = true;
  std::vector<SimSession> sessions;
  std::vector<SimOption> options;
  /// Group id of session i under grouping g: groups[i * grouping_count + g].
  std::vector<std::uint32_t> groups;
  /// Set when the learned grouping changed at the start of this batch.
  std::optional<GroupTransition> transition;
  /// With LearnedSamples::kLane: per session, its candidate features for a
  /// grouping sample (empty when the session was not sampled).
  std::vector<std::vector<std::string>> sample_features;
  void clear() {
    sessions.clear();
    options.clear();
    groups.clear();
    transition.reset();
    sample_features.clear();
  }
};

/// A grouping spec as the CLI takes it: "global", "learned", "rules" (a label
/// config's rule tree, SimulatorOptions::rules), or feature names joined by
/// ',' or '+' (e.g. "Asn", "Asn,City", "Asn+City").
struct GroupingSpec {
  std::string text;
  std::vector<std::string> features;
  bool learned = false;  ///< "learned": rules from the GroupingLearner
  bool rules = false;    ///< "rules": a fixed rule tree
  /// Throws InvalidInput on an empty spec or an empty feature name.
  static GroupingSpec parse(std::string_view text);
  bool same_as(const GroupingSpec& other) const {
    return learned == other.learned && rules == other.rules && features == other.features;
  }
};

/// The features a rule tree splits on (each once, in order of first use).
std::vector<std::string> rule_features(const RuleNode& root);

/// Where the learned grouping's samples come from.
enum class LearnedSamples {
  /// The decisions of the first lane using the learned grouping and the costs
  /// it got (load included), as a node samples its reports: biased towards
  /// each group's best decision, as the live learner's samples are.
  kLane,
  /// One of the session's candidates drawn uniformly and its DecisionMap
  /// cost: what every decision gives every kind of session, as if a share of
  /// traffic explored uniformly.
  kExplore,
};

/// How the simulator learns the "learned" grouping, through the same
/// core/Regrouper a node uses: sessions are sampled into its window and it
/// regroups periodically, first `warmup_s` after the trace start, then every
/// `regroup_interval_s`, each at its due time as a node's timer fires: the
/// sessions from then on are in the new grouping (a batch ends there). Until the first regrouping
/// every session is in "global". When the rules change, each new group starts from a copy of its
/// parent's policy state (GroupTransition); a group that keeps its name keeps
/// its id and state.
struct LearnedGroupingConfig {
  /// The grouping before the first learn that changed it (a node's `by:`,
  /// e.g. {"Asn"}); empty: one global group.
  std::vector<std::string> start_by;
  /// Learner options, window (samples kept) and min_samples (fewest samples
  /// before a learn; 1 here: `warmup_s` decides when the first one comes).
  RegrouperOptions regrouper = [] {
    RegrouperOptions options;
    options.min_samples = 1;
    return options;
  }();
  double warmup_s = 120;
  double regroup_interval_s = 600;
  double sample_rate = 1;  ///< share of sessions sampled, (0, 1]
  LearnedSamples samples = LearnedSamples::kLane;
  /// Throws InvalidInput naming the first bad value.
  void validate() const;
};

/// One regrouping during a simulation.
struct RegroupRecord {
  double time_s = 0;        ///< trace time, from the trace's first session
  std::size_t samples = 0;  ///< window size it learned from
  std::size_t groups = 0;   ///< groups that hold samples
  std::vector<std::string> split_features;
  double seconds = 0;         ///< CPU time the regroup took (learn, parent/heir maps)
  std::string rules;          ///< format_rules() of the result
  bool changed = false;       ///< the rules changed (a new grouping took over)
  std::size_t inherited = 0;  ///< new groups that started from a parent's state
};

class TraceLoader {
 public:
  /// `schema` must match the trace's feature count (checked on the first
  /// session). Throws InvalidInput on a grouping naming an unknown feature.
  /// `rules` is the tree of a "rules" grouping (required when one is used).
  TraceLoader(TraceSource& source, FeatureSchema schema, const std::vector<GroupingSpec>& groupings,
              const LearnedGroupingConfig& learned = {}, std::uint64_t seed = 1,
              std::shared_ptr<const RuleNode> rules = nullptr);

  /// Fills `batch` with the next minute, or with the part of it up to the
  /// next regroup; false at the end of the trace. Throws what the source
  /// throws, or InvalidInput on a feature-count mismatch.
  bool next_batch(MinuteBatch& batch);

  std::size_t grouping_count() const { return groupings_.size(); }
  std::size_t decision_count() const { return decision_names_.size(); }
  std::string_view decision_name(std::uint32_t id) const { return decision_names_[id]; }
  /// Group keys of grouping g, by group id.
  const std::vector<std::string>& group_keys(std::size_t g) const { return groupings_[g].keys; }

  /// The cost factor of LoadMap `load` at `share` (highest threshold < share).
  double load_factor(std::uint32_t load, double share) const {
    for (const auto& [threshold, factor] : loads_[load])
      if (share > threshold) return factor;
    return 1;
  }

  /// Regroupings of the learned grouping so far (empty without one).
  const std::vector<RegroupRecord>& regroups() const { return regroups_; }

  /// The learned grouping's index, if a lane uses one.
  std::optional<std::size_t> learned_grouping() const;
  bool samples_from_lane() const;
  /// With LearnedSamples::kLane: a sampled session's outcome, `session`
  /// indexing `batch` (consumes its sample_features entry).
  void add_lane_sample(MinuteBatch& batch, std::size_t session, std::uint32_t decision,
                       double score);

  std::size_t sessions_read() const { return sessions_read_; }
  std::int64_t first_time_ms() const { return first_time_ms_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  using InternMap = std::unordered_map<std::string, std::uint32_t, Hash, std::equal_to<>>;

  struct GroupingSlot {
    std::shared_ptr<const Grouping> grouping;
    std::vector<std::size_t> feature_indices;
    InternMap by_values;  // joined feature values -> group id
    InternMap by_key;     // group key -> group id
    std::vector<std::string> keys;
  };

  void add(const TraceSession& session, MinuteBatch& batch);
  void sample(const TraceSession& session, MinuteBatch& batch);
  void regroup(double time_s, MinuteBatch& batch);
  void use_grouping(GroupingSlot& slot, std::shared_ptr<const Grouping> grouping,
                    const std::vector<std::string>& features);
  std::uint32_t group_id(GroupingSlot& slot, const std::string& key);
  std::uint32_t intern_decision(std::string_view name);
  std::uint32_t intern_load(std::uint32_t decision, const DecisionLoad& load);
  std::uint32_t intern_load_slow(std::uint32_t decision, const DecisionLoad& load);
  std::int64_t minute_of(const TraceSession& session) const;

  TraceSource& source_;
  FeatureSchema schema_;
  std::vector<GroupingSlot> groupings_;
  InternMap decision_ids_;
  std::deque<std::string> decision_names_;
  InternMap load_ids_;
  std::vector<std::vector<std::pair<double, double>>> loads_;  // (threshold, factor), desc
  struct LastLoad {
    std::uint32_t id = 0;                          // 0: none yet
    std::vector<std::pair<double, double>> steps;  // as in the trace
  };
  std::vector<LastLoad> last_load_;  // by decision id
  /// Reads the next minute into minute_; false at the end of the trace.
  bool read_minute();
  /// Seconds from the trace's first second (the regroup clock).
  double seconds_in_trace(const TraceSession& session) const;

  TraceSession lookahead_;
  bool have_lookahead_ = false;
  std::vector<TraceSession> minute_;  // the minute being played
  std::size_t cursor_ = 0;            // its next session
  std::int64_t current_minute_ = 0;
  std::int64_t first_time_ms_ = -1;
  std::size_t sessions_read_ = 0;
  std::vector<std::string_view> feature_views_;
  std::string scratch_;

  // The learned grouping, when a lane uses it.
  struct Learning {
    LearnedGroupingConfig config;
    Regrouper regrouper;
    std::vector<std::size_t> sampled_features;  // candidate indices
    std::size_t slot = 0;                       // its GroupingSlot
    double next_regroup_s = 0;                  // seconds_in_trace() of the next regroup
    Rng rng;
  };
  std::unique_ptr<Learning> learning_;
  std::vector<RegroupRecord> regroups_;
};

}  // namespace pytheas::sim
