#include "http/json_codec.hpp"

#include <simdjson.h>

#include <fmt/format.h>
#include <algorithm>
#include <cmath>

#include "http/json_writer.hpp"

namespace pytheas::http {

namespace od = simdjson::ondemand;

namespace {

// Per-thread parsing state, reused across requests so the hot path allocates
// nothing once its buffers have grown to the usual body size.
struct Scratch {
  od::parser parser;
  std::string padded;  // body copy with simdjson's required tail padding
  std::vector<std::string_view> features;
  std::vector<std::string_view> candidates;
};

Scratch& scratch() {
  thread_local Scratch instance;
  return instance;
}

bool fail(CodecError& error, std::string_view code, std::string message) {
  error.code = std::string(code);
  error.message = std::move(message);
  return false;
}

std::string_view trim_right(std::string_view text) {
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  return text;
}

// Starts iterating `body` as a JSON object after the depth check.
bool open_object(std::string_view body, std::size_t max_depth, od::document& doc,
                 od::object& object, CodecError& error) {
  if (json_too_deep(body, max_depth))
    return fail(error, "too_deep", fmt::format("JSON nests deeper than {} levels", max_depth));
  auto& s = scratch();
  s.padded.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  s.padded.assign(body);
  simdjson::padded_string_view view(s.padded.data(), s.padded.size(), s.padded.capacity());
  if (s.parser.iterate(view).get(doc) != simdjson::SUCCESS)
    return fail(error, "invalid_json", "body is not valid JSON");
  od::json_type type;
  if (doc.type().get(type) != simdjson::SUCCESS)
    return fail(error, "invalid_json", "body is not valid JSON");
  if (type != od::json_type::object)
    return fail(error, "invalid_json", "body must be a JSON object");
  if (doc.get_object().get(object) != simdjson::SUCCESS)
    return fail(error, "invalid_json", "body is not valid JSON");
  return true;
}

bool finish_document(od::document& doc, CodecError& error) {
  const char* location = nullptr;
  if (doc.current_location().get(location) != simdjson::OUT_OF_BOUNDS)
    return fail(error, "invalid_json", "trailing data after the JSON object");
  return true;
}

// Reads a string field's value; `what` names it in the error.
bool read_string(od::value value, std::string_view what, std::string_view& out, CodecError& error) {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS)
    return fail(error, "invalid_json", "body is not valid JSON");
  if (type != od::json_type::string)
    return fail(error, "invalid_field", fmt::format("'{}' must be a string", what));
  if (value.get_string().get(out) != simdjson::SUCCESS)
    return fail(error, "invalid_json", fmt::format("'{}' is not a valid JSON string", what));
  return true;
}

// Fills `features` (size = schema size, "" for absent) from a JSON object of
// strings or numbers; numbers are used as their JSON text.
bool read_features(od::value value, const FeatureSchema& schema,
                   std::vector<std::string_view>& features, CodecError& error) {
  features.assign(schema.size(), std::string_view());
  od::object object;
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS)
    return fail(error, "invalid_json", "body is not valid JSON");
  if (type != od::json_type::object || value.get_object().get(object) != simdjson::SUCCESS)
    return fail(error, "invalid_field", "'features' must be an object");
  thread_local std::vector<bool> seen;
  seen.assign(schema.size(), false);
  for (auto field_result : object) {
    od::field field;
    std::string_view name;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(name) != simdjson::SUCCESS)
      return fail(error, "invalid_json", "body is not valid JSON");
    auto index = schema.index_of(name);
    if (!index)
      return fail(error, "unknown_feature",
                  fmt::format("unknown feature '{}' (this node's features: {})", name,
                              fmt::join(schema.names(), ", ")));
    if (seen[*index])
      return fail(error, "invalid_field", fmt::format("feature '{}' given twice", name));
    seen[*index] = true;
    od::value feature = field.value();
    if (feature.type().get(type) != simdjson::SUCCESS)
      return fail(error, "invalid_json", "body is not valid JSON");
    if (type == od::json_type::string) {
      if (feature.get_string().get(features[*index]) != simdjson::SUCCESS)
        return fail(error, "invalid_json", "body is not valid JSON");
    } else if (type == od::json_type::number) {
      std::string_view text = trim_right(feature.raw_json_token());
      double number = 0;
      if (feature.get_double().get(number) != simdjson::SUCCESS)
        return fail(error, "invalid_field",
                    fmt::format("feature '{}' is not a valid number", name));
      features[*index] = text;
    } else {
      return fail(error, "invalid_field",
                  fmt::format("feature '{}' must be a string or a number", name));
    }
  }
  return true;
}

