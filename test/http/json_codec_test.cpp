// JsonCodec: the /v1 request parsers accept exactly the documented shapes and
// name the problem in every rejection; the writers escape and round-trip.

#include "http/json_codec.hpp"

#include <simdjson.h>
#include <catch2/catch.hpp>

#include "http/json_writer.hpp"

using pytheas::FeatureSchema;
using namespace pytheas::http;

namespace {

const FeatureSchema& schema() {
  static const FeatureSchema instance({"Asn", "City", "Os"});
  return instance;
}

JsonCodec codec() {
  return JsonCodec(schema(), JsonLimits{8, 4});
}

CodecError decide_error(const std::string& body) {
  pytheas::DecideRequest request;
  CodecError error;
  CHECK_FALSE(codec().parse_decide(body, request, error));
  return error;
}

CodecError report_error(const std::string& body) {
  ParsedReport report;
  CodecError error;
  CHECK_FALSE(codec().parse_report(body, report, error));
  return error;
}

}  // namespace

TEST_CASE("decide: features in schema order, absent ones empty, numbers as their text",
          "[http][codec]") {
  pytheas::DecideRequest request;
  CodecError error;
  REQUIRE(codec().parse_decide(
      R"({"candidates":["cdn-a","cdn\"b"],"features":{"Os":"linux","Asn":7922},"session_id":"s1"})",
      request, error));
  REQUIRE(request.features.size() == 3);
  CHECK(request.features[0] == "7922");
  CHECK(request.features[1].empty());
  CHECK(request.features[2] == "linux");
  REQUIRE(request.candidates.size() == 2);
  CHECK(request.candidates[0] == "cdn-a");
  CHECK(request.candidates[1] == "cdn\"b");
  CHECK(request.session_id == "s1");
}

TEST_CASE("decide: a number keeps its exact JSON text", "[http][codec]") {
  pytheas::DecideRequest request;
  CodecError error;
  REQUIRE(codec().parse_decide(R"({"features":{"Asn":1.50 , "City":-3e2},"candidates":["a"]})",
                               request, error));
  CHECK(request.features[0] == "1.50");
  CHECK(request.features[1] == "-3e2");
}

TEST_CASE("decide: unknown feature is rejected by name", "[http][codec]") {
  auto error = decide_error(R"({"features":{"Asnn":"1"},"candidates":["a"]})");
  CHECK(error.code == "unknown_feature");
  CHECK(error.message.find("'Asnn'") != std::string::npos);
  CHECK(error.message.find("Asn, City, Os") != std::string::npos);
}

TEST_CASE("decide: missing, mistyped and unknown fields", "[http][codec]") {
  CHECK(decide_error(R"({"candidates":["a"]})").code == "missing_field");
  CHECK(decide_error(R"({"features":{}})").code == "missing_field");
  CHECK(decide_error(R"({"features":[],"candidates":["a"]})").code == "invalid_field");
  CHECK(decide_error(R"({"features":{"Asn":true},"candidates":["a"]})").code == "invalid_field");
  CHECK(decide_error(R"({"features":{"Asn":null},"candidates":["a"]})").code == "invalid_field");
  CHECK(decide_error(R"({"features":{"Asn":"1","Asn":"2"},"candidates":["a"]})").code ==
        "invalid_field");
  CHECK(decide_error(R"({"features":{},"candidates":["a"],"candidate":["b"]})").code ==
        "unknown_field");
  CHECK(decide_error(R"({"features":{},"candidates":["a"],"session_id":5})").code ==
        "invalid_field");
}

TEST_CASE("decide: candidates must be a non-empty array of unique non-empty strings",
          "[http][codec]") {
  CHECK(decide_error(R"({"features":{},"candidates":[]})").code == "invalid_candidates");
  CHECK(decide_error(R"({"features":{},"candidates":"a"})").code == "invalid_candidates");
  CHECK(decide_error(R"({"features":{},"candidates":["a",1]})").code == "invalid_candidates");
  CHECK(decide_error(R"({"features":{},"candidates":["a",""]})").code == "invalid_candidates");
  auto duplicate = decide_error(R"({"features":{},"candidates":["a","b","a"]})");
  CHECK(duplicate.code == "invalid_candidates");
  CHECK(duplicate.message.find("duplicate") != std::string::npos);
  CHECK(decide_error(R"({"features":{},"candidates":["a","b","c","d","e"]})").code ==
        "invalid_candidates");  // limit is 4 here
}

TEST_CASE("decide: invalid JSON, non-object body, trailing data", "[http][codec]") {
  CHECK(decide_error("").code == "invalid_json");
  CHECK(decide_error("{").code == "invalid_json");
  CHECK(decide_error(R"(["features"])").code == "invalid_json");
  CHECK(decide_error(R"({"features":{},"candidates":["a"]} {})").code == "invalid_json");
  CHECK(decide_error(R"({"features":{},"candidates":["a"],})").code == "invalid_json");
}

