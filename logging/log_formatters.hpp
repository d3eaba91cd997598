#pragma once
// spdlog formatters for the node's two log formats. Both write UTC
// timestamps and the line's LogFields (log_fields.hpp), when it has any.
//   text: 2026-11-25T17:21:33.123Z info  group 'Asn=7922' passivated group=Asn=7922
//   json: {"ts":"2026-11-25T17:21:33.123456Z","level":"info","msg":"...","group":"Asn=7922"}
// JSON lines are one object per line (strings escaped per RFC 8259; a
// non-finite number is written as null). Stateless: safe wherever spdlog
// calls them (under the sink's lock).

#include <spdlog/formatter.h>

#include <memory>

namespace pytheas {

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

class TextLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;
};

}  // namespace pytheas
