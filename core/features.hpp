#pragma once
// FeatureSchema: the ordered list of session feature names a node (or a trace)
// uses. Feature values travel as a span of string_views in schema order, so the
// hot path never builds a map. Immutable after construction; safe to share
// between threads.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pytheas {

/// Feature values of one session, in schema order. A feature the client did
/// not send is the empty string.
using FeatureView = std::span<const std::string_view>;

class FeatureSchema {
 public:
  /// Throws InvalidInput on an empty name or a duplicate.
  explicit FeatureSchema(std::vector<std::string> names);

  /// The original Pytheas' 15 labels, in its order:
  /// Time BufRate AvgBitrate JoinTime Asn City Country ConnType State Os
  /// Liveorvod ObjectId PlayerType InitBitrate InitCdn.
  static FeatureSchema original();

  std::size_t size() const { return names_.size(); }
  const std::string& name(std::size_t index) const { return names_.at(index); }
  const std::vector<std::string>& names() const { return names_; }

  /// Index of a feature name, or nullopt when the schema has no such feature.
  std::optional<std::size_t> index_of(std::string_view name) const;

  bool operator==(const FeatureSchema& other) const { return names_ == other.names_; }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::size_t> index_;
};

}  // namespace pytheas
