#pragma once
// Messages from a node's io threads to its own federation actor. They are
// deliberately not serializable (CAF_ALLOW_UNSAFE_MESSAGE_TYPE): the
// federation actor is published to the network, and a type CAF cannot
// deserialize is one a remote peer cannot forge.

#include <caf/allowed_unsafe_message_type.hpp>
#include <string>

#include "actors/federation_messages.hpp"

namespace pytheas {

/// A report accepted here for a group another node owns.
struct LocalForward {
  ForwardedReport report;
};

/// A sampled report for the backend.
struct LocalSample {
  SampledReport sample;
};

/// A decision needed a group another node owns and no mirror exists yet.
struct LocalSubscribe {
  std::string group;
};

}  // namespace pytheas

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pytheas::LocalForward)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pytheas::LocalSample)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pytheas::LocalSubscribe)
