#include "evaluation/evaluation_report.hpp"
#include "core/csv.hpp"

#include <cmath>
#include <cstdio>

namespace pytheas::evaluation {
namespace {

std::string number(double value, const char* format = "%.6g") {
  if (!std::isfinite(value)) return "";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

const char* kind_of(const TargetResult& result) {
  if (result.policy == "logged") return "logged";
  return result.stationary ? "stationary" : "learning";
}

}  // namespace

std::string format_evaluation_csv(const std::vector<TargetResult>& results, std::size_t samples) {
  std::string out = "policy,kind,estimator,estimate,ci_low,ci_high,n_effective,agree,samples\n";
  for (const auto& result : results)
    for (const auto& e : result.estimates)
      out += csv_field(result.policy) + "," + kind_of(result) + "," + csv_field(e.estimator) + "," +
             number(e.value) + "," + number(e.ci_low) + "," + number(e.ci_high) + "," +
             number(e.n_effective, "%.1f") + "," + std::to_string(e.agree) + "," +
             std::to_string(samples) + "\n";
  return out;
}

std::string format_evaluation_table(const std::vector<TargetResult>& results) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-20s %-10s %-9s %12s %25s %12s\n", "policy", "kind",
                "estimator", "estimate", "95% interval", "n_effective");
  out += line;
  for (const auto& result : results) {
    for (const auto& e : result.estimates) {
      const std::string interval =
          "[" + number(e.ci_low, "%.4g") + ", " + number(e.ci_high, "%.4g") + "]";
      std::snprintf(line, sizeof line, "%-20s %-10s %-9s %12s %25s %12.1f\n", result.policy.c_str(),
                    kind_of(result), e.estimator.c_str(), number(e.value, "%.6g").c_str(),
                    interval.c_str(), e.n_effective);
      out += line;
    }
  }
  for (const auto& result : results)
    if (!result.error.empty()) out += "error: " + result.error + "\n";
  for (const auto& result : results)
    if (!result.warning.empty()) out += "warning: " + result.warning + "\n";
  return out;
}

}  // namespace pytheas::evaluation
