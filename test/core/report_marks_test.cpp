#include "core/report_marks.hpp"

#include <catch2/catch.hpp>

using namespace pytheas;

TEST_CASE("watermarks say which stamped reports a state includes", "[marks]") {
  ReportMarks marks;
  const auto a = origin_id("fe-a1");
  const auto b = origin_id("fe-b1");
  REQUIRE(a != b);
  CHECK_FALSE(marks.covers({a, 10, 1}));
  CHECK_FALSE(marks.covers({}));  // unstamped: never a duplicate
  marks.advance({a, 10, 5});
  CHECK(marks.covers({a, 10, 5}));
  CHECK(marks.covers({a, 10, 4}));
  CHECK_FALSE(marks.covers({a, 10, 6}));
  CHECK_FALSE(marks.covers({b, 10, 1}));
  // A later epoch (the origin restarted) is newer whatever its sequence.
  CHECK_FALSE(marks.covers({a, 11, 1}));
  CHECK(marks.covers({a, 9, 1000}));
  marks.advance({a, 11, 1});
  CHECK(marks.of(a) == ReportMarks::Mark{a, 11, 1});
  marks.advance({a, 10, 99});  // lower: ignored
  CHECK(marks.of(a) == ReportMarks::Mark{a, 11, 1});
  marks.advance({});
  CHECK(marks.marks().size() == 1);
}

TEST_CASE("dominance compares every origin", "[marks]") {
  const auto a = origin_id("a"), b = origin_id("b");
  ReportMarks x, y;
  CHECK(x.dominates(y));
  x.advance({a, 1, 10});
  CHECK(x.dominates(y));
  CHECK_FALSE(y.dominates(x));
  y.advance({a, 1, 10});
  y.advance({b, 1, 3});
  CHECK(y.dominates(x));
  CHECK_FALSE(x.dominates(y));
  x.advance({a, 1, 11});
  CHECK_FALSE(y.dominates(x));  // incomparable
  CHECK_FALSE(x.dominates(y));
}

TEST_CASE("marks round-trip through bytes, cut bytes are refused", "[marks]") {
  ReportMarks marks;
  marks.advance({origin_id("b"), 7, 70});
  marks.advance({origin_id("a"), 8, 80});
  std::string bytes = "xx";
  marks.append_to(bytes);
  ReportMarks back;
  std::size_t pos = 2;
  REQUIRE(back.read_from(bytes, pos));
  CHECK(pos == bytes.size());
  CHECK(back == marks);
  ReportMarks cut;
  pos = 2;
  CHECK_FALSE(cut.read_from(std::string_view(bytes).substr(0, bytes.size() - 1), pos));
  CHECK(cut.empty());
  CHECK(pos == 2);
}
