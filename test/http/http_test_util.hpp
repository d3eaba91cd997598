#pragma once
// Helpers shared by the HTTP integration tests: JSON field access on replies,
// the error-body contract check, and bounded polling.

#include <simdjson.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "test/support/http_client.hpp"

namespace pytheas::test {

/// A parsed JSON reply body; fields read by JSON pointer ("/error/code").
class Json {
 public:
  explicit Json(const std::string& text) : padded_(text) {
    ok_ = parser_.parse(padded_).get(root_) == simdjson::SUCCESS;
  }
  bool ok() const { return ok_; }
  std::string str(const char* pointer) {
    std::string_view value;
    if (!ok_ || root_.at_pointer(pointer).get(value) != simdjson::SUCCESS) return "<missing>";
    return std::string(value);
  }
  double num(const char* pointer) {
    double value = 0;
    if (!ok_ || root_.at_pointer(pointer).get(value) != simdjson::SUCCESS) return -1e300;
    return value;
  }
  simdjson::dom::element root() { return root_; }

 private:
  simdjson::padded_string padded_;
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
  bool ok_ = false;
};

/// Checks the error contract: JSON body {"error":{"code","message"}} with a
/// non-empty message; returns the code.
inline std::string error_code(const HttpReply& reply) {
  Json json(reply.body);
  INFO(reply.body);
  REQUIRE(json.ok());
  CHECK(reply.headers.count("content-type"));
  CHECK(reply.headers.at("content-type") == "application/json");
  CHECK_FALSE(json.str("/error/message").empty());
  CHECK(json.str("/error/message") != "<missing>");
  return json.str("/error/code");
}

/// Polls `condition` every 20 ms for up to `timeout` (generous: sanitizer
/// builds on a loaded 2-core box are slow).
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

inline const char* kDecideBody =
    R"({"features":{"Asn":"7922","City":"Boston"},"candidates":["cdn-a","cdn-b"]})";

}  // namespace pytheas::test
