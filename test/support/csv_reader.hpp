#pragma once
// parse_csv(): an RFC 4180 reader for tests (quoted fields, doubled quotes,
// commas and line breaks inside quotes). Throws std::runtime_error on text
// that is not RFC 4180 (a quote inside an unquoted field, an unclosed quote).

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pytheas::test {

inline std::vector<std::vector<std::string>> parse_csv(std::string_view text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, was_quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c != '"') {
        field += c;
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else {
        quoted = false;
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted)
        throw std::runtime_error("quote inside an unquoted field at byte " + std::to_string(i));
      quoted = was_quoted = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      record.push_back(std::move(field));
      records.push_back(std::move(record));
      record.clear();
      field.clear();
      was_quoted = false;
    } else {
      if (was_quoted)
        throw std::runtime_error("text after a closing quote at byte " + std::to_string(i));
      field += c;
    }
  }
  if (quoted) throw std::runtime_error("unclosed quote");
  if (!field.empty() || !record.empty() || was_quoted) {
    record.push_back(std::move(field));
    records.push_back(std::move(record));
  }
  return records;
}

}  // namespace pytheas::test
