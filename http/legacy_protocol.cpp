#include "http/legacy_protocol.hpp"

#include <charconv>
#include <cmath>

namespace pytheas::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool form_decode(std::string_view encoded, std::string& out) {
  out.clear();
  out.reserve(encoded.size());
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    const char c = encoded[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= encoded.size()) return false;
      const int high = hex_value(encoded[i + 1]);
      const int low = hex_value(encoded[i + 2]);
      if (high < 0 || low < 0) return false;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return true;
}

bool parse_legacy_form(std::string_view body, LegacyForm& form) {
  form.has_payload = form.has_method = false;
  form.payload.clear();
  form.method.clear();
  thread_local std::string name;
  while (!body.empty()) {
    const auto amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    if (!form_decode(pair.substr(0, eq), name)) return false;
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    // Like PHP's $_POST, a repeated field keeps its last value.
    if (name == "payload") {
      if (!form_decode(value, form.payload)) return false;
      form.has_payload = true;
    } else if (name == "method") {
      if (!form_decode(value, form.method)) return false;
      form.has_method = true;
    }
  }
  return true;
}

void split_tabs(std::string_view text, std::vector<std::string_view>& out) {
  out.clear();
  for (;;) {
    const auto tab = text.find('\t');
    out.push_back(text.substr(0, tab));
    if (tab == std::string_view::npos) return;
    text.remove_prefix(tab + 1);
  }
}

LegacyFeatureMap::LegacyFeatureMap(const FeatureSchema& schema) {
  const auto original = FeatureSchema::original();
  source_.resize(schema.size(), -1);
  for (std::size_t i = 0; i < schema.size(); ++i) {
    if (auto index = original.index_of(schema.name(i)); index && *index < kLegacyFeatureCount)
      source_[i] = static_cast<int>(*index);
  }
}

void LegacyFeatureMap::map(const std::string_view* legacy_values,
                           std::vector<std::string_view>& out) const {
  out.resize(source_.size());
  for (std::size_t i = 0; i < source_.size(); ++i)
    out[i] = source_[i] < 0 ? std::string_view() : legacy_values[source_[i]];
}

std::optional<double> parse_legacy_cost(std::string_view text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r' || text.back() == '\n'))
    text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace pytheas::http
