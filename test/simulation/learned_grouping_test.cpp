// The learned grouping on scaled-down versions of scripts/bench-grouping's
// four traces (config/gen-grouping*.yaml: the same worlds, fewer sessions over
// one hour), learned the way a node learns, from a D-UCB lane's own decisions:
// no noise feature (Os, ConnType, ObjectId with thousands of values, InitCdn,
// PlayerType...) is ever split on, the features that change the best CDN are,
// and the learned lane costs about what D-UCB on the true grouping costs.

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "simulation/generator.hpp"
#include "simulation/simulator.hpp"
#include "test/simulation/vector_source.hpp"

using namespace pytheas;
using namespace pytheas::sim;
using test::VectorSource;

namespace {

struct Case {
  const char* config;
  const char* truth;              // the true grouping, as a lane spec
  std::set<std::string> allowed;  // features the truth may be split on
  /// The last grouping splits on all the features of one of these sets.
  std::vector<std::set<std::string>> required;
};

}  // namespace

TEST_CASE("the learned grouping splits on what changes the best CDN, never on noise",
          "[simulator][learned][grouping_traces]") {
  const std::vector<Case> cases = {
      // City names carry their ASN, so City alone tells the groups apart;
      // State is a function of (Asn, City), and (State, Asn) does too.
      {"gen-grouping", "Asn+City", {"Asn", "City", "State"}, {{"City"}, {"State", "Asn"}}},
      {"gen-grouping-city", "City", {"City"}, {{"City"}}},
      {"gen-grouping-asn-conn", "Asn+ConnType", {"Asn", "ConnType"}, {{"Asn", "ConnType"}}},
      {"gen-grouping-global", "global", {}, {{}}},
  };
  for (const auto& c : cases) {
    INFO(c.config);
    auto config =
        load_generator_config(std::string(PYTHEAS_SOURCE_DIR "/config/") + c.config + ".yaml");
    config.sessions = 100000;  // same world (the offsets come first from the seed)
    config.duration_s = 3600;
    std::vector<TraceSession> trace;
    generate_trace(config, [&](const TraceSession& s) { trace.push_back(s); });

    SimulatorOptions options;
    options.lanes = {"ducb@learned", std::string("ducb@") + c.truth};
    options.learned.warmup_s = 300;
    options.learned.regroup_interval_s = 300;
    options.learned.regrouper.window = 60000;
    VectorSource source(std::move(trace));
    const auto result = simulate(source, options);

    REQUIRE(result.regroups.size() == 11);  // at 5, 10, ..., 55 minutes
    std::string history;
    for (const auto& regroup : result.regroups)
      history += std::to_string(regroup.time_s) + " s:\n" + regroup.rules;
    INFO(history);
    for (const auto& regroup : result.regroups)
      for (const auto& feature : regroup.split_features) {
        INFO(feature << " at " << regroup.time_s);
        CHECK(c.allowed.contains(feature));
      }
    const auto& last = result.regroups.back().split_features;
    bool found = false;
    for (const auto& required : c.required)
      found |= std::all_of(required.begin(), required.end(), [&](const std::string& feature) {
        return std::find(last.begin(), last.end(), feature) != last.end();
      });
    CHECK(found);
    const double learned = result.lanes[0].mean_cost;
    const double truth = result.lanes[1].mean_cost;
    INFO("learned " << learned << ", true grouping " << truth);
    CHECK(learned <= truth * 1.05);
    CHECK(result.lanes[0].groups <= result.lanes[1].groups * 3 / 2);
  }
}
