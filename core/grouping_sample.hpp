#pragma once
// GroupingSample: one sampled session as the grouping learner sees it: its
// features, the decision it used, the score it got and the frontend cluster
// that served it. A plain value.

#include <string>
#include <vector>

namespace pytheas {

struct GroupingSample {
  std::vector<std::string> features;  ///< in schema order (size == schema.size())
  std::string decision;               ///< the decision the session used
  double score = 0;     ///< its QoE, higher is better (as Policy scores: callers negate costs)
  std::string cluster;  ///< frontend cluster that saw the session; may be empty
};

}  // namespace pytheas
