// Fuzzes the legacy /player.php decoding path the API runs: form parsing,
// tab splitting, mapping onto the schema, and the cost parser.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/legacy_protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace pytheas::http;
  static const pytheas::FeatureSchema schema = pytheas::FeatureSchema::original();
  static const LegacyFeatureMap legacy_map(schema);
  const std::string_view body(reinterpret_cast<const char*>(data), size);

  std::string decoded;
  (void)form_decode(body, decoded);
  if (decoded.size() > body.size()) __builtin_trap();  // decoding never grows text

  LegacyForm form;
  if (!parse_legacy_form(body, form)) return 0;
  std::vector<std::string_view> fields;
  split_tabs(form.payload, fields);
  if (fields.size() >= kLegacyFeatureCount) {
    std::vector<std::string_view> features;
    legacy_map.map(fields.data(), features);
    if (features.size() != schema.size()) __builtin_trap();
  }
  if (!fields.empty()) {
    const auto cost = parse_legacy_cost(fields.back());
    if (cost && !std::isfinite(*cost)) __builtin_trap();
  }
  return 0;
}
