#include "actors/storage/report_log.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "core/errors.hpp"
#include "test/support/temp_dir.hpp"

using namespace pytheas;
using pytheas::test::TempDir;
namespace fs = std::filesystem;

namespace {

ReportLogOptions options_for(const fs::path& dir, WalSync sync = WalSync::always,
                             std::size_t segment_bytes = 16u << 20) {
  ReportLogOptions options;
  options.dir = dir;
  options.sync = sync;
  options.batch_interval = std::chrono::milliseconds(5);
  options.segment_bytes = segment_bytes;
  return options;
}

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& f : fs::directory_iterator(dir))
    if (f.path().extension() == ".wal") out.push_back(f.path());
  std::sort(out.begin(), out.end());
  return out;
}

void append_n(ReportLog& log, const std::string& group, int n, std::vector<std::uint64_t>* routed) {
  for (int i = 0; i < n; ++i)
    log.append(group, "cdn-" + std::to_string(i % 3), i * 0.5, 1000.0 + i, [&](std::uint64_t seq) {
      if (routed) routed->push_back(seq);
    });
}

}  // namespace

TEST_CASE("sync policies parse by name, anything else is a precise error", "[wal]") {
  CHECK(parse_wal_sync("none") == WalSync::none);
  CHECK(parse_wal_sync("batch") == WalSync::batch);
  CHECK(parse_wal_sync("always") == WalSync::always);
  CHECK_THROWS_AS(parse_wal_sync("sometimes"), InvalidInput);
  CHECK(std::string(to_string(WalSync::batch)) == "batch");
}

TEST_CASE("appended reports are read back in order with their fields", "[wal]") {
  TempDir dir;
  std::vector<std::uint64_t> routed;
  {
    ReportLog log(options_for(dir.path()), 41);
    append_n(log, "Asn=7922", 3, &routed);
    log.append("Asn=701;City=New York/NY", "cdn-b", -2.25, 77.5,
               [&](std::uint64_t seq) { routed.push_back(seq); });
    CHECK(log.durable_seq() == 44);  // always: durable when append returns
  }
  CHECK(routed == std::vector<std::uint64_t>{41, 42, 43, 44});
  auto recovered = ReportLog::read_segments(dir.path());
  CHECK(recovered.problems.empty());
  REQUIRE(recovered.reports.size() == 4);
  CHECK(recovered.max_seq == 44);
  CHECK(recovered.reports[0].seq == 41);
  CHECK(recovered.reports[0].group == "Asn=7922");
  CHECK(recovered.reports[2].decision == "cdn-2");
  CHECK(recovered.reports[2].score == 1.0);
  CHECK(recovered.reports[2].accepted_at == 1002.0);
  CHECK(recovered.reports[3].group == "Asn=701;City=New York/NY");
  CHECK(recovered.reports[3].score == -2.25);
}

TEST_CASE("batch mode makes appends durable within its interval", "[wal]") {
  TempDir dir;
  ReportLog log(options_for(dir.path(), WalSync::batch), 1);
  append_n(log, "g", 10, nullptr);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (log.durable_seq() < 10 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  CHECK(log.durable_seq() == 10);
  CHECK(ReportLog::read_segments(dir.path()).reports.size() == 10);

  // Explicit syncs race the background syncer (once a livelock: a waiter whose
  // predicate stayed true spun holding the lock); each must return promptly.
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 300; ++i) {
    append_n(log, "g", 1, nullptr);
    log.sync();
    REQUIRE(log.durable_seq() == 11u + static_cast<unsigned>(i));
  }
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
}

