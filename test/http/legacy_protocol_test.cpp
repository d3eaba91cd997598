// The legacy player protocol's codecs: PHP-compatible form decoding, tab
// splitting, mapping the 15 original values onto a node's schema, costs.

#include "http/legacy_protocol.hpp"

#include <catch2/catch.hpp>

using pytheas::FeatureSchema;
using namespace pytheas::http;

TEST_CASE("form_decode handles + and %XX and rejects broken escapes", "[http][legacy]") {
  std::string out;
  REQUIRE(form_decode("a+b%09c%2b%2B%25", out));
  CHECK(out == "a b\tc++%");
  REQUIRE(form_decode("", out));
  CHECK(out.empty());
  CHECK_FALSE(form_decode("%", out));
  CHECK_FALSE(form_decode("ab%4", out));
  CHECK_FALSE(form_decode("%zz", out));
}

TEST_CASE("parse_legacy_form finds payload and method in any order", "[http][legacy]") {
  LegacyForm form;
  REQUIRE(parse_legacy_form("method=request&other=1&payload=a%09b+c", form));
  CHECK(form.has_method);
  CHECK(form.method == "request");
  CHECK(form.has_payload);
  CHECK(form.payload == "a\tb c");

  REQUIRE(parse_legacy_form("payload=&&method", form));
  CHECK(form.has_payload);
  CHECK(form.payload.empty());
  CHECK(form.has_method);
  CHECK(form.method.empty());

  REQUIRE(parse_legacy_form("x=1", form));
  CHECK_FALSE(form.has_payload);
  CHECK_FALSE(form.has_method);
  CHECK_FALSE(parse_legacy_form("payload=%G1&method=update", form));
}

TEST_CASE("split_tabs keeps empty fields", "[http][legacy]") {
  std::vector<std::string_view> fields;
  split_tabs("a\t\tb\t", fields);
  REQUIRE(fields.size() == 4);
  CHECK(fields[0] == "a");
  CHECK(fields[1].empty());
  CHECK(fields[2] == "b");
  CHECK(fields[3].empty());
  split_tabs("", fields);
  CHECK(fields.size() == 1);
}

TEST_CASE("LegacyFeatureMap puts original values where the schema names them", "[http][legacy]") {
  const std::vector<std::string> values = {"t",  "br", "ab",  "jt",  "7922", "Boston", "US", "wifi",
                                           "MA", "os", "vod", "obj", "pt",   "ib",     "cdn"};
  std::vector<std::string_view> views(values.begin(), values.end());
  std::vector<std::string_view> out;

  LegacyFeatureMap identity(FeatureSchema::original());
  identity.map(views.data(), out);
  REQUIRE(out.size() == 15);
  for (std::size_t i = 0; i < 15; ++i) CHECK(out[i] == values[i]);

  LegacyFeatureMap custom(FeatureSchema({"City", "Tier", "Asn"}));
  custom.map(views.data(), out);
  REQUIRE(out.size() == 3);
  CHECK(out[0] == "Boston");
  CHECK(out[1].empty());  // not an original label
  CHECK(out[2] == "7922");
}

TEST_CASE("parse_legacy_cost accepts Python's float text only", "[http][legacy]") {
  CHECK(parse_legacy_cost("1234.5") == 1234.5);
  CHECK(parse_legacy_cost("-3") == -3.0);
  CHECK(parse_legacy_cost("1e3") == 1000.0);
  CHECK(parse_legacy_cost("7\r\n") == 7.0);
  CHECK_FALSE(parse_legacy_cost(""));
  CHECK_FALSE(parse_legacy_cost("abc"));
  CHECK_FALSE(parse_legacy_cost("1.5x"));
  CHECK_FALSE(parse_legacy_cost("nan"));
  CHECK_FALSE(parse_legacy_cost("inf"));
}