bool has_duplicate(const std::vector<std::string_view>& items) {
  if (items.size() <= 16) {
    for (std::size_t i = 0; i < items.size(); ++i)
      for (std::size_t j = i + 1; j < items.size(); ++j)
        if (items[i] == items[j]) return true;
    return false;
  }
  thread_local std::vector<std::string_view> sorted;
  sorted.assign(items.begin(), items.end());
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

bool read_candidates(od::value value, std::size_t max_candidates,
                     std::vector<std::string_view>& candidates, CodecError& error) {
  candidates.clear();
  od::array array;
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS)
    return fail(error, "invalid_json", "body is not valid JSON");
  if (type != od::json_type::array || value.get_array().get(array) != simdjson::SUCCESS)
    return fail(error, "invalid_candidates", "'candidates' must be an array of strings");
  for (auto element : array) {
    od::value item;
    if (std::move(element).get(item) != simdjson::SUCCESS)
      return fail(error, "invalid_json", "body is not valid JSON");
    std::string_view name;
    if (item.type().get(type) != simdjson::SUCCESS)
      return fail(error, "invalid_json", "body is not valid JSON");
    if (type != od::json_type::string || item.get_string().get(name) != simdjson::SUCCESS)
      return fail(error, "invalid_candidates", "'candidates' must be an array of strings");
    if (name.empty()) return fail(error, "invalid_candidates", "a candidate is the empty string");
    if (candidates.size() == max_candidates)
      return fail(error, "invalid_candidates",
                  fmt::format("more than {} candidates", max_candidates));
    candidates.push_back(name);
  }
  if (candidates.empty()) return fail(error, "invalid_candidates", "'candidates' is empty");
  if (has_duplicate(candidates))
    return fail(error, "invalid_candidates", "'candidates' holds a duplicate");
  return true;
}

bool read_score(od::value value, double& score, CodecError& error) {
  od::json_type type;
  if (value.type().get(type) != simdjson::SUCCESS)
    return fail(error, "invalid_json", "body is not valid JSON");
  if (type != od::json_type::number || value.get_double().get(score) != simdjson::SUCCESS)
    return fail(error, "invalid_score", "'score' must be a finite number");
  if (!std::isfinite(score)) return fail(error, "invalid_score", "'score' must be a finite number");
  return true;
}

bool duplicate_field(std::string_view name, CodecError& error) {
  return fail(error, "invalid_field", fmt::format("field '{}' given twice", name));
}

}  // namespace

bool json_too_deep(std::string_view json, std::size_t max_depth) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\')
        ++i;  // the escaped character cannot end the string
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return true;
    } else if (c == '}' || c == ']') {
      if (depth > 0) --depth;
    }
  }
  return false;
}

JsonCodec::JsonCodec(const FeatureSchema& schema, JsonLimits limits)
    : schema_(schema), limits_(limits) {}

bool JsonCodec::parse_decide(std::string_view body, DecideRequest& out, CodecError& error) const {
  od::document doc;
  od::object object;
  if (!open_object(body, limits_.max_depth, doc, object, error)) return false;
  auto& s = scratch();
  bool have_features = false, have_candidates = false, have_session = false;
  out.session_id = {};
  for (auto field_result : object) {
    od::field field;
    std::string_view name;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(name) != simdjson::SUCCESS)
      return fail(error, "invalid_json", "body is not valid JSON");
    if (name == "features") {
      if (have_features) return duplicate_field(name, error);
      have_features = true;
      if (!read_features(field.value(), schema_, s.features, error)) return false;
    } else if (name == "candidates") {
      if (have_candidates) return duplicate_field(name, error);
      have_candidates = true;
      if (!read_candidates(field.value(), limits_.max_candidates, s.candidates, error))
        return false;
    } else if (name == "session_id") {
      if (have_session) return duplicate_field(name, error);
      have_session = true;
      if (!read_string(field.value(), "session_id", out.session_id, error)) return false;
    } else {
      return fail(
          error, "unknown_field",
          fmt::format("unknown field '{}' (expected features, candidates, session_id)", name));
    }
  }
  if (!finish_document(doc, error)) return false;
  if (!have_features) return fail(error, "missing_field", "missing field 'features'");
  if (!have_candidates) return fail(error, "missing_field", "missing field 'candidates'");
  out.features = FeatureView(s.features.data(), s.features.size());
  out.candidates = Candidates(s.candidates.data(), s.candidates.size());
  return true;
}

