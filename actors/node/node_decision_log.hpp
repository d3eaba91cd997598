#pragma once
// The node's side of the decision log (`pytheas node --decision-log DIR`, or
// the cluster file's `decision_log`): its settings, opening it for a label
// config, and turning a decision into a log record. The log itself (queue,
// writer thread, files) is evaluation/decision_log.hpp; node.cpp only holds
// one and calls these.
// Thread-safety: log_decision() is safe from any io thread (DecisionLog is).

#include <cstdint>
#include <memory>
#include <string>

#include "actors/node/decision_service.hpp"
#include "evaluation/decision_log.hpp"

namespace pytheas {

struct LabelConfig;

struct DecisionLogSettings {
  std::string dir;                          ///< empty: no decision log
  std::uint64_t rotate_bytes = 64u << 20;   ///< a file is closed beyond this size
  double rotate_seconds = 3600;             ///< ...or this age
  std::uint64_t cap_bytes = 1024ull << 20;  ///< all files together (oldest deleted); 0: no cap
  std::size_t queue_records = 16384;  ///< records waiting for the writer; beyond: dropped, counted
};

/// Opens the log for a node with `config`'s features and event window.
/// Throws std::runtime_error naming the directory when it cannot be used.
std::unique_ptr<evaluation::DecisionLog> open_node_decision_log(const DecisionLogSettings& settings,
                                                                const LabelConfig& config,
                                                                const std::string& node_name);

/// Logs one decision: `result` answered `request` at `now` from a snapshot
/// of version `policy_version` (0 for the fallback).
void log_decision(evaluation::DecisionLog& log, double now, const DecideRequest& request,
                  const DecideResult& result, std::uint64_t policy_version);

}  // namespace pytheas
