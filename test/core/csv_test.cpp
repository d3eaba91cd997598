// csv_field(): RFC 4180 quoting of one CSV field.

#include "core/csv.hpp"

#include <catch2/catch.hpp>

TEST_CASE("csv_field quotes what RFC 4180 says must be quoted", "[csv]") {
  CHECK(pytheas::csv_field("ducb@Asn") == "ducb@Asn");
  CHECK(pytheas::csv_field("Asn,City") == "\"Asn,City\"");
  CHECK(pytheas::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(pytheas::csv_field("two\nlines") == "\"two\nlines\"");
  CHECK(pytheas::csv_field("") == "");
}
