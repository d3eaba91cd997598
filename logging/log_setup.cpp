#include "logging/log_setup.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "logging/log_formatters.hpp"

namespace pytheas {

void configure_logging(std::string_view level, std::string_view format) {
  const std::string level_text(level);
  const auto parsed = spdlog::level::from_str(level_text);
  // from_str maps anything unknown to "off": only accept what round-trips.
  if (level_text != "off" && parsed == spdlog::level::off)
    throw std::invalid_argument("unknown log level '" + level_text + "'");
  std::unique_ptr<spdlog::formatter> formatter;
  if (format == "json")
    formatter = std::make_unique<JsonLogFormatter>();
  else if (format == "text")
    formatter = std::make_unique<TextLogFormatter>();
  else
    throw std::invalid_argument("unknown log format '" + std::string(format) + "'");

  // A plain (uncoloured) sink: log files and journald get no escape codes.
  auto logger = std::make_shared<spdlog::logger>("pytheas",
                                                 std::make_shared<spdlog::sinks::stderr_sink_mt>());
  logger->set_formatter(std::move(formatter));
  logger->set_level(parsed);
  // Errors reach the file even if the process dies right after.
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(std::move(logger));
  spdlog::set_level(parsed);
}

void log_notice(std::string_view text) {
  const auto logger = spdlog::default_logger();
  const spdlog::details::log_msg msg(logger->name(), spdlog::level::info,
                                     spdlog::string_view_t(text.data(), text.size()));
  for (const auto& sink : logger->sinks()) sink->log(msg);
  logger->flush();
}

}  // namespace pytheas
