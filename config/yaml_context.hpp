#pragma once
// YAML helpers shared by the config loaders (label config, cluster file):
// every error they raise is a ConfigError reading "FILE:LINE: FIELD: problem",
// so an operator can go straight to the offending line.
// Stateless apart from the source name; safe to use from any thread.

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "config/label_config.hpp"  // ConfigError

namespace pytheas {

// Builds "FILE:LINE: FIELD: problem" messages; yaml-cpp marks are 0-based.
/// Reads typed values out of YAML nodes, failing with file:line:field messages.
class Context {
 public:
  explicit Context(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& field,
                         const std::string& problem) const {
    int line = node.IsDefined() ? node.Mark().line + 1 : 0;
    std::ostringstream out;
    out << source_;
    if (line > 0) out << ':' << line;
    out << ": " << field << ": " << problem;
    throw ConfigError(out.str());
  }

  void only_keys(const YAML::Node& map, const std::string& field,
                 std::initializer_list<const char*> allowed) const {
    if (!map.IsMap()) fail(map, field, "expected a mapping");
    for (const auto& item : map) {
      // A key may be any YAML node ("[a]: 1"); as<string> would throw yaml-cpp's own error.
      auto name = scalar<std::string>(item.first, field.empty() ? "key" : field, "a plain key");
      bool known = false;
      for (const char* a : allowed) known |= name == a;
      if (!known) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        fail(item.first, field.empty() ? name : field + "." + name,
             "unknown key (expected one of: " + list + ")");
      }
    }
  }

  template <class T>
  T scalar(const YAML::Node& node, const std::string& field, const char* type) const {
    if (!node.IsScalar()) fail(node, field, std::string("expected ") + type);
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      fail(node, field, std::string("expected ") + type + ", got '" + node.Scalar() + "'");
    }
  }

  double number(const YAML::Node& node, const std::string& field, double min, double max) const {
    auto value = scalar<double>(node, field, "a number");
    if (!std::isfinite(value) || value < min || value > max) {
      std::ostringstream range;
      range << "must be in [" << min << ", " << max << "], got " << node.Scalar();
      fail(node, field, range.str());
    }
    return value;
  }

  std::vector<std::string> string_list(const YAML::Node& node, const std::string& field) const {
    if (!node.IsSequence()) fail(node, field, "expected a list");
    std::vector<std::string> out;
    for (std::size_t i = 0; i < node.size(); ++i)
      out.push_back(
          scalar<std::string>(node[i], field + "[" + std::to_string(i) + "]", "a string"));
    return out;
  }

 private:
  const std::string& source_;
};

/// Parses YAML text; a syntax error becomes "SOURCE:LINE: yaml: problem".
inline YAML::Node load_yaml(const std::string& yaml, const std::string& source) {
  try {
    return YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(source + ":" + std::to_string(e.mark.line + 1) + ": yaml: " + e.msg);
  }
}

/// Reads a whole config file. Throws ConfigError when it cannot.
inline std::string read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace pytheas
