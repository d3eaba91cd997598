#include "evaluation/stationary_estimators.hpp"

namespace pytheas::evaluation {
namespace {

std::vector<double> column_statistic(const std::vector<Row3>& sums, double n, int kind) {
  std::vector<double> values;
  values.reserve(sums.size());
  for (const auto& sum : sums) {
    switch (kind) {
      case 0:  // IPS
        values.push_back(sum[0] / n);
        break;
      case 1:  // SNIPS
        values.push_back(sum[1] > 0 ? sum[0] / sum[1] : NAN);
        break;
      default:  // DR
        values.push_back(sum[2] / n);
    }
  }
  return values;
}

}  // namespace

std::vector<Estimate> stationary_estimates(const SampleSet& set, const TargetPolicy& target,
                                           const RewardModel& model,
                                           const BootstrapOptions& options) {
  std::vector<Row3> rows;
  rows.reserve(set.samples.size());
  std::vector<double> pi;
  double sum_w = 0, sum_w2 = 0;
  std::size_t agree = 0;
  for (const auto& sample : set.samples) {
    const auto candidates = set.candidates_of(sample);
    pi.assign(candidates.size(), 0.0);
    stationary_probabilities(target, set, sample, pi);
    const double w = pi[sample.chosen] / sample.propensity;
    double direct = 0;
    for (std::size_t k = 0; k < candidates.size(); ++k)
      if (pi[k] > 0) direct += pi[k] * model.predict(sample.group, candidates[k]);
    const double residual = sample.reward - model.predict(sample.group, set.chosen_id(sample));
    rows.push_back({w * sample.reward, w, direct + w * residual});
    sum_w += w;
    sum_w2 += w * w;
    agree += w > 0 ? 1 : 0;
  }
  const double n = static_cast<double>(rows.size());
  Row3 total{0, 0, 0};
  for (const auto& row : rows)
    for (int c = 0; c < 3; ++c)
      total[static_cast<std::size_t>(c)] += row[static_cast<std::size_t>(c)];

  std::vector<Estimate> out(3);
  out[0].estimator = "ips";
  out[1].estimator = "snips";
  out[2].estimator = "dr";
  for (auto& estimate : out) {
    estimate.agree = agree;
    estimate.n_effective = sum_w2 > 0 ? sum_w * sum_w / sum_w2 : 0;
  }
  if (agree == 0 || rows.empty()) return out;
  out[0].value = total[0] / n;
  out[1].value = total[0] / total[1];
  out[2].value = total[2] / n;
  const auto sums = column_sums(rows, options);
  for (int kind = 0; kind < 3; ++kind) {
    auto values = column_statistic(sums, n, kind);
    const auto interval = percentile_interval(values, options.confidence);
    out[static_cast<std::size_t>(kind)].ci_low = interval.low;
    out[static_cast<std::size_t>(kind)].ci_high = interval.high;
  }
  return out;
}

Estimate on_policy_estimate(const SampleSet& set, const BootstrapOptions& options) {
  std::vector<Row3> rows;
  rows.reserve(set.samples.size());
  double total = 0;
  for (const auto& sample : set.samples) {
    rows.push_back({sample.reward, 1, 0});
    total += sample.reward;
  }
  Estimate estimate;
  estimate.estimator = "on-policy";
  estimate.agree = rows.size();
  estimate.n_effective = static_cast<double>(rows.size());
  if (rows.empty()) return estimate;
  const double n = static_cast<double>(rows.size());
  estimate.value = total / n;
  auto values = column_statistic(column_sums(rows, options), n, 0);
  const auto interval = percentile_interval(values, options.confidence);
  estimate.ci_low = interval.low;
  estimate.ci_high = interval.high;
  return estimate;
}

}  // namespace pytheas::evaluation
