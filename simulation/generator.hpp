#pragma once
// TraceGenerator: synthetic sessions with a known ground truth, for comparing
// policies where the right answer is known. Each session gets the original's
// 15 features (Asn, City, ConnType, Os, ... drawn from skewed distributions),
// a set of candidate decisions (CDNs, optionally crossed with bitrates), and
// the cost every candidate would give it (DecisionMap):
//
//   cost = base(decision) + offset(Asn, decision) + offset(ConnType, decision)
//        + offset(City, decision) + offset(Asn, ConnType, decision)
//        + offset(value) for each feature in `offsets`
//        + drift(Asn, decision, minute) + rate_cost(decision) * (r(t) - 1)
//        + switches active at t + noise,
//
// floored at min_cost, where offsets are drawn once per trace (a City is one
// of `cities_per_asn` cities of its ASN, or one of `shared_cities` cities any
// ASN may have; `offsets` shift every decision alike, so those features
// change costs but never which decision is best), drift is a
// random walk per minute, and a switch degrades one decision from a time on
// in a subset of ASNs (a CDN failing in some networks). Every session carries
// the same LoadMap (herding onto one decision multiplies its cost). Session
// times follow a diurnal rate curve times any bursts (a flash crowd, whose
// extra sessions may come from some ASNs or one ObjectId); r(t) is that
// rate relative to the base rate. Phases redraw the ASN, City, ConnType or
// (ASN, ConnType) offsets from a time on (e.g. the best decision starts to
// depend on City halfway), and a new City may appear at a time with costs of
// its own. Everything is drawn from one seeded Rng: the same config gives the
// same bytes (a config without the newer keys, the bytes it gave before them). docs/SIMULATION.md
// is the config reference; config/gen-*.yaml are commented examples. Not thread-safe (one generator
// per thread).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/trace_format.hpp"

namespace pytheas::sim {

struct GeneratorDecision {
  std::string name;
  double cost = 0;  ///< base cost
};

struct GeneratorSwitch {
  double at_s = 0;        ///< seconds from the trace start
  std::string decision;   ///< a decision name, or a CDN name when bitrates are used
  std::vector<int> asns;  ///< ASN indices (0-based) affected; empty: use asn_share
  double asn_share = 1;   ///< share of ASNs affected (the first ones by index)
  double add_cost = 0;    ///< added to the cost from at_s on
  double multiply = 1;    ///< then multiplied
};

/// A flash crowd: from at_s for duration_s the session rate is multiplied by
/// `factor`; the extra sessions come from `asns` (uniformly) and ask for
/// ObjectId `object` when those are set, else are drawn as any session.
struct GeneratorBurst {
  double at_s = 0;
  double duration_s = 60;
  double factor = 2;      ///< >= 1
  std::vector<int> asns;  ///< ASN indices of the extra sessions; empty: as usual
  int object = -1;        ///< ObjectId index of the extra sessions; -1: as usual
};

/// From at_s on, each spread given redraws its offset table with that sd
/// (0: no offset); the others keep the previous phase's table.
struct GeneratorPhase {
  double at_s = 0;
  std::optional<double> group_spread, city_spread, conn_type_spread, asn_conn_spread;
};

/// A City value that starts getting sessions at at_s: from then on a `share`
/// of the sessions of its ASNs are in it, and their costs get `costs` (per
/// CDN) instead of a drawn city offset.
struct GeneratorNewCity {
  std::string name;       ///< the City value, e.g. "metro-new"
  double at_s = 0;        ///< seconds from the trace start
  std::vector<int> asns;  ///< ASN indices it appears in; empty: use asn_share
  double asn_share = 1;   ///< share of ASNs (the first ones by index)
  double share = 0.1;     ///< share of those ASNs' sessions in it, in (0, 1]
  std::vector<std::pair<std::string, double>> costs;  ///< CDN -> offset
};

struct GeneratorLoadStep {
  double share = 0;
  double factor = 1;
};

struct GeneratorConfig {
  std::uint64_t seed = 1;
  std::size_t sessions = 10000;
  double duration_s = 3600;
  std::int64_t start_ms = 0;

  double diurnal_amplitude = 0;  ///< rate = 1 + a*cos(2π (t - peak_s) / period_s), a in [0,1)
  double diurnal_period_s = 86400;
  double diurnal_peak_s = 0;

  int asns = 10;
  double asn_zipf = 1.0;  ///< popularity of ASN i ∝ 1/(i+1)^zipf
  int cities_per_asn = 3;
  std::vector<std::string> conn_types = {"dsl", "cable", "fiber", "mobile"};
  std::vector<std::string> oses = {"windows", "macos", "ios", "android", "linux"};
  /// 0: each ASN has `cities_per_asn` cities of its own ("AS1000-city0");
  /// N > 0: N cities ("city0".."city<N-1>") shared by every ASN, drawn
  /// uniformly and independently of the ASN.
  int shared_cities = 0;
  int objects = 1000;  ///< ObjectId values ("obj0"...), Zipf(1) popularity

  std::vector<GeneratorDecision> decisions = {{"cdn-a", 100}, {"cdn-b", 110}, {"cdn-c", 120}};
  std::vector<GeneratorDecision> bitrates;  ///< empty: decisions as they are

  double group_spread = 20;
  double conn_type_spread = 0;
  double city_spread = 0;  ///< sd of the per-(city, decision) offset (a city of an ASN, or shared)
  double asn_conn_spread = 0;  ///< sd of the per-(ASN, ConnType, decision) offset
  /// Feature -> sd of a per-value offset added to every decision's cost alike
  /// (changes costs, never which decision is best). Features: ConnType, Os,
  /// ObjectId, InitCdn, PlayerType, Liveorvod, InitBitrate.
  std::vector<std::pair<std::string, double>> offsets;
  double noise = 10;
  double drift = 0;
  double min_cost = 1;
  std::size_t candidates_per_session = 0;  ///< 0: all; else a random subset of that size

  std::vector<GeneratorSwitch> switches;
  std::vector<GeneratorBurst> bursts;
  /// CDN -> cost added per unit of relative session rate above 1: cost +=
  /// k * (r(t) - 1), r(t) = diurnal rate x burst factors (1 = the base rate).
  std::vector<std::pair<std::string, double>> rate_cost;
  std::vector<GeneratorPhase> phases;  ///< in increasing at_s
  std::vector<GeneratorNewCity> new_cities;
  std::vector<GeneratorLoadStep> default_load = {{0.5, 1.5}, {0.8, 2.5}};
  std::vector<std::pair<std::string, std::vector<GeneratorLoadStep>>> decision_load;

  /// Throws InvalidInput naming the first field out of range.
  void validate() const;
};

/// Loads a generator config from YAML. Throws InvalidInput("FILE: FIELD: ...").
GeneratorConfig load_generator_config(const std::string& path);

/// Generates the trace, handing each session (in time order) to `sink`.
/// Returns the number of sessions. Throws InvalidInput on an invalid config.
std::size_t generate_trace(const GeneratorConfig& config,
                           const std::function<void(const TraceSession&)>& sink);

/// ASN value (the Asn feature) of ASN index `index`, e.g. "AS7018".
std::string generator_asn_name(int index);

}  // namespace pytheas::sim
