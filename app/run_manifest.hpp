#pragma once
// summary.json: what a run of `simulate`, `replay` or `evaluate` was, written
// beside its summary so a result can be reproduced:
//   {"tool":"pytheas","version":"0.1.0","command":"simulate",
//    "arguments":["simulate","--trace","t.trace",...],"seed":1,
//    "finished_at":"2024-01-02T03:04:05Z","settings":{...},"results":{...}}
// `arguments` are the command line after the program name, exactly; the
// settings are the effective values (defaults included); `results` is
// optional, filled by the command. Pure apart from the file write.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pytheas::app {

/// A JSON object built field by field (values are encoded as they are added).
class JsonFields {
 public:
  JsonFields& text(const std::string& name, std::string_view value);
  JsonFields& number(const std::string& name, double value);
  JsonFields& integer(const std::string& name, std::uint64_t value);
  JsonFields& boolean(const std::string& name, bool value);
  JsonFields& texts(const std::string& name, const std::vector<std::string>& values);
  JsonFields& object(const std::string& name, const JsonFields& value);
  std::string json() const;  ///< "{...}"
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;  ///< name, encoded value
};

struct RunManifest {
  std::string command;                 ///< "simulate", "replay", "evaluate"
  std::vector<std::string> arguments;  ///< argv[1..]
  std::optional<std::uint64_t> seed;
  JsonFields settings;
  JsonFields results;
};

/// The manifest as JSON text (one object, a trailing newline).
std::string format_run_manifest(const RunManifest& manifest);

/// Writes DIR/summary.json. Throws std::runtime_error naming the file.
void write_run_manifest(const std::string& dir, const RunManifest& manifest);

}  // namespace pytheas::app
