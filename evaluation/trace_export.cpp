#include "evaluation/trace_export.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>

#include "core/errors.hpp"
#include "core/trace_format.hpp"

namespace pytheas::evaluation {
namespace {

bool has_time_feature(const LogData& log) {
  return !log.feature_names.empty() && log.feature_names.front() == "Time";
}

bool whole_ms(std::string_view text, std::int64_t& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return !text.empty() && error == std::errc() && end == text.data() + text.size() && value >= 0;
}

}  // namespace

std::size_t exported_feature_count(const LogData& log) {
  return log.feature_names.size() + (has_time_feature(log) ? 0 : 1);
}

TraceExportStats export_trace(const LogData& log, TraceSink& sink) {
  TraceExportStats stats;
  const bool time_feature = has_time_feature(log);
  std::vector<std::uint32_t> order;
  std::vector<std::int64_t> times(log.decisions.size(), 0);
  stats.time_from_feature = time_feature;
  for (std::uint32_t i = 0; i < log.decisions.size(); ++i) {
    const auto& d = log.decisions[i];
    if (!d.reported) {
      ++stats.unreported;
      continue;
    }
    order.push_back(i);
    std::int64_t ms = 0;
    if (stats.time_from_feature && !whole_ms(log.text(log.features_of(d)[0]), ms))
      stats.time_from_feature = false;
  }
  for (auto i : order) {
    const auto& d = log.decisions[i];
    std::int64_t ms = 0;
    if (stats.time_from_feature)
      whole_ms(log.text(log.features_of(d)[0]), ms);
    else
      ms = static_cast<std::int64_t>(std::llround(d.time * 1000.0));
    times[i] = ms;
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return times[a] < times[b]; });

  TraceSession session;
  for (auto i : order) {
    const auto& d = log.decisions[i];
    session.time_ms = times[i];
    session.features.clear();
    const std::string time_text = std::to_string(times[i]);
    if (!time_feature) session.features.push_back(time_text);
    const auto values = log.features_of(d);
    for (std::size_t k = 0; k < values.size(); ++k)
      session.features.emplace_back(k == 0 && time_feature ? std::string_view(time_text)
                                                           : log.text(values[k]));
    session.decisions.assign(
        1, DecisionCost{std::string(log.text(log.chosen_of(d))), TraceNumber::of(-d.score)});
    session.loads.clear();
    try {
      sink.write(session);
      ++stats.sessions;
    } catch (const InvalidInput&) {
      ++stats.unwritable;
    }
  }
  return stats;
}

}  // namespace pytheas::evaluation
