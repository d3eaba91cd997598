#pragma once
// JsonWriter: appends JSON tokens to a string. It escapes strings per RFC 8259
// (quote, backslash, control characters as \uXXXX) and prints doubles in the
// shortest form that reads back exactly; non-finite doubles become null. It
// does not check structure: callers emit commas and brackets themselves (the
// shapes we write are few and fixed). Not thread-safe; cheap to create.

#include <cstdint>
#include <string>
#include <string_view>

namespace pytheas::http {

class JsonWriter {
 public:
  JsonWriter() = default;
  /// Writes into `target` (cleared first), so a caller can reuse its capacity.
  explicit JsonWriter(std::string&& target) : out_(std::move(target)) { out_.clear(); }

  void raw(std::string_view text) { out_.append(text); }
  void string(std::string_view text);
  void number(double value);
  void number(std::uint64_t value);
  /// "name": (with the escaped name)
  void key(std::string_view name) {
    string(name);
    out_.push_back(':');
  }

  const std::string& str() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace pytheas::http
