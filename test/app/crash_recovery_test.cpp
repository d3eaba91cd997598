// Crash recovery with real processes: `pytheas node` is killed with SIGKILL
// while clients post reports, then restarted on the same --state-dir.
//  * without a write-ahead log, what the last checkpoint held comes back;
//  * with --wal always, every report answered 202 before the kill comes back,
//    none twice (also across a second kill right after the replay and a torn
//    record appended to the log);
//  * a clean stop leaves no log segment behind.

#include <signal.h>

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "test/support/http_client.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace std::chrono_literals;
using pytheas::test::HttpClient;
using pytheas::test::TempDir;
namespace fs = std::filesystem;

namespace {

constexpr int kGroups = 6;

std::string asn(int group) {
  return "AS" + std::to_string(100 + group);
}

/// Reports per group: sent (a request went out) and acknowledged (202).
struct Tally {
  std::array<std::atomic<std::uint64_t>, kGroups> sent{};
  std::array<std::atomic<std::uint64_t>, kGroups> acked{};
};

/// Posts reports round-robin over the groups from `threads` clients until
/// `stop` is set or the node stops answering.
class ReportLoad {
 public:
  ReportLoad(unsigned short port, Tally& tally, int threads) {
    for (int t = 0; t < threads; ++t)
      threads_.emplace_back([this, port, &tally, t] {
        HttpClient client("127.0.0.1", port, 2s);
        for (std::uint64_t i = 0; !stop_ && i < 1'000'000; ++i) {
          const int group = static_cast<int>((i + static_cast<std::uint64_t>(t)) % kGroups);
          tally.sent[group]++;
          try {
            auto reply = client.post("/v1/report", R"({"features":{"Asn":")" + asn(group) +
                                                       R"("},"decision":"cdn-a","score":1.5})");
            if (reply.status == 202) tally.acked[group]++;
          } catch (const std::exception&) {
            return;  // the node was killed
          }
        }
      });
  }
  ~ReportLoad() { join(); }
  void join() {
    stop_ = true;
    for (auto& thread : threads_)
      if (thread.joinable()) thread.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

/// The node's report count for a group, or -1 if it does not have the group.
long long reports_of(unsigned short port, int group) {
  HttpClient client("127.0.0.1", port);
  auto reply = client.get("/v1/groups/Asn%3D" + asn(group));
  if (reply.status != 200) return -1;
  auto at = reply.body.find("\"reports\":");
  REQUIRE(at != std::string::npos);
  return std::stoll(reply.body.substr(at + 10));
}

/// Polls until every group's count is at least `floor[g]` (replayed reports
/// are applied asynchronously), then returns the counts.
std::array<long long, kGroups> counts_after_restart(
    unsigned short port, const std::array<std::uint64_t, kGroups>& floor) {
  std::array<long long, kGroups> counts{};
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  for (;;) {
    bool all = true;
    for (int g = 0; g < kGroups; ++g) {
      counts[g] = reports_of(port, g);
      all = all && counts[g] >= static_cast<long long>(floor[g]);
    }
    if (all || std::chrono::steady_clock::now() > deadline) return counts;
    std::this_thread::sleep_for(50ms);
  }
}

std::string write_labels(const TempDir& dir, double checkpoint_s) {
  return dir.write("labels.yaml",
                   "lifecycle:\n  checkpoint_interval_s: " + std::to_string(checkpoint_s) + "\n");
}

void kill_hard(pytheas::test::StartedNode& node) {
  node.process->send_signal(SIGKILL);
  REQUIRE(node.process->wait(10s) == 128 + SIGKILL);
}

std::size_t wal_segments(const fs::path& state) {
  std::size_t n = 0;
  std::error_code ec;
  for (const auto& f : fs::directory_iterator(state / "wal", ec))
    n += f.path().extension() == ".wal";
  return n;
}

}  // namespace

TEST_CASE("kill -9 without a log: the last checkpoint's reports come back", "[crash][process]") {
  TempDir dir("pytheas-crash");
  const auto state = (dir.path() / "state").string();
  const auto labels = write_labels(dir, 0.5);
  Tally tally;
  std::array<std::uint64_t, kGroups> checkpointed{};
  {
    auto node =
        pytheas::test::start_node(PYTHEAS_BINARY, {"--state-dir", state, "--labels", labels});
    {
      ReportLoad load(node.port, tally, 2);
      std::this_thread::sleep_for(700ms);
    }
    for (int g = 0; g < kGroups; ++g) checkpointed[g] = tally.acked[g];
    std::this_thread::sleep_for(1500ms);  // idle: at least two checkpoints include all of them
    ReportLoad load(node.port, tally, 2);
    std::this_thread::sleep_for(300ms);
    kill_hard(node);
  }
  auto node = pytheas::test::start_node(PYTHEAS_BINARY, {"--state-dir", state, "--labels", labels});
  auto counts = counts_after_restart(node.port, checkpointed);
  for (int g = 0; g < kGroups; ++g) {
    INFO("group " << g << ": checkpointed " << checkpointed[g] << ", sent " << tally.sent[g]);
    REQUIRE(checkpointed[g] > 0);
    CHECK(counts[g] >= static_cast<long long>(checkpointed[g]));
    CHECK(counts[g] <= static_cast<long long>(tally.sent[g].load()));
  }
}

