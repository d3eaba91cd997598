#pragma once
// WalSync: how a node's write-ahead log of accepted reports reaches the disk
// (`pytheas node --wal`). See actors/storage/report_log.hpp for the log itself.
//   none:   no log; reports accepted since the last checkpoint die with the process
//   batch:  logged; written and synced by a background thread every few ms
//   always: logged; a report is answered only once its record is synced

#include <string_view>

namespace pytheas {

enum class WalSync { none, batch, always };

/// "none", "batch" or "always"; throws InvalidInput (core/errors.hpp) otherwise.
WalSync parse_wal_sync(std::string_view text);
const char* to_string(WalSync sync);

}  // namespace pytheas