bool JsonCodec::parse_report(std::string_view body, ParsedReport& out, CodecError& error) const {
  od::document doc;
  od::object object;
  if (!open_object(body, limits_.max_depth, doc, object, error)) return false;
  auto& s = scratch();
  bool have_event = false, have_features = false, have_decision = false, have_score = false;
  for (auto field_result : object) {
    od::field field;
    std::string_view name;
    if (std::move(field_result).get(field) != simdjson::SUCCESS ||
        field.unescaped_key().get(name) != simdjson::SUCCESS)
      return fail(error, "invalid_json", "body is not valid JSON");
    if (name == "event_id") {
      if (have_event) return duplicate_field(name, error);
      have_event = true;
      if (!read_string(field.value(), "event_id", out.event_id, error)) return false;
    } else if (name == "features") {
      if (have_features) return duplicate_field(name, error);
      have_features = true;
      if (!read_features(field.value(), schema_, s.features, error)) return false;
    } else if (name == "decision") {
      if (have_decision) return duplicate_field(name, error);
      have_decision = true;
      if (!read_string(field.value(), "decision", out.decision, error)) return false;
    } else if (name == "score") {
      if (have_score) return duplicate_field(name, error);
      have_score = true;
      if (!read_score(field.value(), out.score, error)) return false;
    } else {
      return fail(error, "unknown_field",
                  fmt::format("unknown field '{}' (expected event_id or features and decision, "
                              "and score)",
                              name));
    }
  }
  if (!finish_document(doc, error)) return false;
  if (!have_score) return fail(error, "missing_field", "missing field 'score'");
  if (have_event) {
    if (have_features || have_decision)
      return fail(error, "invalid_field",
                  "give either 'event_id' or 'features' and 'decision', not both");
    if (out.event_id.empty()) return fail(error, "invalid_field", "'event_id' is empty");
    out.by_event = true;
    return true;
  }
  if (!have_features && !have_decision)
    return fail(error, "missing_field", "missing field 'event_id' (or 'features' and 'decision')");
  if (!have_features) return fail(error, "missing_field", "missing field 'features'");
  if (!have_decision) return fail(error, "missing_field", "missing field 'decision'");
  if (out.decision.empty()) return fail(error, "invalid_field", "'decision' is empty");
  out.by_event = false;
  out.features = FeatureView(s.features.data(), s.features.size());
  return true;
}

void JsonCodec::write_decide(const DecideResult& result, std::string_view decision,
                             std::string& out) {
  JsonWriter w(std::move(out));
  w.raw("{\"event_id\":");
  w.string(result.event_id);
  w.raw(",\"decision\":");
  w.string(decision);
  w.raw(",\"group\":");
  w.string(result.group);
  w.raw(",\"propensity\":");
  w.number(result.propensity);
  w.raw(",\"policy\":");
  w.string(result.policy);
  w.raw("}\n");
  out = w.take();
}

namespace {

void write_group_fields(const GroupInfo& group, JsonWriter& w) {
  JsonCodec::write_group_head(group, w);
  if (!group.snapshot) {
    w.raw(",\"policy\":null,\"snapshot_version\":null,\"last_update\":null,\"arms\":[]}");
    return;
  }
  const auto& snapshot = *group.snapshot;
  w.raw(",\"policy\":");
  w.string(snapshot.policy());
  w.raw(",\"snapshot_version\":");
  w.number(snapshot.version());
  w.raw(",\"last_update\":");
  w.number(group.last_update);
  w.raw(",");
  JsonCodec::write_arms(snapshot, w);
  w.raw("}");
}

}  // namespace

void JsonCodec::write_group_head(const GroupInfo& group, JsonWriter& w) {
  w.raw("{\"key\":");
  w.string(group.key);
  w.raw(",\"decisions\":");
  w.number(group.decisions);
  w.raw(",\"reports\":");
  w.number(group.reports);
  w.raw(",\"last_activity\":");
  w.number(group.last_activity);
  w.raw(",\"owner\":");
  if (group.owner.empty())
    w.raw("null");
  else
    w.string(group.owner);
}

void JsonCodec::write_arms(const DecisionSnapshot& snapshot, JsonWriter& w) {
  w.raw("\"arms\":[");
  bool first = true;
  for (const auto& arm : snapshot.arms()) {
    if (!first) w.raw(",");
    first = false;
    w.raw("{\"name\":");
    w.string(arm.name);
    w.raw(",\"weight\":");
    w.number(arm.weight);
    w.raw(",\"mean\":");
    w.number(arm.mean);
    w.raw(",\"count\":");
    w.number(arm.count);
    w.raw("}");
  }
  w.raw("]");
}

