#pragma once
// Errors raised by core/. Every function documented as "throws InvalidInput"
// leaves the object it was called on unchanged when it throws.

#include <stdexcept>
#include <string>

namespace pytheas {

/// A caller handed core/ something it cannot accept: a NaN or infinite score,
/// an empty or duplicated candidate list, a decision that is not a candidate,
/// an unknown feature name. The message names the offending value.
class InvalidInput : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Serialized state that cannot be restored: wrong magic, unknown version,
/// checksum mismatch, truncation. The message says which check failed.
class CorruptState : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace pytheas
