// The decision log's writer: the records of a known sequence of decisions and
// reports, rotation by size and age, the disk cap, the legacy join, and drops
// that are counted, never silent.

#include "evaluation/decision_log.hpp"

#include <sys/resource.h>

#include <catch2/catch.hpp>
#include <csignal>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "evaluation/log_reader.hpp"
#include "test/support/temp_dir.hpp"

using namespace pytheas::evaluation;
using pytheas::test::TempDir;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kFeatures = {"Asn", "City"};

DecisionLogOptions options_for(const fs::path& dir) {
  DecisionLogOptions options;
  options.files.dir = dir;
  options.files.cap_bytes = 0;
  options.features = kFeatures;
  options.node = "fe-1";
  options.join_window_s = 600;
  return options;
}

std::vector<fs::path> log_files(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (is_log_file_name(entry.path().filename().string())) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> lines_of(const fs::path& file) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> all_lines(const fs::path& dir) {
  std::vector<std::string> lines;
  for (const auto& file : log_files(dir))
    for (auto& line : lines_of(file)) lines.push_back(std::move(line));
  return lines;
}

struct Decide {
  std::vector<std::string_view> features;
  std::vector<std::string_view> candidates;
};

DecisionLine decision_at(double time, std::string_view event_id, const Decide& d,
                         std::size_t chosen, double propensity) {
  DecisionLine line;
  line.time = time;
  line.event_id = event_id;
  line.group = "Asn=7922";
  line.features = d.features;
  line.candidates = d.candidates;
  line.chosen = chosen;
  line.propensity = propensity;
  line.policy = "egreedy";
  line.policy_version = 12;
  return line;
}

}  // namespace

TEST_CASE("a known sequence of decisions and reports gives exactly these records",
          "[evaluation][decision_log]") {
  TempDir dir("pytheas-dlog");
  const Decide boston{{"7922", "Boston"}, {"cdn-a", "cdn-b"}};
  const Decide paris{{"3215", "Paris"}, {"cdn-a", "cdn-b", "cdn-c"}};
  {
    DecisionLog log(options_for(dir.path()));
    log.decision(decision_at(1000.0, "00000000000000a1", boston, 1, 0.5));
    log.decision(decision_at(1000.5, "", paris, 2, 0.25));  // legacy: no event id
    log.report_event(1002.0, "00000000000000a1", 4.5);
    log.report_features(1003.5, paris.features, "cdn-c", -120);  // joins the legacy decision
    log.report_features(1004.0, paris.features, "cdn-c", -121);  // claimed already: unmatched
    log.report_event(1005.0, "ffffffffffffffff", 1);             // never logged: no delay
    log.close();
    const auto counters = log.counters();
    CHECK(counters.decisions == 2);
    CHECK(counters.reports == 4);
    CHECK(counters.inferred_joins == 1);
    CHECK(counters.unmatched_reports == 1);
    CHECK(counters.dropped == 0);
    CHECK(counters.bytes > 0);
  }
  const auto files = log_files(dir.path());
  REQUIRE(files.size() == 1);
  const auto lines = lines_of(files[0]);
  REQUIRE(lines.size() == 7);
  CHECK(lines[0].starts_with(
      R"({"type":"header","format":"pytheas-decision-log","version":1,"features":["Asn","City"],"node":"fe-1","opened_at":)"));
  CHECK(lines[1] ==
        R"({"type":"decision","time":1000.000000,"event_id":"00000000000000a1","issued":true,)"
        R"("group":"Asn=7922","features":["7922","Boston"],"candidates":["cdn-a","cdn-b"],)"
        R"("decision":"cdn-b","propensity":0.5,"policy":"egreedy","policy_version":12})");
  // The legacy decision got an id from the log ("l" + 15 hex digits).
  const auto id_at = lines[2].find(R"("event_id":"l)");
  REQUIRE(id_at != std::string::npos);
  const std::string legacy_id = lines[2].substr(id_at + 12, 16);
  CHECK(legacy_id.size() == 16);
  CHECK(lines[2].find(R"("issued":false)") != std::string::npos);
  CHECK(lines[2].find(R"("decision":"cdn-c","propensity":0.25)") != std::string::npos);
  CHECK(lines[3] ==
        R"({"type":"report","time":1002.000000,"event_id":"00000000000000a1","score":4.5,)"
        R"("delay":2.000000,"join":"event_id"})");
  CHECK(lines[4] == R"({"type":"report","time":1003.500000,"event_id":")" + legacy_id +
                        R"(","score":-120,"delay":3.000000,"join":"inferred"})");
  CHECK(lines[5] == R"({"type":"report","time":1004.000000,"score":-121,"join":"unmatched",)"
                    R"("features":["3215","Paris"],"decision":"cdn-c"})");
  CHECK(lines[6] == R"({"type":"report","time":1005.000000,"event_id":"ffffffffffffffff",)"
                    R"("score":1,"join":"event_id"})");

  // Read back: both decisions reported, one of them by inference.
  const auto data = read_decision_log(dir.path());
  REQUIRE(data.decisions.size() == 2);
  CHECK(data.feature_names == kFeatures);
  CHECK(data.decisions[0].reported);
  CHECK(data.decisions[0].score == 4.5);
  CHECK(data.decisions[0].join == ReportJoin::event_id);
  CHECK(data.decisions[1].reported);
  CHECK(data.decisions[1].score == -120);
  CHECK(data.decisions[1].join == ReportJoin::inferred);
  CHECK_FALSE(data.decisions[1].issued);
  CHECK(data.text(data.chosen_of(data.decisions[1])) == "cdn-c");
  CHECK(data.stats.unmatched_reports == 1);
  CHECK(data.stats.orphan_reports == 1);
}

