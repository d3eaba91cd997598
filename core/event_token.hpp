#pragma once
// EventToken: a self-describing, signed event id. A decision's id carries
// what its report needs (the group, the decision, when it was made and, for
// a decision sampled for the learner, its features), signed with SipHash-2-4
// under the node's key (the cluster's, in a cluster). So a node stores
// nothing per outstanding decision, any member holding the key accepts the
// report, and an id cannot be forged or altered to poison a group.
//
// Wire form: base64url without padding of
//   u8 version (1) | u48 issued, wall-clock ms since the Unix epoch |
//   u48 issued, ms on the issuer's monotonic clock | u32 issuer | u64 nonce |
//   str group | str decision | u8 feature count | count x str feature |
//   u64 tag = SipHash-2-4(key, every byte before it)
// integers little-endian; str = its length as a varint (LEB128: one byte
// below 128) then the bytes.
// EventTokenCodec is immutable after construction: thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/features.hpp"
#include "core/siphash.hpp"

namespace pytheas {

/// What an event id says about its decision.
struct EventFacts {
  double issued_s = 0;            ///< wall-clock seconds of the decision (ms precision)
  double issued_monotonic_s = 0;  ///< the issuer's monotonic seconds then (ms precision)
  std::uint32_t issuer = 0;       ///< random per issuing process: its clock is the one above
  std::uint64_t nonce = 0;        ///< distinct per decision of one issuer
  std::string group;
  std::string decision;
  std::vector<std::string> features;  ///< empty unless sampled for the learner
};

class EventTokenCodec {
 public:
  enum class Check { ok, malformed, forged };
  /// Longest id decode() reads (a decision with long features stays far below).
  static constexpr std::size_t kMaxTokenSize = 8192;

  explicit EventTokenCodec(SipKey key) : key_(key) {}

  /// The id of a decision; `features` may be empty (not sampled).
  std::string encode(const EventFacts& facts, FeatureView features = {}) const;

  /// Reads `token`: ok (with its facts and its tag, the signature that tells
  /// ids apart), malformed (not an id of this format), or forged (well
  /// formed, but not signed with this key: altered, or from another cluster).
  Check decode(std::string_view token, EventFacts& facts, std::uint64_t& tag) const;

 private:
  SipKey key_;
};

}  // namespace pytheas
