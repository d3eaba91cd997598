#pragma once
// Sets up the process's default spdlog logger: stderr (stdout stays free for
// tools that pipe the node), a level and a format. Call once, before any
// thread logs.

#include <string_view>

namespace pytheas {

/// Throws std::invalid_argument on an unknown level (trace, debug, info,
/// warn, error, critical, off) or format (text, json).
void configure_logging(std::string_view level, std::string_view format);

/// Logs `text` at info level even when the level is higher: for the few
/// lifecycle lines that scripts and supervisors wait for (the listening
/// address, stopping, stopped).
void log_notice(std::string_view text);

}  // namespace pytheas
