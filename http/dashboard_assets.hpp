#pragma once
// The dashboard's files (http/dashboard/), compiled into the binary by
// cmake/EmbedAssets.cmake so a node serves them without reading anything from
// disk or the network. Immutable; safe to read from any thread.

#include <string_view>

namespace pytheas::http {

struct DashboardAsset {
  std::string_view url;           ///< e.g. "/dashboard/dashboard.js"
  std::string_view content_type;  ///< the Content-Type to serve it with
  std::string_view body;
};

/// The asset served at `url`, or null.
const DashboardAsset* find_dashboard_asset(std::string_view url);

}  // namespace pytheas::http
