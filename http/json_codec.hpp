#pragma once
// JSON codec for the /v1 API: parses request bodies into the DecisionService's
// request types (string_views, no per-request heap allocation once warm) and
// writes response bodies. Parsing is strict so that client typos surface as
// 400s: unknown fields and unknown feature names are rejected by name.
//
// Lifetime: the views a parse_* call returns point into thread-local storage
// of the calling thread and stay valid until that thread's next parse_* call.
// Thread-safety: a JsonCodec is immutable after construction and may be used
// from many threads at once (each thread gets its own scratch).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "actors/node/decision_service.hpp"
#include "core/features.hpp"
#include "http/json_writer.hpp"

namespace pytheas::http {

/// Why a body was rejected: always a 400; `code` is the machine-readable
/// error code of docs/API.md, `message` names the offending field or value.
struct CodecError {
  std::string code;
  std::string message;
};

/// A parsed /v1/report body: either by event id or by features + decision.
struct ParsedReport {
  bool by_event = false;
  std::string_view event_id;
  FeatureView features;
  std::string_view decision;
  double score = 0;
};

struct JsonLimits {
  std::size_t max_depth = 16;  ///< nesting of objects/arrays (the top object is 1)
  std::size_t max_candidates = 1024;
};

class JsonCodec {
 public:
  JsonCodec(const FeatureSchema& schema, JsonLimits limits);

  /// Parses {"features":{...},"candidates":[...],"session_id"?}. Returns false
  /// and fills `error` on any problem.
  bool parse_decide(std::string_view body, DecideRequest& out, CodecError& error) const;

  /// Parses {"event_id","score"} or {"features","decision","score"}.
  bool parse_report(std::string_view body, ParsedReport& out, CodecError& error) const;

  /// {"event_id","decision","group","propensity","policy"} into `out` (cleared).
  static void write_decide(const DecideResult& result, std::string_view decision, std::string& out);

  /// One group's state: key, policy, counters, arms (weights, means, counts).
  static void write_group(const GroupInfo& group, std::string& out);
  /// `{"key":…,"decisions":…,"reports":…,"last_activity":…,"owner":…` (object
  /// left open): the fields /v1/groups and /v1/stats share.
  static void write_group_head(const GroupInfo& group, JsonWriter& w);
  /// `"arms":[{name, weight, mean, count}...]` of a snapshot (groups and stats).
  static void write_arms(const DecisionSnapshot& snapshot, JsonWriter& w);
  /// GET /v1/cluster: this node's view of its cluster.
  static void write_cluster(const ClusterStatus& status, std::string& out);
  /// GET /v1/grouping (backend): rules, per group its owner and sample count.
  static void write_grouping(const GroupingStatus& status, std::string& out);

  /// {"groups":[...], "count":N, "truncated":bool} with at most `limit` groups.
  static void write_groups(const std::vector<GroupInfo>& groups, std::size_t limit,
                           std::string& out);

  const FeatureSchema& schema() const { return schema_; }

 private:
  const FeatureSchema& schema_;
  JsonLimits limits_;
};

/// True when `json` nests objects/arrays deeper than `max_depth` (strings and
/// their escapes are skipped). Linear, allocation-free; run before parsing.
bool json_too_deep(std::string_view json, std::size_t max_depth);

}  // namespace pytheas::http
