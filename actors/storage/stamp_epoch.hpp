#pragma once
// The epoch a cluster member stamps its reports with in this run (see
// core/report_marks.hpp): peers keep, per origin, the highest stamp of each
// group's reports they have, and take lower ones for reports they already
// applied. An epoch from the wall clock alone would go backwards when the
// clock steps back across a restart, and the member's new reports would be
// dropped as duplicates. So the epoch is the wall clock in microseconds but
// always above the one any earlier run with the same state dir used, kept in
// <state dir>/stamp-epoch (written atomically and synced before use).
// Stateless functions; not for concurrent use on one state dir.

#include <cstdint>
#include <string>

namespace pytheas {

/// This run's epoch: max(wall_us, last + 1), recorded in `state_dir` before
/// it is returned. Throws std::runtime_error when the file cannot be read or
/// written, or holds something else than an epoch (the message says which).
std::uint64_t next_stamp_epoch(const std::string& state_dir, std::uint64_t wall_us);

}  // namespace pytheas
