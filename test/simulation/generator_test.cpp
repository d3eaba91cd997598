// The trace generator: deterministic under a seed, and its ground truth is the
// one the config describes (offsets, switches, LoadMaps).

#include "simulation/generator.hpp"

#include <unistd.h>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "core/errors.hpp"

using namespace pytheas;
using namespace pytheas::sim;

namespace {

GeneratorConfig small_config() {
  GeneratorConfig c;
  c.seed = 5;
  c.sessions = 3000;
  c.duration_s = 600;
  c.asns = 4;
  c.noise = 5;
  c.drift = 1;
  c.diurnal_amplitude = 0.5;
  c.diurnal_period_s = 600;
  c.candidates_per_session = 2;
  c.switches = {{300, "cdn-a", {1}, 1, 50, 1}};
  return c;
}

std::string generate_text(const GeneratorConfig& config) {
  std::string text;
  generate_trace(config, [&](const TraceSession& s) { append_trace_line(s, text); });
  return text;
}

}  // namespace

TEST_CASE("the generator is deterministic under a seed", "[generator]") {
  auto config = small_config();
  const auto first = generate_text(config);
  CHECK(first == generate_text(config));
  config.seed = 6;
  CHECK(first != generate_text(config));
}

TEST_CASE("generated sessions are sorted, complete and honour the config", "[generator]") {
  auto config = small_config();
  std::int64_t last = -1;
  std::size_t count = 0;
  generate_trace(config, [&](const TraceSession& s) {
    CHECK(s.time_ms >= last);
    last = s.time_ms;
    CHECK(s.time_ms < 600'000);
    CHECK(s.features.size() == 15);
    CHECK(s.decisions.size() == 2);  // candidates_per_session
    CHECK(s.loads.size() == 2);
    ++count;
  });
  CHECK(count == 3000);
}

TEST_CASE("a switch degrades one decision from its time on, only in its ASNs", "[generator]") {
  GeneratorConfig c;
  c.seed = 3;
  c.sessions = 20000;
  c.duration_s = 1200;
  c.asns = 3;
  c.asn_zipf = 0;
  c.noise = 5;
  c.group_spread = 0;
  c.switches = {{600, "cdn-a", {1}, 1, 60, 1}};
  // mean cost of cdn-a by (ASN, after switch)
  std::map<std::pair<std::string, bool>, std::pair<double, int>> sums;
  generate_trace(c, [&](const TraceSession& s) {
    for (const auto& d : s.decisions) {
      if (d.decision != "cdn-a") continue;
      auto& [sum, n] = sums[{s.features[4], s.time_ms >= 600'000}];
      sum += d.cost.value;
      ++n;
    }
  });
  auto mean = [&](int asn, bool after) {
    auto& [sum, n] = sums[{generator_asn_name(asn), after}];
    REQUIRE(n > 1000);
    return sum / n;
  };
  CHECK(mean(0, false) == Approx(100).margin(1));
  CHECK(mean(0, true) == Approx(100).margin(1));
  CHECK(mean(1, false) == Approx(100).margin(1));
  CHECK(mean(1, true) == Approx(160).margin(1));
}

TEST_CASE("city_spread gives each (ASN, city) its own offset per decision", "[generator]") {
  GeneratorConfig c;
  c.seed = 8;
  c.sessions = 2000;
  c.asns = 2;
  c.cities_per_asn = 3;
  c.noise = 0;
  c.group_spread = 0;
  c.city_spread = 30;
  c.default_load.clear();
  // cost of cdn-a by City (City names carry the ASN): one value per city.
  std::map<std::string, std::set<double>> costs;
  generate_trace(c, [&](const TraceSession& s) {
    for (const auto& d : s.decisions)
      if (d.decision == "cdn-a") costs[s.features[5]].insert(d.cost.value);
  });
  REQUIRE(costs.size() == 6);
  std::set<double> distinct;
  for (const auto& [city, values] : costs) {
    INFO(city);
    CHECK(values.size() == 1);
    distinct.insert(*values.begin());
  }
  CHECK(distinct.size() == 6);
}

TEST_CASE("a burst multiplies the session rate, its extra sessions from its ASNs and object",
          "[generator]") {
  GeneratorConfig c;
  c.seed = 11;
  c.sessions = 21000;
  c.duration_s = 600;
  c.asns = 4;
  c.bursts = {{300, 60, 5, {3}, 7}};
  // per minute: sessions, and those from ASN index 3 asking for obj7
  std::map<int, std::pair<int, int>> minutes;
  generate_trace(c, [&](const TraceSession& s) {
    auto& [all, crowd] = minutes[static_cast<int>(s.time_ms / 60'000)];
    ++all;
    crowd += s.features[4] == generator_asn_name(3) && s.features[11] == "obj7";
  });
  REQUIRE(minutes.size() == 10);
  // 9 minutes at the base rate and one at 5x: 21000 / 14 = 1500 per base minute
  for (const auto& [minute, counts] : minutes) {
    INFO("minute " << minute);
    const auto [all, crowd] = counts;
    if (minute == 5) {
      CHECK(all == Approx(7500).epsilon(0.05));
      CHECK(double(crowd) / all > 0.78);  // 4/5 extra sessions, plus ordinary ones
    } else {
      CHECK(all == Approx(1500).epsilon(0.1));
      CHECK(double(crowd) / all < 0.02);
    }
  }
}

TEST_CASE("rate_cost raises a CDN's cost with the session rate above the base rate",
          "[generator]") {
  GeneratorConfig c;
  c.seed = 12;
  c.sessions = 6000;
  c.duration_s = 600;
  c.asns = 2;
  c.noise = 0;
  c.group_spread = 0;
  c.diurnal_amplitude = 0.5;
  c.diurnal_period_s = 600;  // peak at 0 and 600, trough at 300
  c.bursts = {{420, 60, 3, {}, -1}};
  c.rate_cost = {{"cdn-a", 20}};
  int checked = 0;
  generate_trace(c, [&](const TraceSession& s) {
    const double t = double(s.time_ms) / 1000;
    const double burst = t >= 420 && t < 480 ? 3 : 1;
    const double rate = (1 + 0.5 * std::cos(2 * 3.141592653589793 * t / 600)) * burst;
    for (const auto& d : s.decisions) {
      const double want = d.decision == "cdn-a"   ? 100 + 20 * (rate - 1)
                          : d.decision == "cdn-b" ? 110
                                                  : 120;
      INFO(d.decision << " at " << t);
      CHECK(d.cost.value == Approx(want).margin(0.01));
    }
    ++checked;
  });
  CHECK(checked == 6000);
}

TEST_CASE("phases redraw offset tables from their time on", "[generator]") {
  GeneratorConfig c;
  c.seed = 13;
  c.sessions = 6000;
  c.duration_s = 600;
  c.asns = 2;
  c.cities_per_asn = 3;
  c.noise = 0;
  c.group_spread = 10;
  c.city_spread = 0;  // the ASN alone matters until 300 s
  GeneratorPhase city;
  city.at_s = 300;
  city.city_spread = 30;
  GeneratorPhase asn;
  asn.at_s = 450;
  asn.group_spread = 0;
  c.phases = {city, asn};
  // cost of cdn-a by (phase, City)
  std::map<std::pair<int, std::string>, std::set<double>> costs;
  generate_trace(c, [&](const TraceSession& s) {
    const int phase = s.time_ms < 300'000 ? 0 : s.time_ms < 450'000 ? 1 : 2;
    for (const auto& d : s.decisions)
      if (d.decision == "cdn-a") costs[{phase, s.features[5]}].insert(d.cost.value);
  });
  REQUIRE(costs.size() == 18);
  std::map<int, std::set<double>> distinct;
  std::map<std::string, std::set<double>> asn_change;  // phase 2 - phase 1, by ASN
  for (const auto& [key, values] : costs) {
    INFO("phase " << key.first << " " << key.second);
    REQUIRE(values.size() == 1);
    distinct[key.first].insert(*values.begin());
    if (key.first == 2) {
      const double change = *values.begin() - *costs[{1, key.second}].begin();
      asn_change[key.second.substr(0, key.second.find('-'))].insert(std::round(change * 100));
    }
  }
  CHECK(distinct[0].size() == 2);  // one cost per ASN
  CHECK(distinct[1].size() == 6);  // one per city
  CHECK(distinct[2].size() == 6);
  // the second phase redrew the ASN offsets only: a city's change is its
  // ASN's (to a cent: both costs are rounded)
  REQUIRE(asn_change.size() == 2);
  for (const auto& [asn, changes] : asn_change) CHECK(*changes.rbegin() - *changes.begin() <= 1);
}

TEST_CASE("a new City appears at its time in its ASNs, with its own costs", "[generator]") {
  GeneratorConfig c;
  c.seed = 14;
  c.sessions = 20000;
  c.duration_s = 600;
  c.asns = 3;
  c.asn_zipf = 0;
  c.noise = 0;
  c.group_spread = 0;
  c.city_spread = 10;
  GeneratorNewCity metro;
  metro.name = "metro-new";
  metro.at_s = 300;
  metro.asns = {1};
  metro.share = 0.4;
  metro.costs = {{"cdn-c", -50}};
  c.new_cities = {metro};
  int asn1_after = 0, in_metro = 0;
  generate_trace(c, [&](const TraceSession& s) {
    const bool metro_session = s.features[5] == "metro-new";
    if (s.time_ms < 300'000 || s.features[4] != generator_asn_name(1)) {
      CHECK_FALSE(metro_session);
      return;
    }
    ++asn1_after;
    if (!metro_session) return;
    ++in_metro;
    for (const auto& d : s.decisions) {
      // no drawn city offset, its own instead
      const double want = d.decision == "cdn-a" ? 100 : d.decision == "cdn-b" ? 110 : 70;
      CHECK(d.cost.value == Approx(want).margin(1e-9));
    }
  });
  REQUIRE(asn1_after > 2000);
  CHECK(double(in_metro) / asn1_after == Approx(0.4).margin(0.03));
}

TEST_CASE("the newer keys load from YAML", "[generator]") {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("pytheas-gen-new-" + std::to_string(::getpid()) + ".yaml"))
                        .string();
  std::ofstream(path) << "bursts: [{at_s: 60, duration_s: 30, factor: 4, asns: [1], object: 2}]\n"
                         "rate_cost: {cdn-a: 5, cdn-b: 1.5}\n"
                         "phases: [{at_s: 100, city_spread: 8}, {at_s: 200, group_spread: 0}]\n"
                         "new_cities:\n"
                         "  - {name: metro, at_s: 50, asn_share: 0.5, share: 0.2,\n"
                         "     costs: {cdn-c: -30}}\n";
  const auto c = load_generator_config(path);
  std::filesystem::remove(path);
  REQUIRE(c.bursts.size() == 1);
  CHECK(c.bursts[0].at_s == 60);
  CHECK(c.bursts[0].duration_s == 30);
  CHECK(c.bursts[0].factor == 4);
  CHECK(c.bursts[0].asns == std::vector<int>{1});
  CHECK(c.bursts[0].object == 2);
  CHECK(c.rate_cost == std::vector<std::pair<std::string, double>>{{"cdn-a", 5}, {"cdn-b", 1.5}});
  REQUIRE(c.phases.size() == 2);
  CHECK(c.phases[0].at_s == 100);
  CHECK(c.phases[0].city_spread == 8);
  CHECK_FALSE(c.phases[0].group_spread);
  CHECK(c.phases[1].group_spread == 0);
  CHECK_FALSE(c.phases[1].city_spread);
  REQUIRE(c.new_cities.size() == 1);
  CHECK(c.new_cities[0].name == "metro");
  CHECK(c.new_cities[0].at_s == 50);
  CHECK(c.new_cities[0].asn_share == 0.5);
  CHECK(c.new_cities[0].share == 0.2);
  CHECK(c.new_cities[0].costs == std::vector<std::pair<std::string, double>>{{"cdn-c", -30}});
}

TEST_CASE("the example generator configs load", "[generator]") {
  namespace fs = std::filesystem;
  int found = 0;
  for (const auto& entry : fs::directory_iterator(PYTHEAS_SOURCE_DIR "/config")) {
    const auto name = entry.path().filename().string();
    if (name.rfind("gen-", 0) != 0 || entry.path().extension() != ".yaml") continue;
    INFO(name);
    CHECK_NOTHROW(load_generator_config(entry.path().string()));
    ++found;
  }
  CHECK(found >= 2);
}

TEST_CASE("a bad generator config names the file, line and field", "[generator]") {
  const auto path = (std::filesystem::temp_directory_path() /
                     ("pytheas-gen-" + std::to_string(::getpid()) + ".yaml"))
                        .string();
  auto error_for = [&](const std::string& yaml) {
    std::ofstream(path) << yaml;
    try {
      load_generator_config(path);
    } catch (const InvalidInput& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(error_for("sessions: 10\nsesions: 5\n"),
             Catch::Contains(path + ":2: sesions: unknown field"));
  CHECK_THAT(error_for("sessions: many\n"), Catch::Contains("sessions: bad value"));
  CHECK_THAT(error_for("sessions: 0\n"), Catch::Contains("sessions: must be positive"));
  CHECK_THAT(error_for("switches:\n  - {at_s: 5, decision: nope}\n"),
             Catch::Contains("unknown decision 'nope'"));
  CHECK_THAT(error_for("switches:\n  - {at_s: 5, decision: cdn-a, add_cst: 5}\n"),
             Catch::Contains(path + ":2: switches.add_cst: unknown field"));
  CHECK_THAT(error_for("diurnal: {amplitude: 1.5}\n"), Catch::Contains("diurnal.amplitude"));
  CHECK_THAT(error_for("bursts: [{at_s: 5, factor: 0.5}]\n"),
             Catch::Contains("bursts.factor: must be in [1, 1000]"));
  CHECK_THAT(error_for("bursts:\n  - {at_s: 5, facter: 2}\n"),
             Catch::Contains(path + ":2: bursts.facter: unknown field"));
  CHECK_THAT(error_for("bursts: [{object: 1000}]\n"), Catch::Contains("bursts.object"));
  CHECK_THAT(error_for("bursts: {at_s: 5}\n"), Catch::Contains("bursts: expected a list"));
  CHECK_THAT(error_for("rate_cost: {nope: 5}\n"),
             Catch::Contains("rate_cost: unknown decision 'nope'"));
  CHECK_THAT(error_for("rate_cost: {cdn-a: lots}\n"),
             Catch::Contains("rate_cost.cdn-a: bad value"));
  CHECK_THAT(error_for("phases: [{at_s: 300, city_spread: 5}, {at_s: 200, city_spread: 0}]\n"),
             Catch::Contains("phases.at_s: must increase"));
  CHECK_THAT(error_for("phases: [{at_s: 300}]\n"), Catch::Contains("phases: a phase must set"));
  CHECK_THAT(error_for("phases: [{at_s: 300, city_spread: -1}]\n"),
             Catch::Contains("spreads must be finite numbers >= 0"));
  CHECK_THAT(error_for("new_cities: [{name: a b, share: 0.1}]\n"),
             Catch::Contains("new_cities.name: bad City name 'a b'"));
  CHECK_THAT(error_for("new_cities: [{name: m, share: 0}]\n"),
             Catch::Contains("new_cities.share: must be in (0, 1]"));
  CHECK_THAT(error_for("new_cities: [{name: m, share: 0.6}, {name: n, share: 0.6}]\n"),
             Catch::Contains("add up to at most 1"));
  CHECK_THAT(error_for("new_cities: [{name: m}, {name: m}]\n"),
             Catch::Contains("duplicate City 'm'"));
  CHECK_THAT(error_for("new_cities: [{name: m, costs: {cdn-z: 1}}]\n"),
             Catch::Contains("new_cities.costs: unknown decision 'cdn-z'"));
  std::filesystem::remove(path);
}
