#pragma once
// ReplayProtocol: how `pytheas replay` talks to a node, in one of the two
// protocols the node serves (docs/API.md):
//   json:   POST /v1/decide {"features":{...},"candidates":[...]} -> event_id,
//           decision; later POST /v1/report {"event_id":..,"score":-cost}
//           (score is QoE: higher is better, so the cost is negated);
//   legacy: POST /player.php method=request, payload = the 15 feature values
//           and the candidates, tab-separated -> the decision as plain text;
//           later method=update with the features, decision and the COST
//           (the original player's update; the node negates it).
// Stateless apart from the feature names; thread-compatible.

#include <optional>
#include <string>
#include <string_view>

#include "core/features.hpp"
#include "core/trace_format.hpp"

namespace pytheas::sim {

enum class ReplayProtocolKind { json, legacy };

/// One request to send: target path (without the URL prefix), body, type.
struct ReplayRequest {
  std::string path;
  std::string body;
  std::string content_type;
};

/// What a decide answer said, when it was a usable answer.
struct ReplayDecision {
  std::string decision;
  std::string event_id;  ///< json only
};

class ReplayProtocol {
 public:
  /// `schema` names the trace's features (the JSON protocol sends them by
  /// name; legacy needs the original 15 in order).
  ReplayProtocol(ReplayProtocolKind kind, FeatureSchema schema);

  ReplayProtocolKind kind() const { return kind_; }

  /// Throws InvalidInput when `session` cannot be sent in this protocol
  /// (feature count differs from the schema; a tab in a legacy value).
  ReplayRequest decide_request(const TraceSession& session) const;

  /// The report of `decision` (from decide_request's answer) costing `cost`.
  ReplayRequest report_request(const TraceSession& session, const ReplayDecision& decision,
                               double cost) const;

  /// Parses a decide answer (status and body). nullopt when the answer is
  /// not a success or names no candidate of `session`; `why` then says why.
  std::optional<ReplayDecision> parse_decide(unsigned status, std::string_view body,
                                             const TraceSession& session, std::string& why) const;

  /// The status a successful report answer has (json 202, legacy 200).
  unsigned report_success_status() const { return kind_ == ReplayProtocolKind::json ? 202 : 200; }

 private:
  ReplayProtocolKind kind_;
  FeatureSchema schema_;
};

/// "-12.5" etc.: the shortest text that reads back as `value`.
std::string replay_number_text(double value);

}  // namespace pytheas::sim
