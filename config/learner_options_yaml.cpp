#include "config/learner_options_yaml.hpp"

namespace pytheas {

void read_learner_options(const Context& ctx, const YAML::Node& map, const std::string& prefix,
                          const FeatureSchema* schema, GroupingLearnerOptions& options) {
  auto f = [&](const char* key) { return prefix + key; };
  if (auto n = map["min_group_size"])
    options.min_group_size = static_cast<std::size_t>(ctx.number(n, f("min_group_size"), 1, 1e9));
  if (auto n = map["max_depth"])
    options.max_depth = static_cast<std::size_t>(ctx.number(n, f("max_depth"), 0, 16));
  if (auto n = map["false_split_rate"])
    options.false_split_rate = ctx.number(n, f("false_split_rate"), 1e-12, 0.5);
  if (auto n = map["min_effect"]) options.min_effect = ctx.number(n, f("min_effect"), 0, 100);
  if (auto n = map["min_cell_samples"])
    options.min_cell_samples =
        static_cast<std::size_t>(ctx.number(n, f("min_cell_samples"), 2, 1e6));
  if (auto n = map["features"]) {
    options.candidate_features = ctx.string_list(n, f("features"));
    if (schema)
      for (std::size_t i = 0; i < options.candidate_features.size(); ++i)
        if (!schema->index_of(options.candidate_features[i]))
          ctx.fail(n[i], f("features") + "[" + std::to_string(i) + "]",
                   "unknown feature '" + options.candidate_features[i] + "'");
  }
}

}  // namespace pytheas
