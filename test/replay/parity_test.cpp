// The simulator runs a node's label config: one short trace played through
// `pytheas simulate --labels` and, in real time (`pytheas replay --speed 1`),
// through a live `pytheas node --labels` gives the same mean cost within a
// stated tolerance; with the default label config (no --labels at all) too.
//
// Tolerance: 5% of the mean cost. Both sides run the same policy code on the
// same sessions; they differ in their random streams (each pick draws from a
// snapshot's weights) and in timing (the node applies reports in batches as
// they arrive). Measured gaps over five runs: 1.0-2.7% with the default
// config (the live node a little cheaper every time), 0.0-0.7% with the far
// one. The policies a wrong config would run differ by more: the test also
// checks that uniform random (+18%) and the other config's policy (+7%) are
// farther than 5% away, so agreement is not an accident of a flat trace.

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <map>

#include "test/replay/replay_summary.hpp"
#include "test/support/csv_reader.hpp"
#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using namespace std::chrono_literals;
using pytheas::test::read_text_file;
using pytheas::test::run_to_completion;
using pytheas::test::TempDir;

namespace {

constexpr double kTolerance = 0.05;

// 40 s at 75 sessions/s: 4 ASNs x 2 cities whose best CDN differs by ASN and
// City; at 20 s cdn-a degrades in half of the ASNs.
std::string parity_trace(const TempDir& dir) {
  return pytheas::test::generate_trace(PYTHEAS_BINARY, dir.path().string(),
                                       "seed: 21\nsessions: 3000\nduration_s: 40\nasns: 4\n"
                                       "cities_per_asn: 2\n"
                                       "decisions:\n  - {name: cdn-a, cost: 100}\n"
                                       "  - {name: cdn-b, cost: 110}\n"
                                       "  - {name: cdn-c, cost: 125}\n"
                                       "group_spread: 15\ncity_spread: 15\nnoise: 8\n"
                                       "switches:\n  - {at_s: 20, decision: cdn-a, asn_share: "
                                       "0.5, add_cost: 50}\n");
}

// Mean cost of each lane of a simulation (summary.csv, by column name).
std::map<std::string, double> simulate(const TempDir& dir, const std::string& trace,
                                       const std::string& labels, const std::string& out) {
  std::vector<std::string> argv{PYTHEAS_BINARY, "simulate",      "--trace", trace,
                                "--policy",     "labels,random", "--out",   dir.path_of(out),
                                "--no-plot",    "--quiet"};
  if (!labels.empty()) argv.insert(argv.end(), {"--labels", labels});
  auto run = run_to_completion(argv, 60s);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const auto table = pytheas::test::parse_csv(read_text_file(dir.path_of(out + "/summary.csv")));
  REQUIRE(table.size() == 3);  // header and two lanes
  const auto& header = table[0];
  const auto column = [&](const std::string& name) {
    auto it = std::find(header.begin(), header.end(), name);
    REQUIRE(it != header.end());
    return static_cast<std::size_t>(it - header.begin());
  };
  std::map<std::string, double> costs;
  for (std::size_t row = 1; row < table.size(); ++row)
    costs[table[row][column("policy")]] = std::stod(table[row][column("mean_cost")]);
  return costs;
}

// The mean cost a live node gives the trace played in real time.
double replay_live(const TempDir& dir, const std::string& trace, const std::string& labels,
                   const std::string& out) {
  std::vector<std::string> node_args;
  if (!labels.empty()) node_args = {"--labels", labels};
  auto node = pytheas::test::start_node(PYTHEAS_BINARY, node_args);
  auto run = run_to_completion({PYTHEAS_BINARY, "replay", "--trace", trace, "--url",
                                "http://127.0.0.1:" + std::to_string(node.port), "--speed", "1",
                                "--out", dir.path_of(out), "--no-plot", "--quiet"},
                               120s);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  auto keys = pytheas::test::read_replay_summary(dir.path_of(out + "/summary.txt"));
  REQUIRE(keys["decide_ok"] == "3000");
  REQUIRE(keys["reports_ok"] == "3000");
  return std::stod(keys["mean_cost"]);
}

double relative_gap(double a, double b) {
  return std::abs(a - b) / b;
}

}  // namespace

TEST_CASE("the simulator and a live node agree on a trace, default label config",
          "[replay][live][parity]") {
  TempDir dir("pytheas-parity");
  const auto trace = parity_trace(dir);
  const auto simulated = simulate(dir, trace, "", "sim");
  const double live = replay_live(dir, trace, "", "live");
  INFO("simulated " << simulated.at("labels") << ", live " << live << ", random "
                    << simulated.at("random"));
  CHECK(relative_gap(live, simulated.at("labels")) <= kTolerance);
  CHECK(relative_gap(simulated.at("random"), simulated.at("labels")) > kTolerance);
}

TEST_CASE("simulate --labels runs the label config's policy, overrides and grouping as a node",
          "[replay][live][parity]") {
  TempDir dir("pytheas-parity");
  const auto trace = parity_trace(dir);
  // A config far from the defaults: a fixed Asn x City grouping, a fast
  // discount and, for the busiest ASN, uniform random decisions.
  const auto labels = dir.write("labels.yaml",
                                "grouping:\n  by: [Asn, City]\n  learn: false\n"
                                "policy:\n  kind: ducb\n  half_life_s: 5\n  exploration: 0.3\n"
                                "groups:\n  - match: \"Asn=AS1000*\"\n"
                                "    policy: {kind: random}\n");
  const auto simulated = simulate(dir, trace, labels, "sim");
  const auto defaults = simulate(dir, trace, "", "sim-defaults");
  const double live = replay_live(dir, trace, labels, "live");
  INFO("simulated " << simulated.at("labels") << ", live " << live << ", default config "
                    << defaults.at("labels"));
  CHECK(relative_gap(live, simulated.at("labels")) <= kTolerance);
  CHECK(relative_gap(defaults.at("labels"), simulated.at("labels")) > kTolerance);
}