TEST_CASE(
    "legacy join: the latest unreported match inside the window, features and decision "
    "both",
    "[evaluation][decision_log]") {
  TempDir dir("pytheas-dlog");
  const Decide session{{"7922", "Boston"}, {"cdn-a", "cdn-b"}};
  const Decide other_city{{"7922", "Austin"}, {"cdn-a", "cdn-b"}};
  auto options = options_for(dir.path());
  options.join_window_s = 60;
  {
    DecisionLog log(options);
    log.decision(decision_at(100, "", session, 0, 0.5));     // cdn-a, older
    log.decision(decision_at(110, "", session, 0, 0.5));     // cdn-a, latest
    log.decision(decision_at(111, "", session, 1, 0.5));     // cdn-b
    log.decision(decision_at(112, "", other_city, 0, 0.5));  // other features
    log.report_features(115, session.features, "cdn-a", 1);  // -> the one at 110
    log.report_features(116, session.features, "cdn-a", 2);  // -> the one at 100
    log.report_features(117, session.features, "cdn-a", 3);  // none left: unmatched
    log.report_features(200, session.features, "cdn-b", 4);  // 89 s later: outside the window
    log.close();
    CHECK(log.counters().inferred_joins == 2);
    CHECK(log.counters().unmatched_reports == 2);
  }
  const auto data = read_decision_log(dir.path());
  REQUIRE(data.decisions.size() == 4);
  CHECK(data.decisions[1].reported);
  CHECK(data.decisions[1].score == 1);
  CHECK(data.decisions[1].report_time == 115);
  CHECK(data.decisions[0].reported);
  CHECK(data.decisions[0].score == 2);
  CHECK_FALSE(data.decisions[2].reported);
  CHECK_FALSE(data.decisions[3].reported);
  const auto lines = all_lines(dir.path());
  CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
          return l.find(R"("join":"inferred")") != std::string::npos &&
                 l.find(R"("delay":5.000000)") != std::string::npos;
        }) == 1);
}

