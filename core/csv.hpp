#pragma once
// csv_field(): one field of a CSV record as RFC 4180 wants it: as is when it
// holds no comma, double quote or line break, else in double quotes with each
// double quote doubled. Every CSV the CLI writes passes its text fields (policy
// names such as `ducb@Asn,City`, group keys, feature lists) through it, so a
// field never shifts the columns after it. Pure function; thread-safe.

#include <string>
#include <string_view>

namespace pytheas {

inline std::string csv_field(std::string_view text) {
  if (text.find_first_of(",\"\r\n") == std::string_view::npos) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace pytheas
