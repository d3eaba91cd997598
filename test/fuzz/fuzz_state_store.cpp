// Fuzzes the state snapshot loader: StateStore::decode (a group file) and
// restore_policy (the policy state inside it). Both must either succeed or
// throw CorruptState; nothing else may escape.
//
// Both formats are checksummed, so random bytes rarely get past the CRC. The
// first input byte picks a mode; two modes wrap the rest in a valid envelope
// (correct magic, version and CRC) so the fuzzer reaches the field decoders.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "actors/storage/state_store.hpp"
#include "core/crc32.hpp"
#include "core/errors.hpp"
#include "core/policy.hpp"

namespace {

void put_le(std::string& out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// A group file around `rest`: magic, version 1, CRC of `rest`.
std::string group_file(std::string_view rest) {
  std::string file("PYTGRP\r\n");
  put_le(file, 1, 4);
  put_le(file, pytheas::crc32(rest), 4);
  file.append(rest);
  return file;
}

// A policy-state envelope around `payload`: magic, version 1, length, CRC.
std::string policy_envelope(std::string_view payload) {
  std::string sealed("PYPS");
  put_le(sealed, 1, 2);
  put_le(sealed, payload.size(), 4);
  sealed.append(payload);
  put_le(sealed, pytheas::crc32(sealed), 4);
  return sealed;
}

void restore(std::string_view bytes) {
  try {
    const std::unique_ptr<pytheas::Policy> policy = pytheas::restore_policy(bytes, 0);
    if (!policy) __builtin_trap();
    // A restored policy must serialize again (round trip of accepted state).
    (void)policy->serialize(0);
  } catch (const pytheas::CorruptState&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] & 3) {
    case 0:
    case 1: {
      const std::string file = (data[0] & 3) == 0 ? std::string(rest) : group_file(rest);
      try {
        const pytheas::GroupRecord record = pytheas::StateStore::decode(file, "fuzz");
        restore(record.policy_state);
      } catch (const pytheas::CorruptState&) {
      }
      break;
    }
    case 2:
      restore(rest);
      break;
    default:
      restore(policy_envelope(rest));
      break;
  }
  return 0;
}