TEST_CASE("files rotate by size at line boundaries, each with its header",
          "[evaluation][decision_log]") {
  TempDir dir("pytheas-dlog");
  auto options = options_for(dir.path());
  options.files.rotate_bytes = 2000;
  const Decide session{{"7922", "Boston"}, {"cdn-a", "cdn-b"}};
  constexpr int kDecisions = 100;
  {
    DecisionLog log(options);
    for (int i = 0; i < kDecisions; ++i) {
      const std::string id = "00000000000000" + std::to_string(10 + i);
      log.decision(decision_at(1000 + i, id, session, i % 2, 0.5));
    }
    log.close();
    CHECK(log.counters().decisions == kDecisions);
  }
  const auto files = log_files(dir.path());
  CHECK(files.size() >= 8);  // ~270 bytes per decision line
  std::size_t decisions = 0;
  for (const auto& file : files) {
    CHECK(fs::file_size(file) <= 2000);
    const auto lines = lines_of(file);
    REQUIRE_FALSE(lines.empty());
    CHECK(lines[0].find(R"("type":"header")") != std::string::npos);
    for (std::size_t i = 1; i < lines.size(); ++i) {
      CHECK(lines[i].find(R"("type":"decision")") != std::string::npos);
      ++decisions;
    }
  }
  CHECK(decisions == kDecisions);
  // The reader sees them in order across files.
  const auto data = read_decision_log(dir.path());
  REQUIRE(data.decisions.size() == kDecisions);
  for (int i = 0; i < kDecisions; ++i) CHECK(data.decisions[i].time == 1000 + i);
}

TEST_CASE("files rotate by age once they hold a record", "[evaluation][decision_log]") {
  TempDir dir("pytheas-dlog");
  auto options = options_for(dir.path());
  options.files.rotate_seconds = 0.3;
  const Decide session{{"7922", "Boston"}, {"cdn-a"}};
  DecisionLog log(options);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  CHECK(log_files(dir.path()).size() == 1);  // an empty file is not rotated
  log.decision(decision_at(1, "0000000000000001", session, 0, 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  log.decision(decision_at(2, "0000000000000002", session, 0, 1));
  log.close();
  const auto files = log_files(dir.path());
  REQUIRE(files.size() >= 2);
  CHECK(lines_of(files.front()).size() == 2);  // header + the first decision
  CHECK(read_decision_log(dir.path()).decisions.size() == 2);
}

TEST_CASE("the disk cap deletes the oldest files, earlier runs' included, and counts them",
          "[evaluation][decision_log]") {
  TempDir dir("pytheas-dlog");
  // An earlier run's file: it counts against the cap and goes first.
  const auto old_file = dir.path() / "decisions-20000101T000000.000Z-000001.jsonl";
  std::ofstream(old_file) << std::string(3000, 'x') << "\n";
  auto options = options_for(dir.path());
  options.files.cap_bytes = 8000;  // files then rotate at 4096 bytes (the least rotation size)
  options.files.rotate_bytes = 1 << 20;
  const Decide session{{"7922", "Boston"}, {"cdn-a", "cdn-b"}};
  DecisionLogCounters counters;
  {
    DecisionLog log(options);
    for (int i = 0; i < 200; ++i)
      log.decision(decision_at(1000 + i, "00000000000" + std::to_string(10000 + i), session, 0, 1));
    log.close();
    counters = log.counters();
  }
  CHECK_FALSE(fs::exists(old_file));
  CHECK(counters.files_deleted >= 2);
  std::uint64_t total = 0;
  for (const auto& file : log_files(dir.path())) total += fs::file_size(file);
  CHECK(total <= 8000);
  CHECK(counters.bytes == total);
  // What is left is the newest decisions, in order, ending with the last one.
  const auto data = read_decision_log(dir.path());
  REQUIRE_FALSE(data.decisions.empty());
  CHECK(data.decisions.size() < 200);
  CHECK(data.decisions.back().time == 1199);
}

TEST_CASE("a full queue drops records and counts every one", "[evaluation][decision_log]") {
  TempDir dir("pytheas-dlog");
  auto options = options_for(dir.path());
  options.queue_capacity = 8;
  const Decide session{{"7922", "Boston"}, {"cdn-a", "cdn-b"}};
  constexpr int kThreads = 4, kEach = 20000;
  DecisionLogCounters counters;
  {
    DecisionLog log(options);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&] {
        for (int i = 0; i < kEach; ++i) log.decision(decision_at(1, "", session, 0, 1));
      });
    for (auto& thread : threads) thread.join();
    log.close();
    log.decision(decision_at(2, "", session, 0, 1));  // after close: dropped too
    counters = log.counters();
  }
  CHECK(counters.dropped > 0);
  CHECK(counters.decisions + counters.dropped == kThreads * kEach + 1);
  CHECK(read_decision_log(dir.path()).decisions.size() == counters.decisions);
}

