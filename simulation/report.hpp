#pragma once
// Writes a simulation's results to a directory, as researchers consume them:
//   <lane>.csv       interval_start_s,sessions,mean_cost,p90_cost (one per lane)
//   timeseries.csv   interval_start_s,<lane>... (mean cost per interval)
//   cdf.csv          quantile,<lane>...  (per-session cost quantiles, 0..1)
//   summary.csv      one row per lane: mean, p90, improvement vs random and cfa
//   summary.txt      the same as an aligned table (also what `simulate` prints)
//   regroups.csv     with a learned grouping: time_s,samples,groups,
//                    split_features,learn_seconds (one row per regrouping)
//   learned_rules.txt  with a learned grouping: its last rules (format_rules)
// Improvement vs X = (cost_X - cost) / cost_X * 100: positive means cheaper
// than X. Columns are empty when the trace had no such baseline lane.

#include <string>

#include "simulation/simulator.hpp"

namespace pytheas::sim {

/// The summary table as text (header + one line per lane).
std::string format_summary(const SimulationResult& result);

/// File-name-safe form of a lane name ("ducb@Asn+City" -> "ducb_Asn_City").
std::string lane_file_stem(const std::string& lane);

/// Creates `dir` if needed and writes the files above. Throws
/// std::runtime_error naming the file that could not be written.
void write_simulation_outputs(const std::string& dir, const SimulationResult& result);

}  // namespace pytheas::sim