TEST_CASE("nesting deeper than the limit is rejected before parsing", "[http][codec]") {
  CHECK_FALSE(json_too_deep(R"({"a":[[1]]})", 3));
  CHECK(json_too_deep(R"({"a":[[[1]]]})", 3));
  CHECK_FALSE(json_too_deep(R"({"a":"[[[[[[\"[[[["})", 1));  // brackets inside strings
  std::string deep = R"({"features":{},"candidates":["a"],"x":)" + std::string(20, '[') +
                     std::string(20, ']') + "}";
  auto error = decide_error(deep);
  CHECK(error.code == "too_deep");
  CHECK(error.message.find("8") != std::string::npos);
}

TEST_CASE("report: by event id or by features and decision", "[http][codec]") {
  ParsedReport report;
  CodecError error;
  REQUIRE(codec().parse_report(R"({"event_id":"e-1","score":-2.5})", report, error));
  CHECK(report.by_event);
  CHECK(report.event_id == "e-1");
  CHECK(report.score == -2.5);

  REQUIRE(codec().parse_report(R"({"features":{"City":"Boston"},"decision":"cdn-a","score":3})",
                               report, error));
  CHECK_FALSE(report.by_event);
  CHECK(report.decision == "cdn-a");
  CHECK(report.features[1] == "Boston");
  CHECK(report.score == 3);
}

TEST_CASE("report: score must be a present finite number", "[http][codec]") {
  CHECK(report_error(R"({"event_id":"e"})").code == "missing_field");
  CHECK(report_error(R"({"event_id":"e","score":"1"})").code == "invalid_score");
  CHECK(report_error(R"({"event_id":"e","score":null})").code == "invalid_score");
  CHECK(report_error(R"({"event_id":"e","score":NaN})").code == "invalid_json");
  CHECK(report_error(R"({"event_id":"e","score":1e999})").code == "invalid_score");
}

TEST_CASE("report: incomplete or mixed forms are rejected", "[http][codec]") {
  CHECK(report_error(R"({"score":1})").code == "missing_field");
  CHECK(report_error(R"({"decision":"a","score":1})").code == "missing_field");
  CHECK(report_error(R"({"features":{},"score":1})").code == "missing_field");
  CHECK(report_error(R"({"event_id":"e","decision":"a","score":1})").code == "invalid_field");
  CHECK(report_error(R"({"event_id":"","score":1})").code == "invalid_field");
  CHECK(report_error(R"({"event_id":"e","score":1,"extra":0})").code == "unknown_field");
}

TEST_CASE("JsonWriter escapes strings and prints shortest round-trip numbers", "[http][codec]") {
  JsonWriter w;
  w.string(std::string("a\"b\\c\n\x01\t", 8));
  w.raw(" ");
  w.number(0.1);
  w.raw(" ");
  w.number(std::uint64_t{18446744073709551615ull});
  w.raw(" ");
  w.number(std::numeric_limits<double>::quiet_NaN());
  CHECK(w.str() == "\"a\\\"b\\\\c\\n\\u0001\\t\" 0.1 18446744073709551615 null");
}

TEST_CASE("write_decide produces the documented object, parseable JSON", "[http][codec]") {
  pytheas::DecideResult result;
  result.event_id = "ev\"1";
  result.group = "Asn=7922";
  result.propensity = 0.25;
  result.policy = "fallback-uniform";
  std::string out = "stale";
  JsonCodec::write_decide(result, "cdn-b", out);
  CHECK(out ==
        "{\"event_id\":\"ev\\\"1\",\"decision\":\"cdn-b\",\"group\":\"Asn=7922\","
        "\"propensity\":0.25,\"policy\":\"fallback-uniform\"}\n");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(out).get(doc) == simdjson::SUCCESS);
  std::string_view event_id;
  REQUIRE(doc["event_id"].get(event_id) == simdjson::SUCCESS);
  CHECK(event_id == "ev\"1");
}

TEST_CASE("write_groups lists groups and says when it truncated", "[http][codec]") {
  std::vector<pytheas::GroupInfo> groups(3);
  groups[0].key = "a";
  groups[1].key = "b";
  groups[2].key = "c";
  groups[1].snapshot = std::make_shared<pytheas::DecisionSnapshot>(
      "ducb", std::vector<pytheas::ArmSnapshot>{{"x", 0.75, 1, 2.5, 4}}, 12.5, 7);
  groups[1].last_update = 1700000012.5;  // the node's wall-clock rendering of taken_at
  std::string out;
  JsonCodec::write_groups(groups, 2, out);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  REQUIRE(parser.parse(out).get(doc) == simdjson::SUCCESS);
  CHECK(doc["count"].get_uint64().value() == 3);
  CHECK(doc["truncated"].get_bool().value());
  auto list = doc["groups"].get_array().value();
  REQUIRE(list.size() == 2);
  auto b = list.at(1).value();
  CHECK(b["policy"].get_string().value() == "ducb");
  CHECK(b["last_update"].get_double().value() == 1700000012.5);
  auto arm = b["arms"].at(0).value();
  CHECK(arm["name"].get_string().value() == "x");
  CHECK(arm["weight"].get_double().value() == 0.75);
  CHECK(arm["mean"].get_double().value() == 2.5);
  CHECK(arm["count"].get_double().value() == 4);
}