TEST_CASE("records lost to a write error are counted as dropped and reported once",
          "[evaluation][decision_log]") {
  TempDir dir("pytheas-dlog");
  auto options = options_for(dir.path());
  options.flush_interval = std::chrono::milliseconds(1);
  std::vector<std::string> errors;
  options.on_error = [&](const std::string& message) { errors.push_back(message); };
  const Decide session{{"7922", "Boston"}, {"cdn-a", "cdn-b"}};
  // Files of this process may not grow beyond 3000 bytes (about a dozen
  // decisions): writes past it fail with EFBIG (SIGXFSZ ignored), as on a
  // full disk.
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  rlimit small = saved;
  small.rlim_cur = 3000;
  REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
  DecisionLogCounters counters;
  {
    DecisionLog log(options);
    for (int i = 0; i < 60; ++i) {
      log.decision(decision_at(i, "00000000000" + std::to_string(10000 + i), session, 0, 1));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // several batches
    }
    log.close();
    counters = log.counters();
  }
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, SIG_DFL);
  CHECK(counters.dropped > 0);
  CHECK(counters.decisions > 0);
  CHECK(counters.decisions + counters.dropped == 60);
  REQUIRE_FALSE(errors.empty());
  CHECK(errors.size() <= counters.dropped);  // once per run of failures, not per record
  CHECK_THAT(errors[0], Catch::Contains("cannot write") && Catch::Contains("record(s) dropped"));
  // A line cut short by the error ends its file; the next batch starts a new
  // one, so the log stays readable and holds exactly the written decisions.
  const auto data = read_decision_log(dir.path());
  CHECK(data.decisions.size() == counters.decisions);
  CHECK(data.stats.files > 1);
}

TEST_CASE("bytes that are not UTF-8 are written as code points, the line stays valid JSON",
          "[evaluation][decision_log]") {
  TempDir dir("pytheas-dlog");
  const std::string odd = std::string("caf\xc3\xa9 \xff\"q\"\t") + '\x01';
  const Decide session{{odd, "Boston"}, {"cdn-a"}};
  {
    DecisionLog log(options_for(dir.path()));
    log.decision(decision_at(1, "0000000000000001", session, 0, 1));
    log.close();
  }
  const auto lines = all_lines(dir.path());
  REQUIRE(lines.size() == 2);
  CHECK(lines[1].find(R"("features":["café \u00ff\"q\"\t\u0001","Boston"])") != std::string::npos);
  const auto data = read_decision_log(dir.path());
  REQUIRE(data.decisions.size() == 1);
  CHECK(data.text(data.features_of(data.decisions[0])[0]) == "caf\xc3\xa9 \xc3\xbf\"q\"\t\x01");
}

TEST_CASE("an unusable directory fails at once, naming it", "[evaluation][decision_log]") {
  TempDir dir("pytheas-dlog");
  std::ofstream(dir.path() / "file") << "x";
  auto options = options_for(dir.path() / "file" / "sub");
  CHECK_THROWS_WITH(DecisionLog(options), Catch::Contains((dir.path() / "file").string()));
}
