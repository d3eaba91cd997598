// The trace formats: byte-exact round trips of the original text form, strict
// line-numbered errors, and the compact form.

#include "core/trace_format.hpp"

#include <catch2/catch.hpp>
#include <sstream>

#include "core/errors.hpp"
#include "core/trace_compact.hpp"

using namespace pytheas;

namespace {

// Lines in the original's style: 15 features (Time first), numbers written as
// the original tools wrote them (integers, trailing zeros, exponents).
const std::string kOriginalTrace =
    "1475280000000\t0.02\t1850\t1200\t7922\tBoston\tUS\tcable\tMA\tWindows\tvod\t123\tflash\t"
    "1200\tcdn1\tDecisionMap\tcdn1,120\tcdn2,95.50\tcdn3,1e2\tLoadMap\tcdn1,0.5;1.2;0.8;2.0\t"
    "cdn2,0.6;1.5\tcdn3,0.9;3\n"
    "1475280000000\t0.00\t3000\t900\t7018\tChicago\tUS\tdsl\tIL\tMacOS\tlive\t77\thtml5\t"
    "3000\tcdn2\tDecisionMap\tcdn2,80.125\tcdn1,101\tLoadMap\tcdn2,0.5;1.25\tcdn1,\n"
    "1475280003500\t\t\t\t7922\t\t\t\t\t\t\t\t\t\t\tDecisionMap\tcdn1,7\tLoadMap\n";

std::string rewrite(const std::string& text) {
  std::istringstream in(text);
  std::ostringstream out;
  TraceTextReader reader(in, 15);
  TraceTextWriter writer(out);
  TraceSession session;
  while (reader.next(session)) writer.write(session);
  writer.flush();
  return out.str();
}

std::string parse_error(const std::string& text, std::size_t features = 15) {
  std::istringstream in(text);
  TraceTextReader reader(in, features);
  TraceSession session;
  try {
    while (reader.next(session)) {
    }
  } catch (const InvalidInput& e) {
    return e.what();
  }
  return "no error";
}

TraceSession sample_session(std::int64_t time_ms, double cost) {
  TraceSession s;
  s.time_ms = time_ms;
  s.features = {std::to_string(time_ms), "a", "b", "AS1"};
  s.decisions = {{"cdn-a", TraceNumber::of(cost)}, {"cdn-b", TraceNumber::of(cost * 1.5)}};
  s.loads = {{"cdn-a", {{TraceNumber::of(0.5), TraceNumber::of(2)}}}};
  return s;
}

}  // namespace

TEST_CASE("the original text form round-trips byte for byte", "[trace]") {
  CHECK(rewrite(kOriginalTrace) == kOriginalTrace);
}

TEST_CASE("a parsed original line has the values the original player reads", "[trace]") {
  TraceSession s;
  parse_trace_line(kOriginalTrace.substr(0, kOriginalTrace.find('\n')), 1, 15, s);
  CHECK(s.time_ms == 1475280000000);
  REQUIRE(s.features.size() == 15);
  CHECK(s.features[4] == "7922");
  REQUIRE(s.decisions.size() == 3);
  CHECK(s.decisions[1].decision == "cdn2");
  CHECK(s.decisions[1].cost.value == 95.5);
  CHECK(s.decisions[1].cost.text == "95.50");
  CHECK(s.decisions[2].cost.value == 100);
  REQUIRE(s.loads.size() == 3);
  REQUIRE(s.loads[0].steps.size() == 2);
  CHECK(s.loads[0].steps[1].threshold.value == 0.8);
  CHECK(s.loads[0].steps[1].factor.value == 2.0);
  // The highest threshold exceeded applies; thresholds are exclusive.
  CHECK(s.load_factor("cdn1", 0.5) == 1);
  CHECK(s.load_factor("cdn1", 0.51) == 1.2);
  CHECK(s.load_factor("cdn1", 0.95) == 2.0);
  CHECK(s.load_factor("cdn2", 0.7) == 1.5);
  CHECK(s.load_factor("nope", 0.99) == 1);
}

TEST_CASE("parse(write(session)) gives the session back", "[trace]") {
  for (double cost : {0.1, 1.0 / 3.0, 123456.789, 1e-7, 42.0}) {
    auto s = sample_session(1000, cost);
    std::string line;
    append_trace_line(s, line);
    REQUIRE(line.back() == '\n');
    TraceSession back;
    parse_trace_line(std::string_view(line).substr(0, line.size() - 1), 1, 0, back);
    CHECK(back == s);
  }
}

