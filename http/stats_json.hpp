#pragma once
// GET /v1/stats: one compact JSON summary of a node for the dashboard and for
// scripts: node counters, snapshot freshness, and the busiest groups with
// their decision shares. Stateless: rates (reports/s) are left to the caller,
// which diffs the counters between two polls. See docs/API.md.

#include <cstddef>
#include <string>

#include "actors/node/decision_service.hpp"

namespace pytheas::http {

class Metrics;

struct StatsOptions {
  std::size_t max_groups = 12;  ///< groups listed, busiest (most reports) first
  double now = 0;               ///< unix seconds, for snapshot ages
};

/// Appends the summary of `service` (and the HTTP counters in `metrics`) to
/// `out`. Lists at most `options.max_groups` groups; "group_count" is the total.
void write_stats(const DecisionService& service, const Metrics& metrics,
                 const StatsOptions& options, std::string& out);

}  // namespace pytheas::http
