// Fuzzes the /v1/decide body codec: any bytes must give either a parsed
// request whose views lie inside the schema's bounds or a 400 code, never a
// crash, a sanitizer report or an exception.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/json_codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pytheas::FeatureSchema schema = pytheas::FeatureSchema::original();
  static const pytheas::http::JsonCodec codec(schema, pytheas::http::JsonLimits{});
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  pytheas::DecideRequest request;
  pytheas::http::CodecError error;
  if (codec.parse_decide(body, request, error)) {
    // Touch every view so ASan sees any dangling or out-of-range one.
    std::size_t total = 0;
    for (std::size_t i = 0; i < request.features.size(); ++i) total += request.features[i].size();
    for (std::size_t i = 0; i < request.candidates.size(); ++i)
      total += request.candidates[i].size();
    if (request.candidates.size() == 0) __builtin_trap();  // the codec promises non-empty
    (void)total;
  } else if (error.code.empty()) {
    __builtin_trap();  // a rejection must name its code
  }
  return 0;
}
