// Reading a decision log back: joins, and the clear errors for logs that
// cannot be evaluated (no propensities, mixed schemas, not a log at all).

#include "evaluation/log_reader.hpp"

#include <catch2/catch.hpp>

#include <fstream>

#include "test/support/temp_dir.hpp"

using namespace pytheas::evaluation;
using pytheas::test::TempDir;

namespace {

const std::string kHeader =
    R"({"type":"header","format":"pytheas-decision-log","version":1,"features":["Asn"],"node":"","opened_at":1.0})";

std::string decision(const std::string& id, const std::string& chosen, double propensity,
                     double time = 10) {
  return R"({"type":"decision","time":)" + std::to_string(time) + R"(,"event_id":")" + id +
         R"(","issued":true,"group":"Asn=1","features":["1"],"candidates":["a","b"],"decision":")" +
         chosen + R"(","propensity":)" + std::to_string(propensity) +
         R"(,"policy":"random","policy_version":3})";
}

std::string report(const std::string& id, double score, const std::string& join = "event_id") {
  return R"({"type":"report","time":12.5,"event_id":")" + id + R"(","score":)" +
         std::to_string(score) + R"(,"delay":2.5,"join":")" + join + R"("})";
}

std::string write_file(const TempDir& dir, const std::string& name,
                       const std::vector<std::string>& lines, bool final_newline = true) {
  std::string text;
  for (std::size_t i = 0; i < lines.size(); ++i)
    text += lines[i] + (i + 1 < lines.size() || final_newline ? "\n" : "");
  return dir.write(name, text);
}

std::string error_of(const TempDir& dir) {
  try {
    read_decision_log(dir.path());
  } catch (const LogError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("reports join their decisions across files, leftovers are counted",
          "[evaluation][reader]") {
  TempDir dir("pytheas-reader");
  write_file(dir, "decisions-20240101T000000.000Z-000001.jsonl",
             {kHeader, decision("e1", "a", 0.5), decision("e2", "b", 0.5)});
  write_file(
      dir, "decisions-20240101T000100.000Z-000002.jsonl",
      {kHeader, report("e2", 3), report("e1", 1), report("e1", 9), report("gone", 5),
       R"({"type":"report","time":13,"score":2,"join":"unmatched","features":["1"],"decision":"a"})"});
  dir.write("notes.txt", "not a log file: ignored");
  const auto log = read_decision_log(dir.path());
  REQUIRE(log.decisions.size() == 2);
  CHECK(log.stats.files == 2);
  CHECK(log.decisions[0].score == 1);  // the first report wins
  CHECK(log.decisions[1].score == 3);
  CHECK(log.decisions[0].report_time == 12.5);
  CHECK(log.decisions[0].policy_version == 3);
  CHECK(log.text(log.decisions[0].policy) == "random");
  CHECK(log.stats.joined_by_event_id == 2);
  CHECK(log.stats.duplicate_reports == 1);
  CHECK(log.stats.orphan_reports == 1);
  CHECK(log.stats.unmatched_reports == 1);
}

TEST_CASE("a line cut short at the end of a file is skipped, not an error",
          "[evaluation][reader]") {
  TempDir dir("pytheas-reader");
  write_file(dir, "decisions-20240101T000000.000Z-000001.jsonl",
             {kHeader, decision("e1", "a", 0.5), R"({"type":"decision","time":11,"event_)"}, false);
  const auto log = read_decision_log(dir.path());
  CHECK(log.decisions.size() == 1);
  CHECK(log.stats.torn_lines == 1);
}

TEST_CASE("logs that cannot be evaluated get errors naming file and line", "[evaluation][reader]") {
  TempDir dir("pytheas-reader");
  const std::string first = "decisions-20240101T000000.000Z-000001.jsonl";
  const std::string second = "decisions-20240101T000100.000Z-000002.jsonl";

  SECTION("no log files") {
    CHECK_THAT(error_of(dir), Catch::Contains("no decision log files (decisions-*.jsonl)"));
  }
  SECTION("a decision without a propensity") {
    auto line = decision("e1", "a", 0.5);
    line.replace(line.find(R"("propensity":)"), 22, "");
    write_file(dir, first, {kHeader, line});
    CHECK_THAT(error_of(dir),
               Catch::EndsWith(first + ":2: decision record has no \"propensity\": a log without "
                                       "propensities cannot be evaluated off-policy"));
  }
  SECTION("a propensity outside (0, 1]") {
    write_file(dir, first, {kHeader, decision("e1", "a", 0)});
    CHECK_THAT(error_of(dir), Catch::Contains(first + ":2: propensity 0.000000 is not in (0, 1]"));
  }
  SECTION("two schemas in one directory") {
    write_file(dir, first, {kHeader, decision("e1", "a", 0.5)});
    auto other = kHeader;
    other.replace(other.find(R"(["Asn"])"), 7, R"(["Asn","City"])");
    write_file(dir, second, {other});
    const auto error = error_of(dir);
    CHECK_THAT(error, Catch::Contains(second + ":1: mixed schema: this file's features [Asn, City] "
                                               "differ from [Asn] in "));
    CHECK_THAT(error, Catch::Contains(first));
  }
  SECTION("another format version") {
    auto header = kHeader;
    header.replace(header.find(R"("version":1)"), 11, R"("version":7)");
    write_file(dir, first, {header});
    CHECK_THAT(error_of(dir),
               Catch::EndsWith(":1: log format version 7; this pytheas reads version 1"));
  }
  SECTION("not a decision log") {
    write_file(dir, first, {R"({"level":"info","msg":"hello"})"});
    CHECK_THAT(error_of(dir), Catch::EndsWith(":1: no \"type\" field"));
  }
  SECTION("a decision that is not among its candidates") {
    write_file(dir, first, {kHeader, decision("e1", "z", 0.5)});
    CHECK_THAT(error_of(dir), Catch::EndsWith(":2: decision 'z' is not among the candidates"));
  }
  SECTION("a broken line in the middle") {
    write_file(dir, first, {kHeader, "{not json", decision("e1", "a", 0.5)});
    CHECK_THAT(error_of(dir), Catch::Contains(first + ":2: not a JSON object"));
  }
}