TEST_CASE("kill -9 with --wal always: every acknowledged report comes back, none twice",
          "[crash][wal][process]") {
  TempDir dir("pytheas-crash");
  const fs::path state = dir.path() / "state";
  // No checkpoint during the test: only the log can bring the reports back.
  const auto labels = write_labels(dir, 3600);
  const std::vector<std::string> args = {"--state-dir", state.string(), "--labels",
                                         labels,        "--wal",        "always"};
  Tally tally;
  {
    auto node = pytheas::test::start_node(PYTHEAS_BINARY, args);
    ReportLoad load(node.port, tally, 4);
    std::this_thread::sleep_for(800ms);
    kill_hard(node);
  }
  std::array<std::uint64_t, kGroups> acked{};
  for (int g = 0; g < kGroups; ++g) acked[g] = tally.acked[g];
  REQUIRE(acked[0] > 10);

  // A record torn by the kill: garbage at the end of the newest segment.
  std::vector<fs::path> segments;
  for (const auto& f : fs::directory_iterator(state / "wal")) segments.push_back(f.path());
  REQUIRE(!segments.empty());
  std::sort(segments.begin(), segments.end());
  std::ofstream(segments.back(), std::ios::app | std::ios::binary)
      << std::string("\x40\x00\x00\x00\x01\x02\x03", 7);

  std::array<long long, kGroups> first{};
  {
    auto node = pytheas::test::start_node(PYTHEAS_BINARY, args);
    CHECK_THAT(node.process->stderr_text(), Catch::Contains("torn write"));
    first = counts_after_restart(node.port, acked);
    for (int g = 0; g < kGroups; ++g) {
      INFO("group " << g << ": acknowledged " << acked[g] << ", sent " << tally.sent[g]);
      CHECK(first[g] >= static_cast<long long>(acked[g]));
      CHECK(first[g] <= static_cast<long long>(tally.sent[g].load()));
    }
    // Killed again right after the replay: the replayed reports were logged anew.
    kill_hard(node);
  }
  {
    auto node = pytheas::test::start_node(PYTHEAS_BINARY, args);
    std::array<std::uint64_t, kGroups> floor{};
    for (int g = 0; g < kGroups; ++g) floor[g] = static_cast<std::uint64_t>(first[g]);
    auto second = counts_after_restart(node.port, floor);
    std::this_thread::sleep_for(200ms);  // would a duplicate still arrive?
    for (int g = 0; g < kGroups; ++g) {
      CHECK(second[g] == first[g]);
      CHECK(reports_of(node.port, g) == first[g]);
    }
    // A clean stop persists every group: the log is no longer needed.
    node.process->send_signal(SIGTERM);
    REQUIRE(node.process->wait(20s) == 0);
  }
  CHECK(wal_segments(state) == 0);
  auto node = pytheas::test::start_node(PYTHEAS_BINARY, args);
  for (int g = 0; g < kGroups; ++g) CHECK(reports_of(node.port, g) == first[g]);
}

TEST_CASE("kill -9 with --wal batch loses at most the last sync interval",
          "[crash][wal][process]") {
  TempDir dir("pytheas-crash");
  const fs::path state = dir.path() / "state";
  const auto labels = write_labels(dir, 3600);
  const std::vector<std::string> args = {"--state-dir", state.string(), "--labels",       labels,
                                         "--wal",       "batch",        "--wal-batch-ms", "5"};
  Tally tally;
  std::array<std::uint64_t, kGroups> before_pause{};
  {
    auto node = pytheas::test::start_node(PYTHEAS_BINARY, args);
    {
      ReportLoad load(node.port, tally, 2);
      std::this_thread::sleep_for(500ms);
    }
    for (int g = 0; g < kGroups; ++g) before_pause[g] = tally.acked[g];
    std::this_thread::sleep_for(200ms);  // many sync intervals: all of these are on disk
    ReportLoad load(node.port, tally, 2);
    std::this_thread::sleep_for(300ms);
    kill_hard(node);
  }
  auto node = pytheas::test::start_node(PYTHEAS_BINARY, args);
  auto counts = counts_after_restart(node.port, before_pause);
  for (int g = 0; g < kGroups; ++g) {
    INFO("group " << g << ": acknowledged before the pause " << before_pause[g]);
    REQUIRE(before_pause[g] > 0);
    CHECK(counts[g] >= static_cast<long long>(before_pause[g]));
    CHECK(counts[g] <= static_cast<long long>(tally.sent[g].load()));
  }
}

TEST_CASE("a write-ahead log (--wal) without --state-dir is refused with a clear message",
          "[wal][process]") {
  auto result = pytheas::test::run_to_completion(
      {PYTHEAS_BINARY, "node", "--http", "127.0.0.1:0", "--wal", "always"}, 20s);
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.err, Catch::Contains("--wal") && Catch::Contains("--state-dir"));
  auto bad = pytheas::test::run_to_completion(
      {PYTHEAS_BINARY, "node", "--http", "127.0.0.1:0", "--wal", "sometimes"}, 20s);
  CHECK(bad.exit_code != 0);
}
