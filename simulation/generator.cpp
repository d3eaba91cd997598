#include "simulation/generator.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/errors.hpp"
#include "core/rng.hpp"

namespace pytheas::sim {
namespace {

double normal(Rng& rng) {
  // Box-Muller; 1 - uniform() is in (0, 1], so the log is finite.
  const double u1 = 1.0 - rng.uniform();
  const double u2 = rng.uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// Draws an index from a cumulative weight table.
std::size_t draw(const std::vector<double>& cumulative, Rng& rng) {
  const double x = rng.uniform() * cumulative.back();
  auto it = std::upper_bound(cumulative.begin(), cumulative.end(), x);
  return std::min<std::size_t>(static_cast<std::size_t>(it - cumulative.begin()),
                               cumulative.size() - 1);
}

std::vector<double> zipf_cumulative(std::size_t n, double exponent) {
  std::vector<double> cumulative(n);
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    total += 1.0 / std::pow(static_cast<double>(i + 1), exponent);
    cumulative[i] = total;
  }
  return cumulative;
}

TraceNumber cost_number(double cost) {
  return TraceNumber::of(std::round(cost * 100) / 100);
}

// An offset table that phases may redraw: tables[k] applies from from_s[k] on
// (from_s[0] = 0). An empty table adds nothing.
struct PhasedTable {
  std::vector<double> from_s;
  std::vector<std::vector<double>> tables;

  void add(double at_s, std::size_t size, double sd, Rng& rng);
  const std::vector<double>& at(double t_s) const {
    std::size_t k = 0;
    while (k + 1 < from_s.size() && t_s >= from_s[k + 1]) ++k;
    return tables[k];
  }
};

void PhasedTable::add(double at_s, std::size_t size, double sd, Rng& rng) {
  from_s.push_back(at_s);
  auto& table = tables.emplace_back();
  if (sd <= 0) return;
  table.resize(size);
  for (auto& x : table) x = sd * normal(rng);
}

// Which ASN indices a switch or a new city covers: the listed ones, else the
// first share of them.
std::vector<bool> covered_asns(const std::vector<int>& listed, double share, std::size_t n_asns) {
  std::vector<bool> covered(n_asns, false);
  if (!listed.empty()) {
    for (int a : listed) covered[static_cast<std::size_t>(a)] = true;
  } else {
    const auto count = static_cast<std::size_t>(std::round(share * double(n_asns)));
    for (std::size_t a = 0; a < count; ++a) covered[a] = true;
  }
  return covered;
}

std::vector<LoadStep> load_steps(const std::vector<GeneratorLoadStep>& steps) {
  std::vector<LoadStep> out;
  for (const auto& step : steps)
    out.push_back({TraceNumber::of(step.share), TraceNumber::of(step.factor)});
  return out;
}

// The CDN part of a decision name "cdn@bitrate".
std::string_view cdn_of(std::string_view decision) {
  return decision.substr(0, decision.find('@'));
}

// ---- YAML loading -------------------------------------------------------

class YamlReader {
 public:
  explicit YamlReader(std::string path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& field,
                         const std::string& what) const {
    std::string where = path_;
    if (node.Mark().line >= 0) where += ":" + std::to_string(node.Mark().line + 1);
    throw InvalidInput(where + ": " + field + ": " + what);
  }

  template <typename T>
  void get(const YAML::Node& map, const char* field, T& out) const {
    const auto node = map[field];
    if (!node) return;
    try {
      out = node.as<T>();
    } catch (const YAML::Exception&) {
      fail(node, field, "bad value '" + YAML::Dump(node) + "'");
    }
  }

  std::vector<GeneratorLoadStep> steps(const YAML::Node& node, const std::string& field) const {
    if (!node.IsSequence()) fail(node, field, "expected a list of {share, factor}");
    std::vector<GeneratorLoadStep> out;
    for (const auto& item : node) {
      GeneratorLoadStep step;
      get(item, "share", step.share);
      get(item, "factor", step.factor);
      out.push_back(step);
    }
    return out;
  }

  // Each item of list `field` must be a map of `keys` only.
  void items(const YAML::Node& node, const std::string& field,
             const std::vector<std::string>& keys) const {
    if (!node.IsSequence()) fail(node, field, "expected a list");
    for (const auto& item : node) {
      if (!item.IsMap()) fail(item, field, "expected a map per item");
      for (const auto& entry : item) {
        const auto key = entry.first.as<std::string>();
        if (std::find(keys.begin(), keys.end(), key) == keys.end())
          fail(entry.first, field + "." + key, "unknown field");
      }
    }
  }

