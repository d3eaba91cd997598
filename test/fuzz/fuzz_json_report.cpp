// Fuzzes the /v1/report body codec: any bytes must give either a parsed report
// (by event id, or by features + decision, with a finite score) or a 400 code.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/json_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pytheas::FeatureSchema schema = pytheas::FeatureSchema::original();
  static const pytheas::http::JsonCodec codec(schema, pytheas::http::JsonLimits{});
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  pytheas::http::ParsedReport report;
  pytheas::http::CodecError error;
  if (codec.parse_report(body, report, error)) {
    if (!std::isfinite(report.score)) __builtin_trap();  // docs/API.md: invalid_score
    std::size_t total = report.event_id.size() + report.decision.size();
    for (std::size_t i = 0; i < report.features.size(); ++i) total += report.features[i].size();
    (void)total;
  } else if (error.code.empty()) {
    __builtin_trap();
  }
  return 0;
}
