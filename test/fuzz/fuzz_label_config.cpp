// Fuzzes the YAML label config parser: any text must give a config or a
// ConfigError naming the problem; no other exception escapes.

#include <cstddef>
#include <cstdint>
#include <string>

#include "config/label_config.hpp"
#include "core/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  try {
    const pytheas::LabelConfig config = pytheas::parse_label_config(yaml, "fuzz.yaml");
    (void)config;
  } catch (const pytheas::ConfigError&) {
    // The documented rejection.
  }
  return 0;
}
