#pragma once
// SipHash-2-4 (Aumasson & Bernstein, 2012): a keyed 64-bit pseudorandom
// function for short inputs. Here it signs event ids (core/event_token.hpp):
// without the 128-bit key nobody can make an id the node accepts, and a
// forger's guess succeeds with probability 2^-64. Stateless; thread-safe.

#include <array>
#include <cstdint>
#include <string_view>

namespace pytheas {

using SipKey = std::array<std::uint64_t, 2>;

/// SipHash-2-4 of `message` under `key` (k0 = key[0], k1 = key[1], each the
/// little-endian reading of 8 key bytes, as in the paper's test vectors).
std::uint64_t siphash24(const SipKey& key, std::string_view message);

}  // namespace pytheas
