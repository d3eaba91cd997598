#pragma once
// Internal to the grouping learner (core/grouping_learner*.cpp): the samples
// as the tree search reads them, and the learner's limits. Not part of the
// learner's interface (core/grouping_learner.hpp).

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace pytheas::learner {

inline constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
inline constexpr std::size_t kMaxDepthLimit = 64;

// The samples as integer columns: feature values, decisions and clusters are
// interned once, so the tree search touches only integers and doubles. Views
// point into the caller's samples, which outlive the learn() call.
struct Columns {
  std::size_t rows = 0;
  std::vector<std::vector<std::uint32_t>> codes;      // [candidate][row]
  std::vector<std::vector<std::string_view>> values;  // [candidate][code]
  std::vector<std::uint32_t> decision;                // [row]
  std::size_t decisions = 0;
  std::vector<std::uint32_t> cluster;           // [row]; 0: none
  std::vector<std::string_view> cluster_names;  // [code]; [0] = ""
  std::vector<double> score;                    // [row], centred on the mean
};

class Interner {
 public:
  explicit Interner(std::vector<std::string_view>& names) : names_(names) {}
  std::uint32_t operator()(std::string_view value) {
    auto [it, inserted] = ids_.try_emplace(value, static_cast<std::uint32_t>(names_.size()));
    if (inserted) names_.push_back(value);
    return it->second;
  }
  std::optional<std::uint32_t> find(std::string_view value) const {
    auto it = ids_.find(value);
    if (it == ids_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::vector<std::string_view>& names_;
  std::unordered_map<std::string_view, std::uint32_t> ids_;
};

}  // namespace pytheas::learner
