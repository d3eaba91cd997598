#include "core/features.hpp"

#include <catch2/catch.hpp>

#include "core/errors.hpp"

using pytheas::FeatureSchema;

TEST_CASE("the original schema has the 15 labels in order", "[features]") {
  auto schema = FeatureSchema::original();
  REQUIRE(schema.size() == 15);
  CHECK(schema.name(0) == "Time");
  CHECK(schema.name(4) == "Asn");
  CHECK(schema.name(14) == "InitCdn");
  CHECK(schema.index_of("City") == 5u);
  CHECK_FALSE(schema.index_of("Nope").has_value());
}

TEST_CASE("a schema rejects duplicate and empty names", "[features]") {
  CHECK_THROWS_AS(FeatureSchema({"Asn", "Asn"}), pytheas::InvalidInput);
  CHECK_THROWS_AS(FeatureSchema({"Asn", ""}), pytheas::InvalidInput);
}
