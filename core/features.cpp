#include "core/features.hpp"

#include "core/errors.hpp"

namespace pytheas {

FeatureSchema::FeatureSchema(std::vector<std::string> names) : names_(std::move(names)) {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i].empty()) throw InvalidInput("feature schema: empty feature name");
    if (!index_.emplace(names_[i], i).second)
      throw InvalidInput("feature schema: duplicate feature name '" + names_[i] + "'");
  }
}

FeatureSchema FeatureSchema::original() {
  return FeatureSchema({"Time", "BufRate", "AvgBitrate", "JoinTime", "Asn", "City", "Country",
                        "ConnType", "State", "Os", "Liveorvod", "ObjectId", "PlayerType",
                        "InitBitrate", "InitCdn"});
}

std::optional<std::size_t> FeatureSchema::index_of(std::string_view name) const {
  auto it = index_.find(std::string(name));
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

}  // namespace pytheas