  // A map name -> number.
  std::vector<std::pair<std::string, double>> numbers(const YAML::Node& node,
                                                      const std::string& field) const {
    if (!node.IsMap()) fail(node, field, "expected a map decision -> number");
    std::vector<std::pair<std::string, double>> out;
    for (const auto& entry : node) {
      const auto name = entry.first.as<std::string>();
      double value = 0;
      try {
        value = entry.second.as<double>();
      } catch (const YAML::Exception&) {
        fail(entry.second, field + "." + name, "bad value '" + YAML::Dump(entry.second) + "'");
      }
      out.emplace_back(name, value);
    }
    return out;
  }

  void optional(const YAML::Node& map, const char* field, std::optional<double>& out) const {
    if (!map[field]) return;
    double value = 0;
    get(map, field, value);
    out = value;
  }

  std::vector<GeneratorDecision> decisions(const YAML::Node& node, const char* field) const {
    if (!node.IsSequence()) fail(node, field, "expected a list of {name, cost}");
    std::vector<GeneratorDecision> out;
    for (const auto& item : node) {
      GeneratorDecision decision;
      get(item, "name", decision.name);
      get(item, "cost", decision.cost);
      out.push_back(decision);
    }
    return out;
  }

 private:
  std::string path_;
};

// The features `offsets` may name, and the number of values each has.
const std::vector<std::string>& offset_features() {
  static const std::vector<std::string> names = {"ConnType",   "Os",        "ObjectId",   "InitCdn",
                                                 "PlayerType", "Liveorvod", "InitBitrate"};
  return names;
}

bool offset_feature_known(const std::string& name) {
  const auto& names = offset_features();
  return std::find(names.begin(), names.end(), name) != names.end();
}

void check(bool ok, const std::string& field, const std::string& what) {
  if (!ok) throw InvalidInput("generator config: " + field + ": " + what);
}

}  // namespace

void GeneratorConfig::validate() const {
  check(sessions > 0, "sessions", "must be positive");
  check(std::isfinite(duration_s) && duration_s > 0, "duration_s", "must be positive");
  check(start_ms >= 0, "start_ms", "must be >= 0");
  check(diurnal_amplitude >= 0 && diurnal_amplitude < 1, "diurnal.amplitude", "must be in [0, 1)");
  check(diurnal_period_s > 0, "diurnal.period_s", "must be positive");
  check(asns > 0 && asns <= 1000000, "asns", "must be in [1, 1000000]");
  check(asn_zipf >= 0, "asn_zipf", "must be >= 0");
  check(cities_per_asn > 0, "cities_per_asn", "must be positive");
  check(shared_cities >= 0 && shared_cities <= 1000000, "shared_cities", "must be in [0, 1000000]");
  check(objects > 0 && objects <= 10000000, "objects", "must be in [1, 10000000]");
  for (const auto& [feature, sd] : offsets) {
    check(offset_feature_known(feature), "offsets",
          "unknown feature '" + feature +
              "' (expected ConnType, Os, ObjectId, InitCdn, PlayerType, Liveorvod or InitBitrate)");
    check(std::isfinite(sd) && sd >= 0, "offsets." + feature, "must be a finite number >= 0");
  }
  check(!conn_types.empty(), "conn_types", "must not be empty");
  check(!oses.empty(), "oses", "must not be empty");
  check(!decisions.empty(), "decisions", "must not be empty");
  for (const auto& d : decisions) {
    check(!d.name.empty() && d.name.find_first_of(",\t\n@") == std::string::npos, "decisions",
          "bad decision name '" + d.name + "'");
    check(std::isfinite(d.cost), "decisions", "cost of '" + d.name + "' must be finite");
  }
  for (const auto& b : bitrates)
    check(!b.name.empty() && b.name.find_first_of(",\t\n@") == std::string::npos, "bitrates",
          "bad bitrate name '" + b.name + "'");
  check(group_spread >= 0 && conn_type_spread >= 0 && city_spread >= 0 && asn_conn_spread >= 0 &&
            noise >= 0 && drift >= 0,
        "group_spread/conn_type_spread/city_spread/asn_conn_spread/noise/drift", "must be >= 0");
  check(city_spread == 0 || shared_cities > 0 || double(asns) * double(cities_per_asn) <= 1e7,
        "city_spread", "asns x cities_per_asn is too large for a city offset table (max 1e7)");
  check(asn_conn_spread == 0 || double(asns) * double(conn_types.size()) <= 1e7, "asn_conn_spread",
        "asns x conn_types is too large for an offset table (max 1e7)");
  check(std::isfinite(min_cost), "min_cost", "must be finite");
  const std::size_t arms = decisions.size() * std::max<std::size_t>(1, bitrates.size());
  check(candidates_per_session <= arms, "candidates_per_session",
        "more than the " + std::to_string(arms) + " decisions");
  const double drift_cells = double(asns) * double(arms) * (duration_s / 60 + 1);
  check(drift == 0 || drift_cells <= 5e7, "drift",
        "asns x decisions x minutes is too large for a drift table (max 5e7)");
  for (const auto& s : switches) {
    check(s.at_s >= 0, "switches.at_s", "must be >= 0");
    bool known = false;
    for (const auto& d : decisions) known |= d.name == s.decision;
    check(known, "switches.decision", "unknown decision '" + s.decision + "'");
    check(s.asn_share >= 0 && s.asn_share <= 1, "switches.asn_share", "must be in [0, 1]");
    for (int a : s.asns) check(a >= 0 && a < asns, "switches.asns", "index out of range");
    check(std::isfinite(s.add_cost) && std::isfinite(s.multiply) && s.multiply >= 0,
          "switches.add_cost/multiply", "must be finite (multiply >= 0)");
  }
  auto known_decision = [&](const std::string& name) {
    return std::any_of(decisions.begin(), decisions.end(),
                       [&](const GeneratorDecision& d) { return d.name == name; });
  };
  for (const auto& b : bursts) {
    check(std::isfinite(b.at_s) && b.at_s >= 0, "bursts.at_s", "must be >= 0");
    check(std::isfinite(b.duration_s) && b.duration_s > 0, "bursts.duration_s", "must be positive");
    check(std::isfinite(b.factor) && b.factor >= 1 && b.factor <= 1000, "bursts.factor",
          "must be in [1, 1000]");
    for (int a : b.asns) check(a >= 0 && a < asns, "bursts.asns", "index out of range");
    check(b.object >= -1 && b.object < objects, "bursts.object",
          "must be an ObjectId index in [0, objects)");
  }
  for (const auto& [name, k] : rate_cost) {
    check(known_decision(name), "rate_cost", "unknown decision '" + name + "'");
    check(std::isfinite(k), "rate_cost." + name, "must be finite");
  }
  for (std::size_t i = 0; i < phases.size(); ++i) {
    const auto& p = phases[i];
    check(std::isfinite(p.at_s) && p.at_s >= 0, "phases.at_s", "must be >= 0");
    check(i == 0 || p.at_s > phases[i - 1].at_s, "phases.at_s",
          "must increase from phase to phase");
    check(p.group_spread || p.city_spread || p.conn_type_spread || p.asn_conn_spread, "phases",
          "a phase must set group_spread, city_spread, conn_type_spread or asn_conn_spread");
    for (const auto& sd : {p.group_spread, p.city_spread, p.conn_type_spread, p.asn_conn_spread})
      check(!sd || (std::isfinite(*sd) && *sd >= 0), "phases",
            "spreads must be finite numbers >= 0");
    check(!p.city_spread || *p.city_spread == 0 || shared_cities > 0 ||
              double(asns) * double(cities_per_asn) <= 1e7,
          "phases.city_spread",
          "asns x cities_per_asn is too large for a city offset table (max 1e7)");
    check(!p.asn_conn_spread || *p.asn_conn_spread == 0 ||
              double(asns) * double(conn_types.size()) <= 1e7,
          "phases.asn_conn_spread", "asns x conn_types is too large for an offset table (max 1e7)");
  }
  double new_city_share = 0;
  for (std::size_t i = 0; i < new_cities.size(); ++i) {
    const auto& c = new_cities[i];
    check(!c.name.empty() && c.name.find_first_of(", \t\n\r") == std::string::npos,
          "new_cities.name", "bad City name '" + c.name + "' (no spaces, tabs or commas)");
    for (std::size_t j = 0; j < i; ++j)
      check(new_cities[j].name != c.name, "new_cities.name", "duplicate City '" + c.name + "'");
    check(std::isfinite(c.at_s) && c.at_s >= 0, "new_cities.at_s", "must be >= 0");
    check(c.asn_share >= 0 && c.asn_share <= 1, "new_cities.asn_share", "must be in [0, 1]");
    for (int a : c.asns) check(a >= 0 && a < asns, "new_cities.asns", "index out of range");
    check(c.share > 0 && c.share <= 1, "new_cities.share", "must be in (0, 1]");
    new_city_share += c.share;
    for (const auto& [name, offset] : c.costs) {
      check(known_decision(name), "new_cities.costs", "unknown decision '" + name + "'");
      check(std::isfinite(offset), "new_cities.costs." + name, "must be finite");
    }
  }
  check(new_city_share <= 1 + 1e-9, "new_cities.share", "the shares must add up to at most 1");
  auto check_steps = [](const std::vector<GeneratorLoadStep>& steps, const std::string& field) {
    for (const auto& step : steps)
      check(step.share >= 0 && step.share <= 1 && std::isfinite(step.factor) && step.factor > 0,
            field, "share must be in [0, 1] and factor positive");
  };
  check_steps(default_load, "load.default");
  for (const auto& [name, steps] : decision_load) {
    bool known = false;
    for (const auto& d : decisions) known |= d.name == name;
    check(known, "load.per_decision", "unknown decision '" + name + "'");
    check_steps(steps, "load.per_decision." + name);
  }
}

GeneratorConfig load_generator_config(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw InvalidInput(path + ": cannot read file");
  } catch (const YAML::Exception& e) {
    throw InvalidInput(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (!root.IsMap()) throw InvalidInput(path + ": expected a YAML map at the top level");
  static const std::vector<std::string> known = {"seed",
                                                 "sessions",
                                                 "duration_s",
                                                 "start_ms",
                                                 "diurnal",
                                                 "asns",
                                                 "asn_zipf",
                                                 "cities_per_asn",
                                                 "shared_cities",
                                                 "objects",
                                                 "asn_conn_spread",
                                                 "offsets",
                                                 "conn_types",
                                                 "oses",
                                                 "decisions",
                                                 "bitrates",
                                                 "group_spread",
                                                 "conn_type_spread",
                                                 "city_spread",
                                                 "noise",
                                                 "drift",
                                                 "min_cost",
                                                 "candidates_per_session",
                                                 "switches",
                                                 "bursts",
                                                 "rate_cost",
                                                 "phases",
                                                 "new_cities",
                                                 "load"};
  YamlReader yaml(path);
  for (const auto& item : root) {
    const auto key = item.first.as<std::string>();
    if (std::find(known.begin(), known.end(), key) == known.end())
      yaml.fail(item.first, key, "unknown field");
  }
  GeneratorConfig config;
  yaml.get(root, "seed", config.seed);
  yaml.get(root, "sessions", config.sessions);
  yaml.get(root, "duration_s", config.duration_s);
  yaml.get(root, "start_ms", config.start_ms);
  if (const auto diurnal = root["diurnal"]) {
    yaml.get(diurnal, "amplitude", config.diurnal_amplitude);
    yaml.get(diurnal, "period_s", config.diurnal_period_s);
    yaml.get(diurnal, "peak_s", config.diurnal_peak_s);
  }
  yaml.get(root, "asns", config.asns);
  yaml.get(root, "asn_zipf", config.asn_zipf);
  yaml.get(root, "cities_per_asn", config.cities_per_asn);
  yaml.get(root, "shared_cities", config.shared_cities);
  yaml.get(root, "objects", config.objects);
  yaml.get(root, "conn_types", config.conn_types);
  yaml.get(root, "oses", config.oses);
  if (root["decisions"]) config.decisions = yaml.decisions(root["decisions"], "decisions");
  if (root["bitrates"]) config.bitrates = yaml.decisions(root["bitrates"], "bitrates");
  yaml.get(root, "group_spread", config.group_spread);
  yaml.get(root, "conn_type_spread", config.conn_type_spread);
  yaml.get(root, "city_spread", config.city_spread);
  yaml.get(root, "asn_conn_spread", config.asn_conn_spread);
  if (const auto offsets = root["offsets"]) {
    if (!offsets.IsMap()) yaml.fail(offsets, "offsets", "expected a map feature -> sd");
    for (const auto& item : offsets) {
      const auto feature = item.first.as<std::string>();
      double sd = 0;
      yaml.get(offsets, feature.c_str(), sd);
      config.offsets.emplace_back(feature, sd);
    }
  }
  yaml.get(root, "noise", config.noise);
  yaml.get(root, "drift", config.drift);
  yaml.get(root, "min_cost", config.min_cost);
  yaml.get(root, "candidates_per_session", config.candidates_per_session);
  if (const auto switches = root["switches"]) {
    yaml.items(switches, "switches",
               {"at_s", "decision", "asns", "asn_share", "add_cost", "multiply"});
    for (const auto& item : switches) {
      GeneratorSwitch s;
      yaml.get(item, "at_s", s.at_s);
      yaml.get(item, "decision", s.decision);
      yaml.get(item, "asns", s.asns);
      yaml.get(item, "asn_share", s.asn_share);
      yaml.get(item, "add_cost", s.add_cost);
      yaml.get(item, "multiply", s.multiply);
      config.switches.push_back(s);
    }
  }
  if (const auto bursts = root["bursts"]) {
    yaml.items(bursts, "bursts", {"at_s", "duration_s", "factor", "asns", "object"});
    for (const auto& item : bursts) {
      GeneratorBurst b;
      yaml.get(item, "at_s", b.at_s);
      yaml.get(item, "duration_s", b.duration_s);
      yaml.get(item, "factor", b.factor);
      yaml.get(item, "asns", b.asns);
      yaml.get(item, "object", b.object);
      config.bursts.push_back(b);
    }
  }
  if (const auto rate_cost = root["rate_cost"])
    config.rate_cost = yaml.numbers(rate_cost, "rate_cost");
  if (const auto phases = root["phases"]) {
    yaml.items(phases, "phases",
               {"at_s", "group_spread", "city_spread", "conn_type_spread", "asn_conn_spread"});
    for (const auto& item : phases) {
      GeneratorPhase p;
      yaml.get(item, "at_s", p.at_s);
      yaml.optional(item, "group_spread", p.group_spread);
      yaml.optional(item, "city_spread", p.city_spread);
      yaml.optional(item, "conn_type_spread", p.conn_type_spread);
      yaml.optional(item, "asn_conn_spread", p.asn_conn_spread);
      config.phases.push_back(p);
    }
  }
  if (const auto cities = root["new_cities"]) {
    yaml.items(cities, "new_cities", {"name", "at_s", "asns", "asn_share", "share", "costs"});
    for (const auto& item : cities) {
      GeneratorNewCity c;
      yaml.get(item, "name", c.name);
      yaml.get(item, "at_s", c.at_s);
      yaml.get(item, "asns", c.asns);
      yaml.get(item, "asn_share", c.asn_share);
      yaml.get(item, "share", c.share);
      if (item["costs"]) c.costs = yaml.numbers(item["costs"], "new_cities.costs");
      config.new_cities.push_back(c);
    }
  }
  if (const auto load = root["load"]) {
    if (load["default"]) config.default_load = yaml.steps(load["default"], "load.default");
    if (const auto per = load["per_decision"]) {
      if (!per.IsMap()) yaml.fail(per, "load.per_decision", "expected a map decision -> steps");
      for (const auto& item : per)
        config.decision_load.emplace_back(
            item.first.as<std::string>(),
            yaml.steps(item.second, "load.per_decision." + item.first.as<std::string>()));
    }
  }
  try {
    config.validate();
  } catch (const InvalidInput& e) {
    throw InvalidInput(path + ": " + e.what());
  }
  return config;
}

std::string generator_asn_name(int index) {
  return "AS" + std::to_string(1000 + 37 * index);
}

std::size_t generate_trace(const GeneratorConfig& config,
                           const std::function<void(const TraceSession&)>& sink) {
  config.validate();
  Rng rng(config.seed);

  // Decisions: CDNs, optionally crossed with bitrates ("cdn@bitrate").
  std::vector<GeneratorDecision> arms;
  std::vector<std::size_t> arm_cdn;  // index into config.decisions
  for (std::size_t c = 0; c < config.decisions.size(); ++c) {
    if (config.bitrates.empty()) {
      arms.push_back(config.decisions[c]);
      arm_cdn.push_back(c);
    }
    for (const auto& b : config.bitrates) {
      arms.push_back({config.decisions[c].name + "@" + b.name, config.decisions[c].cost + b.cost});
      arm_cdn.push_back(c);
    }
  }
  const std::size_t n_arms = arms.size();
  const auto n_asns = static_cast<std::size_t>(config.asns);
  const auto n_conn = config.conn_types.size();

  // Ground truth drawn once per trace (the ASN and ConnType tables always,
  // the others only when used, so configs without them keep their bytes).
  const auto n_cities = static_cast<std::size_t>(config.cities_per_asn);
  const auto n_shared = static_cast<std::size_t>(config.shared_cities);
  // City ids: asn * n_cities + city, or the shared city's index.
  const std::size_t city_ids = n_shared > 0 ? n_shared : n_asns * n_cities;
  PhasedTable asn_offset, conn_offset, city_offset, asn_conn_offset;
  asn_offset.from_s.push_back(0);
  asn_offset.tables.emplace_back(n_asns * n_arms);
  for (auto& x : asn_offset.tables[0]) x = config.group_spread * normal(rng);
  conn_offset.from_s.push_back(0);
  conn_offset.tables.emplace_back(n_conn * n_arms);
  for (auto& x : conn_offset.tables[0]) x = config.conn_type_spread * normal(rng);
  city_offset.add(0, city_ids * n_arms, config.city_spread, rng);
  asn_conn_offset.add(0, n_asns * n_conn * n_arms, config.asn_conn_spread, rng);
  // Per-value offsets, in offset_features() order; empty when not used.
  const std::size_t value_counts[] = {n_conn,
                                      config.oses.size(),
                                      static_cast<std::size_t>(config.objects),
                                      config.decisions.size(),
                                      2,
                                      2,
                                      3};
  std::vector<std::vector<double>> value_offset(offset_features().size());
  for (const auto& [feature, sd] : config.offsets) {
    const auto f = static_cast<std::size_t>(
        std::find(offset_features().begin(), offset_features().end(), feature) -
        offset_features().begin());
    value_offset[f].assign(value_counts[f], 0);
    for (auto& x : value_offset[f]) x = sd * normal(rng);
  }
  const auto minutes = static_cast<std::size_t>(config.duration_s / 60) + 1;
  std::vector<double> drift;
  if (config.drift > 0) {
    drift.resize(n_asns * n_arms * minutes);
    for (std::size_t k = 0; k < n_asns * n_arms; ++k) {
      double walk = 0;
      for (std::size_t m = 0; m < minutes; ++m) {
        drift[k * minutes + m] = walk;
        walk += config.drift * normal(rng);
      }
    }
  }
  // Phases: their tables after every other table.
  for (const auto& phase : config.phases) {
    if (phase.group_spread) asn_offset.add(phase.at_s, n_asns * n_arms, *phase.group_spread, rng);
    if (phase.conn_type_spread)
      conn_offset.add(phase.at_s, n_conn * n_arms, *phase.conn_type_spread, rng);
    if (phase.city_spread) city_offset.add(phase.at_s, city_ids * n_arms, *phase.city_spread, rng);
    if (phase.asn_conn_spread)
      asn_conn_offset.add(phase.at_s, n_asns * n_conn * n_arms, *phase.asn_conn_spread, rng);
  }
  // Which (switch, ASN) and (new city, ASN) pairs apply.
  std::vector<std::vector<bool>> switch_asns;
  for (const auto& s : config.switches)
    switch_asns.push_back(covered_asns(s.asns, s.asn_share, n_asns));
  std::vector<std::vector<bool>> new_city_asns;
  std::vector<std::vector<double>> new_city_cost;  // per new city and arm
  for (const auto& c : config.new_cities) {
    new_city_asns.push_back(covered_asns(c.asns, c.asn_share, n_asns));
    auto& cost = new_city_cost.emplace_back(n_arms, 0.0);
    for (std::size_t i = 0; i < n_arms; ++i)
      for (const auto& [name, offset] : c.costs)
        if (cdn_of(arms[i].name) == name) cost[i] += offset;
  }
  std::vector<double> arm_rate_cost(n_arms, 0.0);
  for (std::size_t i = 0; i < n_arms; ++i)
    for (const auto& [name, k] : config.rate_cost)
      if (cdn_of(arms[i].name) == name) arm_rate_cost[i] += k;
  const bool rate_costs = !config.rate_cost.empty();

  // The session rate relative to the base rate: diurnal x (1 + the active
  // bursts' excess).
  auto diurnal = [&](double s) {
    return 1 +
           config.diurnal_amplitude * std::cos(2 * std::numbers::pi * (s - config.diurnal_peak_s) /
                                               config.diurnal_period_s);
  };
  auto burst_excess = [&](double s) {
    double excess = 0;
    for (const auto& b : config.bursts)
      if (s >= b.at_s && s < b.at_s + b.duration_s) excess += b.factor - 1;
    return excess;
  };

  // Session times: rejection sampling against the rate, then sorted. A
  // session during a burst is one of the burst's extra sessions with the
  // burst's share of the rate (`burst` >= 0; -1: an ordinary session).
  struct Slot {
    std::int64_t time_ms = 0;
    int burst = -1;
    auto operator<=>(const Slot&) const = default;
  };
  std::vector<Slot> times(config.sessions);
  double all_bursts = 1;
  for (const auto& b : config.bursts) all_bursts += b.factor - 1;
  const double peak_rate = (1 + config.diurnal_amplitude) * all_bursts;
  for (auto& t : times) {
    for (;;) {
      const double s = rng.uniform() * config.duration_s;
      const double excess = burst_excess(s);
      if (rng.uniform() * peak_rate <= diurnal(s) * (1 + excess)) {
        t.time_ms = config.start_ms + static_cast<std::int64_t>(s * 1000);
        if (excess > 0) {
          double v = rng.uniform() * (1 + excess) - 1;
          for (std::size_t b = 0; b < config.bursts.size() && v >= 0; ++b) {
            const auto& burst = config.bursts[b];
            if (s < burst.at_s || s >= burst.at_s + burst.duration_s) continue;
            t.burst = static_cast<int>(b);
            v -= burst.factor - 1;
          }
        }
        break;
      }
    }
  }
  std::sort(times.begin(), times.end());

  // LoadMap entries, the same for every session.
  std::vector<DecisionLoad> arm_loads(n_arms);
  for (std::size_t i = 0; i < n_arms; ++i) {
    arm_loads[i].decision = arms[i].name;
    arm_loads[i].steps = load_steps(config.default_load);
    for (const auto& [name, steps] : config.decision_load)
      if (name == config.decisions[arm_cdn[i]].name) arm_loads[i].steps = load_steps(steps);
  }

  const auto asn_cdf = zipf_cumulative(n_asns, config.asn_zipf);
  const auto object_cdf = zipf_cumulative(static_cast<std::size_t>(config.objects), 1.0);
  static const char* kBitrates[] = {"1200", "2500", "4000"};
  static const char* kPlayers[] = {"html5", "flash"};
  const std::size_t per_session =
      config.candidates_per_session == 0 ? n_arms : config.candidates_per_session;

  TraceSession session;
  session.features.resize(15);
  std::vector<std::size_t> chosen;
  for (const auto [time_ms, burst_index] : times) {
    const GeneratorBurst* burst =
        burst_index >= 0 ? &config.bursts[static_cast<std::size_t>(burst_index)] : nullptr;
    const double t_s = double(time_ms - config.start_ms) / 1000;
    const std::size_t asn =
        burst && !burst->asns.empty()
            ? static_cast<std::size_t>(burst->asns[rng.below(burst->asns.size())])
            : draw(asn_cdf, rng);
    const std::size_t city =
        rng.below(n_shared > 0 ? n_shared : static_cast<std::uint64_t>(config.cities_per_asn));
    const std::size_t city_id = n_shared > 0 ? city : asn * n_cities + city;
    // A new city takes its share of its ASNs' sessions from its time on.
    int new_city = -1;
    if (!config.new_cities.empty()) {
      auto active = [&](std::size_t k) {
        return t_s >= config.new_cities[k].at_s && new_city_asns[k][asn];
      };
      bool any = false;
      for (std::size_t k = 0; k < config.new_cities.size(); ++k) any |= active(k);
      if (any) {
        double u = rng.uniform();
        for (std::size_t k = 0; k < config.new_cities.size() && new_city < 0; ++k) {
          if (!active(k)) continue;
          if (u < config.new_cities[k].share) new_city = static_cast<int>(k);
          u -= config.new_cities[k].share;
        }
      }
    }
    const std::size_t conn = rng.below(n_conn);
    const std::size_t os = rng.below(config.oses.size());
    const auto minute = std::min(static_cast<std::size_t>(t_s / 60), minutes - 1);

    auto& f = session.features;
    session.time_ms = time_ms;
    f[0] = std::to_string(time_ms);
    f[1] = std::to_string(rng.below(100));         // BufRate (percent)
    f[2] = kBitrates[rng.below(3)];                // AvgBitrate
    f[3] = std::to_string(200 + rng.below(4800));  // JoinTime (ms)
    f[4] = generator_asn_name(static_cast<int>(asn));
    if (new_city >= 0) {
      f[5] = config.new_cities[static_cast<std::size_t>(new_city)].name;
    } else {
      f[5] = n_shared > 0 ? "city" + std::to_string(city) : f[4] + "-city" + std::to_string(city);
    }
    f[6] = "US";
    f[7] = config.conn_types[conn];
    const std::size_t state_city =
        new_city >= 0 ? n_cities + static_cast<std::size_t>(new_city) : city;
    f[8] = "S" + std::to_string((asn * 7 + state_city) % 50);
    f[9] = config.oses[os];
    const std::size_t live = rng.uniform() < 0.8 ? 0 : 1;
    f[10] = live ? "live" : "vod";
    const std::size_t object = burst && burst->object >= 0 ? static_cast<std::size_t>(burst->object)
                                                           : draw(object_cdf, rng);
    f[11] = "obj" + std::to_string(object);
    const std::size_t player = rng.below(2);
    f[12] = kPlayers[player];
    const std::size_t init_bitrate = rng.below(3);
    f[13] = kBitrates[init_bitrate];
    const std::size_t init_cdn = rng.below(config.decisions.size());
    f[14] = config.decisions[init_cdn].name;
    // In offset_features() order.
    const std::size_t value_of[] = {conn, os, object, init_cdn, player, live, init_bitrate};
    double session_offset = 0;
    for (std::size_t k = 0; k < value_offset.size(); ++k)
      if (!value_offset[k].empty()) session_offset += value_offset[k][value_of[k]];

    // Candidates: all arms, or a random subset kept in arm order.
    chosen.clear();
    std::size_t needed = per_session;
    for (std::size_t i = 0; i < n_arms && needed > 0; ++i) {
      if (rng.below(n_arms - i) < needed) {
        chosen.push_back(i);
        --needed;
      }
    }
    session.decisions.resize(chosen.size());
    session.loads.resize(chosen.size());
    const auto& asn_table = asn_offset.at(t_s);
    const auto& conn_table = conn_offset.at(t_s);
    const auto& city_table = city_offset.at(t_s);
    const auto& asn_conn_table = asn_conn_offset.at(t_s);
    const double rate_excess = rate_costs ? diurnal(t_s) * (1 + burst_excess(t_s)) - 1 : 0;
    for (std::size_t k = 0; k < chosen.size(); ++k) {
      const std::size_t i = chosen[k];
      double cost = arms[i].cost;
      if (!asn_table.empty()) cost += asn_table[asn * n_arms + i];
      if (!conn_table.empty()) cost += conn_table[conn * n_arms + i];
      if (new_city >= 0)
        cost += new_city_cost[static_cast<std::size_t>(new_city)][i];
      else if (!city_table.empty())
        cost += city_table[city_id * n_arms + i];
      if (!asn_conn_table.empty()) cost += asn_conn_table[(asn * n_conn + conn) * n_arms + i];
      cost += session_offset;
      if (!drift.empty()) cost += drift[(asn * n_arms + i) * minutes + minute];
      if (rate_costs) cost += arm_rate_cost[i] * rate_excess;
      for (std::size_t s = 0; s < config.switches.size(); ++s) {
        const auto& sw = config.switches[s];
        if (t_s >= sw.at_s && switch_asns[s][asn] && cdn_of(arms[i].name) == sw.decision)
          cost = (cost + sw.add_cost) * sw.multiply;
      }
      cost += config.noise * normal(rng);
      session.decisions[k].decision = arms[i].name;
      session.decisions[k].cost = cost_number(std::max(cost, config.min_cost));
      session.loads[k] = arm_loads[i];
    }
    sink(session);
  }
  return times.size();
}

}  // namespace pytheas::sim
