#pragma once
// CRC-32 (IEEE 802.3, the zlib/PNG polynomial) for checksumming persisted and
// federated state. Header-only, table built at compile time; pure function,
// thread-safe.

#include <array>
#include <cstdint>
#include <string_view>

namespace pytheas {

namespace detail {
constexpr std::array<std::uint32_t, 256> make_crc32_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
inline constexpr auto kCrc32Table = make_crc32_table();
}  // namespace detail

/// CRC-32 of `data`; pass a previous result as `crc` to continue a running sum.
inline std::uint32_t crc32(std::string_view data, std::uint32_t crc = 0) {
  crc = ~crc;
  for (unsigned char byte : data) crc = detail::kCrc32Table[(crc ^ byte) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

}  // namespace pytheas
