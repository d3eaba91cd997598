#include "actors/node/node_decision_log.hpp"

#include <spdlog/spdlog.h>

#include "config/label_config.hpp"

namespace pytheas {

std::unique_ptr<evaluation::DecisionLog> open_node_decision_log(const DecisionLogSettings& settings,
                                                                const LabelConfig& config,
                                                                const std::string& node_name) {
  evaluation::DecisionLogOptions options;
  options.files.dir = settings.dir;
  options.files.rotate_bytes = settings.rotate_bytes;
  options.files.rotate_seconds = settings.rotate_seconds;
  options.files.cap_bytes = settings.cap_bytes;
  options.queue_capacity = settings.queue_records;
  options.features = config.schema.names();
  options.node = node_name;
  options.join_window_s = config.event_window_s;
  options.on_error = [](const std::string& message) { spdlog::error("{}", message); };
  auto log = std::make_unique<evaluation::DecisionLog>(std::move(options));
  spdlog::info("decision log in {} (files rotate at {} MB or {} s; cap {})", settings.dir,
               settings.rotate_bytes >> 20, settings.rotate_seconds,
               settings.cap_bytes ? std::to_string(settings.cap_bytes >> 20) + " MB" : "none");
  return log;
}

void log_decision(evaluation::DecisionLog& log, double now, const DecideRequest& request,
                  const DecideResult& result, std::uint64_t policy_version) {
  evaluation::DecisionLine line;
  line.time = now;
  line.event_id = result.event_id;
  line.group = result.group;
  line.features = request.features;
  line.candidates = request.candidates;
  line.chosen = result.index;
  line.propensity = result.propensity;
  line.policy = result.policy;
  line.policy_version = policy_version;
  log.decision(line);
}

}  // namespace pytheas
