#pragma once
// The original Pytheas player protocol (POST /player.php, see
// /docs/API.md#legacy): an application/x-www-form-urlencoded body with the
// fields `payload` and `method` (request | update). The payload is
// tab-separated: the 15 original feature values (Time BufRate AvgBitrate
// JoinTime Asn City Country ConnType State Os Liveorvod ObjectId PlayerType
// InitBitrate InitCdn), then the candidates (request) or the decision and its
// cost (update; lower is better).
// Thread-safety: free functions are pure; LegacyFeatureMap is immutable after
// construction and may be shared.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/features.hpp"

namespace pytheas::http {

/// Decodes one form component: '+' is a space, %XX a byte. Returns false on a
/// malformed escape (then `out` is unspecified).
bool form_decode(std::string_view encoded, std::string& out);

/// The two fields of a legacy form body (decoded). Absent fields stay empty
/// with the has_ flag false. Unknown fields are ignored, as PHP does.
struct LegacyForm {
  std::string payload;
  std::string method;
  bool has_payload = false;
  bool has_method = false;
};

/// Parses an urlencoded body into `form` (reusing its buffers). Returns false
/// on a malformed escape.
bool parse_legacy_form(std::string_view body, LegacyForm& form);

/// Splits on '\t' into `out` (cleared first); "a\t\tb" gives three fields.
void split_tabs(std::string_view text, std::vector<std::string_view>& out);

/// Number of leading feature values in a legacy payload.
inline constexpr std::size_t kLegacyFeatureCount = 15;

/// Maps the 15 legacy values (original label order) onto a node's feature
/// schema: a schema feature named like an original label gets that value,
/// any other schema feature gets "".
class LegacyFeatureMap {
 public:
  explicit LegacyFeatureMap(const FeatureSchema& schema);

  /// Fills `out` (resized to the schema size) from the first 15 payload fields.
  void map(const std::string_view* legacy_values, std::vector<std::string_view>& out) const;

 private:
  // For each schema position, the index of its original label, or -1.
  std::vector<int> source_;
};

/// Parses a legacy cost ("12.5", "3", "-1e3"). Returns nullopt unless the
/// whole text is a finite number.
std::optional<double> parse_legacy_cost(std::string_view text);

}  // namespace pytheas::http
