// The trace generator: deterministic under a seed, and its ground truth is the
// one the config describes (offsets, switches, LoadMaps).

#include "simulation/generator.hpp"

#include <unistd.h>
#include <catch2/catch.hpp>
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
  CHECK_THAT(error_for("diurnal: {amplitude: 1.5}\n"), Catch::Contains("diurnal.amplitude"));
  std::filesystem::remove(path);
}
