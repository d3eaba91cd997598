#include "app/run_manifest.hpp"

#include <ctime>

#include "evaluation/log_format.hpp"
#include "simulation/output_file.hpp"

#ifndef PYTHEAS_VERSION
#define PYTHEAS_VERSION "unknown"
#endif

namespace pytheas::app {
namespace {

std::string encoded_text(std::string_view value) {
  std::string out;
  evaluation::append_json_string(out, value);
  return out;
}

}  // namespace

JsonFields& JsonFields::text(const std::string& name, std::string_view value) {
  fields_.emplace_back(name, encoded_text(value));
  return *this;
}

JsonFields& JsonFields::number(const std::string& name, double value) {
  std::string out;
  evaluation::append_json_number(out, value);
  fields_.emplace_back(name, std::move(out));
  return *this;
}

JsonFields& JsonFields::integer(const std::string& name, std::uint64_t value) {
  fields_.emplace_back(name, std::to_string(value));
  return *this;
}

JsonFields& JsonFields::boolean(const std::string& name, bool value) {
  fields_.emplace_back(name, value ? "true" : "false");
  return *this;
}

JsonFields& JsonFields::texts(const std::string& name, const std::vector<std::string>& values) {
  std::string out = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ",";
    out += encoded_text(values[i]);
  }
  fields_.emplace_back(name, out + "]");
  return *this;
}

JsonFields& JsonFields::object(const std::string& name, const JsonFields& value) {
  fields_.emplace_back(name, value.json());
  return *this;
}

std::string JsonFields::json() const {
  std::string out = "{";
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (i) out += ",";
    out += encoded_text(fields_[i].first) + ":" + fields_[i].second;
  }
  return out + "}";
}

std::string format_run_manifest(const RunManifest& manifest) {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  JsonFields fields;
  fields.text("tool", "pytheas").text("version", PYTHEAS_VERSION).text("command", manifest.command);
  fields.texts("arguments", manifest.arguments);
  if (manifest.seed) fields.integer("seed", *manifest.seed);
  fields.text("finished_at", stamp);
  fields.object("settings", manifest.settings);
  if (!manifest.results.empty()) fields.object("results", manifest.results);
  return fields.json() + "\n";
}

void write_run_manifest(const std::string& dir, const RunManifest& manifest) {
  sim::write_output_file(std::filesystem::path(dir) / "summary.json",
                         format_run_manifest(manifest));
}

}  // namespace pytheas::app