TEST_CASE("a torn last record is detected and ignored, earlier ones kept", "[wal]") {
  TempDir dir;
  {
    ReportLog log(options_for(dir.path()), 1);
    append_n(log, "Asn=7922", 5, nullptr);
    log.covered("Asn=7922", 0);  // nothing covered: the segment must stay
  }
  auto files = segments(dir.path());
  REQUIRE(files.size() == 1);
  const auto full = fs::file_size(files[0]);

  SECTION("cut in the middle of the last record") {
    fs::resize_file(files[0], full - 7);
    auto recovered = ReportLog::read_segments(dir.path());
    CHECK(recovered.reports.size() == 4);
    REQUIRE(recovered.problems.size() == 1);
    CHECK_THAT(recovered.problems[0], Catch::Contains("cut short"));
    CHECK(recovered.ignored_bytes > 0);
  }
  SECTION("a flipped byte in the last record's body") {
    std::fstream file(files[0], std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(static_cast<std::streamoff>(full) - 3);
    file.put('\x7f');
    file.close();
    auto recovered = ReportLog::read_segments(dir.path());
    CHECK(recovered.reports.size() == 4);
    REQUIRE(recovered.problems.size() == 1);
    CHECK_THAT(recovered.problems[0], Catch::Contains("checksum mismatch"));
  }
  SECTION("garbage after the last record (a length that runs past the end)") {
    std::ofstream(files[0], std::ios::app | std::ios::binary)
        << std::string("\xff\x00\x00\x00zz", 6);
    auto recovered = ReportLog::read_segments(dir.path());
    CHECK(recovered.reports.size() == 5);
    REQUIRE(recovered.problems.size() == 1);
  }
  SECTION("a segment cut inside its header holds nothing and is reported") {
    fs::resize_file(files[0], 10);
    auto recovered = ReportLog::read_segments(dir.path());
    CHECK(recovered.reports.empty());
    REQUIRE(recovered.problems.size() == 1);
    CHECK_THAT(recovered.problems[0], Catch::Contains("no valid segment header"));
  }
}

TEST_CASE("segments rotate by size and are deleted once every group is covered", "[wal]") {
  TempDir dir;
  ReportLog log(options_for(dir.path(), WalSync::always, 1024), 1);
  append_n(log, "a", 40, nullptr);  // ~50 bytes a record: several 1 KiB segments of a only
  append_n(log, "b", 40, nullptr);  // seqs 41..80
  const auto before = segments(dir.path()).size();
  CHECK(before >= 4);
  CHECK(log.segment_count() == before);

  log.covered("a", 39);  // a's last is 40: the segment holding 40 must stay
  auto left = ReportLog::read_segments(dir.path()).reports;
  REQUIRE(!left.empty());
  CHECK(left.front().seq <= 40);
  CHECK(left.front().seq > 1);  // segments of a alone below 40 were deleted
  CHECK(segments(dir.path()).size() < before);

  log.covered("a", 40);
  left = ReportLog::read_segments(dir.path()).reports;
  REQUIRE(!left.empty());
  CHECK(left.front().seq > 40 - 25);  // at most the segment shared with b's first reports
  CHECK(left.back().seq == 80);       // b is not covered: all of it is still there
  std::size_t b_reports = 0;
  for (const auto& r : left) b_reports += r.group == "b";
  CHECK(b_reports == 40);

  log.covered("b", 80);
  // Only the open segment is left (it is never deleted while the log is open).
  CHECK(segments(dir.path()).size() == 1);
  CHECK(log.segment_count() == 1);
}

TEST_CASE("a clean close with everything covered leaves no segment, uncovered ones stay", "[wal]") {
  TempDir dir;
  {
    ReportLog log(options_for(dir.path()), 1);
    append_n(log, "a", 3, nullptr);
    log.covered("a", 3);
  }
  CHECK(segments(dir.path()).empty());
  {
    ReportLog log(options_for(dir.path()), 4);
    append_n(log, "a", 3, nullptr);
  }
  CHECK(segments(dir.path()).size() == 1);
}

TEST_CASE("recovered segments stay until dropped, a new log never reuses their names", "[wal]") {
  TempDir dir;
  {
    ReportLog log(options_for(dir.path()), 1);
    append_n(log, "a", 4, nullptr);
  }
  auto recovered = ReportLog::read_segments(dir.path());
  REQUIRE(recovered.max_seq == 4);
  ReportLog log(options_for(dir.path()), recovered.max_seq + 1);
  append_n(log, "a", 2, nullptr);  // a replay re-logs under new numbers
  CHECK(segments(dir.path()).size() == 2);
  auto both = ReportLog::read_segments(dir.path());
  CHECK(both.reports.size() == 6);
  CHECK(both.reports.back().seq == 6);
  log.drop_recovered_segments();
  auto left = ReportLog::read_segments(dir.path());
  REQUIRE(left.reports.size() == 2);
  CHECK(left.reports.front().seq == 5);
}

TEST_CASE("concurrent appenders share syncs and route in sequence order", "[wal]") {
  TempDir dir;
  ReportLog log(options_for(dir.path()), 1);
  std::vector<std::uint64_t> routed;  // written under the log's lock
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] { append_n(log, "g" + std::to_string(t), 200, &routed); });
  for (auto& thread : threads) thread.join();
  REQUIRE(routed.size() == 800);
  for (std::size_t i = 0; i < routed.size(); ++i) CHECK(routed[i] == i + 1);
  auto recovered = ReportLog::read_segments(dir.path());
  REQUIRE(recovered.reports.size() == 800);
  CHECK(recovered.problems.empty());
  CHECK(log.durable_seq() == 800);
}
