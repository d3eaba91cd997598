#pragma once
// The result files of `pytheas evaluate`, in its --out directory:
//   summary.csv  policy,kind,estimator,estimate,ci_low,ci_high,n_effective,
//                agree,samples: one row per (target, estimator); estimate is
//                a mean score (higher is better); kind is logged, stationary
//                or learning
//   summary.txt  the same as an aligned table (what `evaluate` prints), then
//                one line per target that never agrees with the log
// (summary.json and the plot come from the CLI.) Pure functions apart from
// the file writes.

#include <string>
#include <vector>

#include "evaluation/evaluator.hpp"

namespace pytheas::evaluation {

std::string format_evaluation_csv(const std::vector<TargetResult>& results, std::size_t samples);
std::string format_evaluation_table(const std::vector<TargetResult>& results);

/// Creates `dir` if needed and writes summary.csv and summary.txt. Throws
/// std::runtime_error naming a file that could not be written.
void write_evaluation_outputs(const std::string& dir, const std::vector<TargetResult>& results,
                              std::size_t samples);

}  // namespace pytheas::evaluation