void JsonCodec::write_group(const GroupInfo& group, std::string& out) {
  JsonWriter w(std::move(out));
  write_group_fields(group, w);
  w.raw("\n");
  out = w.take();
}

void JsonCodec::write_groups(const std::vector<GroupInfo>& groups, std::size_t limit,
                             std::string& out) {
  JsonWriter w(std::move(out));
  w.raw("{\"count\":");
  w.number(static_cast<std::uint64_t>(groups.size()));
  w.raw(",\"truncated\":");
  w.raw(groups.size() > limit ? "true" : "false");
  w.raw(",\"groups\":[");
  const std::size_t n = std::min(limit, groups.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0) w.raw(",");
    write_group_fields(groups[i], w);
  }
  w.raw("]}\n");
  out = w.take();
}

void JsonCodec::write_grouping(const GroupingStatus& status, std::string& out) {
  JsonWriter w(std::move(out));
  w.raw("{\"mode\":");
  w.string(status.mode);
  w.raw(",\"by\":");
  w.string(status.by);
  w.raw(",\"table_version\":");
  w.number(status.table_version);
  w.raw(",\"samples\":");
  w.number(static_cast<std::uint64_t>(status.samples));
  w.raw(",\"regroups\":");
  w.number(status.regroups);
  w.raw(",\"merges_refused\":");
  w.number(status.merges_refused);
  w.raw(",\"split_features\":[");
  for (std::size_t i = 0; i < status.split_features.size(); ++i) {
    if (i > 0) w.raw(",");
    w.string(status.split_features[i]);
  }
  w.raw("]");
  w.raw(",\"learned_at\":");
  w.number(status.learned_at);
  w.raw(",\"learn_seconds\":");
  w.number(status.learn_seconds);
  w.raw(",\"rules\":");
  w.string(status.rules);
  w.raw(",\"groups\":[");
  // Every group with an owner or a size: learned groups first by name.
  std::map<std::string, std::pair<std::string, std::size_t>> groups;
  for (const auto& [group, size] : status.sizes) groups[group].second = size;
  for (const auto& [group, owner] : status.owners) groups[group].first = owner;
  bool first = true;
  for (const auto& [group, info] : groups) {
    if (!first) w.raw(",");
    first = false;
    w.raw("{\"name\":");
    w.string(group);
    w.raw(",\"owner\":");
    if (info.first.empty())
      w.raw("null");
    else
      w.string(info.first);
    w.raw(",\"samples\":");
    w.number(static_cast<std::uint64_t>(info.second));
    w.raw("}");
  }
  w.raw("]}\n");
  out = w.take();
}

void JsonCodec::write_cluster(const ClusterStatus& status, std::string& out) {
  JsonWriter w(std::move(out));
  w.raw("{\"node\":");
  w.string(status.node);
  w.raw(",\"role\":");
  w.string(status.role);
  w.raw(",\"cluster\":");
  w.string(status.cluster);
  w.raw(",\"table_version\":");
  w.number(status.table_version);
  w.raw(",\"table_groups\":");
  w.number(static_cast<std::uint64_t>(status.table_groups));
  w.raw(",\"owned_elsewhere\":");
  w.number(static_cast<std::uint64_t>(status.owned_elsewhere));
  w.raw(",\"mirrored_groups\":");
  w.number(static_cast<std::uint64_t>(status.mirrored));
  w.raw(",\"subscribers\":");
  w.number(static_cast<std::uint64_t>(status.subscribers));
  w.raw(",\"members\":[");
  for (std::size_t i = 0; i < status.peers.size(); ++i) {
    const auto& peer = status.peers[i];
    if (i > 0) w.raw(",");
    w.raw("{\"name\":");
    w.string(peer.name);
    w.raw(",\"role\":");
    w.string(peer.role);
    w.raw(",\"cluster\":");
    w.string(peer.cluster);
    w.raw(",\"healthy\":");
    w.raw(peer.healthy ? "true" : "false");
    w.raw(",\"last_seen_ms\":");
    if (peer.last_seen_s < 0)
      w.raw("null");
    else
      w.number(static_cast<std::uint64_t>(peer.last_seen_s * 1000));
    w.raw(",\"last_error\":");
    w.string(peer.last_error);
    w.raw("}");
  }
  w.raw("]}\n");
  out = w.take();
}

}  // namespace pytheas::http
