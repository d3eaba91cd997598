// Fuzzes the YAML cluster file parser: any text must give a cluster config
// or a ConfigError naming the problem; no other exception escapes. The
// learned-rules wire format (parse_rules) rides along on the same input.

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/cluster_config.hpp"
#include "config/label_config.hpp"
#include "core/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  try {
    const auto config = pytheas::parse_cluster_config(yaml, "fuzz.yaml", "/nonexistent");
    if (!config.nodes.empty()) (void)config.pinned_cluster("Asn=1");
  } catch (const pytheas::ConfigError&) {
    // The documented rejection.
  }
  try {
    auto rules = pytheas::parse_rules(yaml, pytheas::FeatureSchema::original(), "fuzz");
    // What parses must survive the round trip the backend and frontends make.
    auto again = pytheas::parse_rules(pytheas::rules_to_yaml(*rules),
                                      pytheas::FeatureSchema::original(), "fuzz");
    if (pytheas::rules_to_yaml(*again) != pytheas::rules_to_yaml(*rules)) __builtin_trap();
  } catch (const pytheas::ConfigError&) {
  }
  return 0;
}