TEST_CASE("malformed lines fail with the line number and the problem", "[trace]") {
  const std::string good = "5\tx\tDecisionMap\ta,1\tLoadMap\ta,0.5;2\n";  // 2 features
  struct Case {
    std::string line;
    std::string needle;
  };
  const Case cases[] = {
      {"5\tx\ta,1\tLoadMap\ta,0.5;2", "LoadMap before DecisionMap"},
      {"5\tx\ta,1", "no DecisionMap"},
      {"5\tx\tDecisionMap\ta,1", "no LoadMap"},
      {"5\tx\tDecisionMap\tLoadMap", "DecisionMap is empty"},
      {"5\tx\tDecisionMap\ta;1\tLoadMap", "is not DECISION,COST"},
      {"5\tx\tDecisionMap\ta,abc\tLoadMap", "cost 'abc' is not a finite number"},
      {"5\tx\tDecisionMap\ta,nan\tLoadMap", "not a finite number"},
      {"5\tx\tDecisionMap\ta,1\ta,2\tLoadMap", "appears twice in DecisionMap"},
      {"5\tx\tDecisionMap\t,1\tLoadMap", "has no decision"},
      {"5\tx\tDecisionMap\ta,1\tLoadMap\tb,0.5;2", "'b' is not in DecisionMap"},
      {"5\tx\tDecisionMap\ta,1\tLoadMap\ta,0.5", "load without a factor"},
      {"5\tx\tDecisionMap\ta,1\tLoadMap\ta,0.5;2;", "load without a factor"},
      {"5\tx\tDecisionMap\ta,1\tLoadMap\ta,0.5;x", "load factor 'x'"},
      {"-5\tx\tDecisionMap\ta,1\tLoadMap", "not a non-negative integer"},
      {"5.5\tx\tDecisionMap\ta,1\tLoadMap", "not a non-negative integer"},
      {"5\tx\ty\tDecisionMap\ta,1\tLoadMap", "expected 2 features, found 3"},
      {"5\tx\tDecisionMap\ta,1\tLoadMap\r", "carriage return"},
      {"4\tx\tDecisionMap\ta,1\tLoadMap", "earlier than the previous 5"},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    auto message = parse_error(good + c.line + "\n", 2);
    CHECK(message.rfind("line 2: ", 0) == 0);
    CHECK(message.find(c.needle) != std::string::npos);
  }
  CHECK(parse_error(good + good, 2) == "no error");
}

TEST_CASE("the writer refuses sessions the format cannot hold", "[trace]") {
  auto s = sample_session(10, 5);
  std::string out;
  auto bad = s;
  bad.features[1] = "with\ttab";
  CHECK_THROWS_AS(append_trace_line(bad, out), InvalidInput);
  bad = s;
  bad.decisions[0].decision = "a,b";
  CHECK_THROWS_AS(append_trace_line(bad, out), InvalidInput);
  bad = s;
  bad.features[0] = "11";  // time text disagrees with time_ms
  CHECK_THROWS_AS(append_trace_line(bad, out), InvalidInput);
  bad = s;
  bad.decisions[0].cost.text = "6";  // text disagrees with value
  CHECK_THROWS_AS(append_trace_line(bad, out), InvalidInput);
  bad = s;
  bad.features[2] = "LoadMap";
  CHECK_THROWS_AS(append_trace_line(bad, out), InvalidInput);
  CHECK(out.empty());
}

TEST_CASE("the compact form round-trips canonical text byte for byte", "[trace][compact]") {
  std::string text;
  for (int i = 0; i < 500; ++i)
    append_trace_line(sample_session(1000 + i * 7, 10 + i * 0.25), text);
  std::stringstream compact;
  {
    std::istringstream in(text);
    TraceTextReader reader(in);
    CompactTraceWriter writer(compact, 4);
    TraceSession s;
    while (reader.next(s)) writer.write(s);
    writer.flush();
  }
  const auto bytes = compact.str();
  CHECK(bytes.size() * 2 < text.size());
  CHECK(bytes.substr(0, 4) == "PYTR");

  CompactTraceReader reader(compact);
  CHECK(reader.feature_count() == 4);
  std::ostringstream back;
  TraceTextWriter writer(back);
  TraceSession s;
  std::size_t count = 0;
  while (reader.next(s)) {
    writer.write(s);
    ++count;
  }
  writer.flush();
  CHECK(count == 500);
  CHECK(back.str() == text);
}

TEST_CASE("a damaged compact trace is reported, not misread", "[trace][compact]") {
  std::stringstream compact;
  {
    CompactTraceWriter writer(compact, 4);
    writer.write(sample_session(1, 2));
    writer.write(sample_session(2, 3));
  }
  const auto bytes = compact.str();
  {
    std::istringstream truncated(bytes.substr(0, bytes.size() - 3));
    CompactTraceReader reader(truncated);
    TraceSession s;
    CHECK(reader.next(s));
    CHECK_THROWS_WITH(reader.next(s), Catch::Contains("record 2") && Catch::Contains("truncated"));
  }
  {
    std::istringstream bad_magic("XXXX" + bytes.substr(4));
    CHECK_THROWS_WITH(CompactTraceReader(bad_magic), Catch::Contains("bad magic"));
  }
  {
    auto future = bytes;
    future[4] = 9;
    std::istringstream in(future);
    CHECK_THROWS_WITH(CompactTraceReader(in), Catch::Contains("unknown version 9"));
  }
}
