#pragma once
// The result texts of `pytheas evaluate` (the CLI writes them to --out):
//   summary.csv  policy,kind,estimator,estimate,ci_low,ci_high,n_effective,
//                agree,samples: one row per (target, estimator); estimate is
//                a mean score (higher is better); kind is logged, stationary
//                or learning
//   summary.txt  the same as an aligned table (what `evaluate` prints), then
//                one line per target that never agrees with the log
// Pure functions.

#include <string>
#include <vector>

#include "evaluation/evaluator.hpp"

namespace pytheas::evaluation {

std::string format_evaluation_csv(const std::vector<TargetResult>& results, std::size_t samples);
std::string format_evaluation_table(const std::vector<TargetResult>& results);

}  // namespace pytheas::evaluation
