#pragma once
// Messages from a node's io threads and its own actors to its federation
// actor. They are deliberately not serializable (CAF_ALLOW_UNSAFE_MESSAGE_TYPE):
// the federation actor is published to the network, and a type CAF cannot
// deserialize is one a remote peer cannot forge.

#include <caf/allowed_unsafe_message_type.hpp>
#include <string>
#include <vector>

#include "actors/common/federation_messages.hpp"

namespace pytheas {

/// A report this node accepted (ingress, or replayed from its write-ahead
/// log). Without a log the federation stamps it; with one it arrives stamped
/// (epoch and sequence; the origin is always this node).
struct LocalReport {
  std::string group;
  ReportItem item;
};

/// A sampled report for the backend.
struct LocalSample {
  SampledReport sample;
};

/// A decision needed a group that has no snapshot here: subscribe to its
/// owner, or (if it is ours) settle it.
struct LocalEnsure {
  std::string group;
};

/// Groups' state was persisted (a checkpoint or a passivation; without a
/// state dir, merely taken): what their homes may now confirm.
struct LocalSaved {
  std::vector<GroupRecord> records;
};

/// The node is stopping: hand its groups to the others first.
struct LocalLeave {};

}  // namespace pytheas

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pytheas::LocalReport)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pytheas::LocalSample)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pytheas::LocalEnsure)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pytheas::LocalSaved)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pytheas::LocalLeave)
