#include "app/progress_bar.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace pytheas::app {
namespace {

constexpr int kBarWidth = 24;
constexpr auto kRedrawEvery = std::chrono::milliseconds(100);

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto total = static_cast<long long>(std::llround(seconds));
  char text[32];
  if (total >= 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", total / 3600, total / 60 % 60,
                  total % 60);
  else
    std::snprintf(text, sizeof text, "%lld:%02lld", total / 60, total % 60);
  return text;
}

}  // namespace

std::string human_count(double value) {
  char text[32];
  if (value >= 1e9)
    std::snprintf(text, sizeof text, "%.3gG", value / 1e9);
  else if (value >= 1e6)
    std::snprintf(text, sizeof text, "%.3gM", value / 1e6);
  else if (value >= 1e4)
    std::snprintf(text, sizeof text, "%.3gk", value / 1e3);
  else
    std::snprintf(text, sizeof text, "%.0f", value);
  return text;
}

ProgressBar::ProgressBar(std::string label, std::string unit, bool enabled, int fd)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      fd_(fd),
      active_(enabled && isatty(fd) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - kRedrawEvery) {}

ProgressBar::~ProgressBar() {
  finish();
}

void ProgressBar::update(double fraction, double count, std::string_view detail) {
  if (!active_) return;
  last_fraction_ = fraction;
  last_count_ = count;
  last_detail_.assign(detail);
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  draw(fraction, count, detail);
}

void ProgressBar::draw(double fraction, double count, std::string_view detail) {
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::string line = "\r" + label_ + " ";
  if (fraction >= 0) {
    fraction = std::min(1.0, fraction);
    const int filled = static_cast<int>(fraction * kBarWidth);
    line += "[" + std::string(static_cast<std::size_t>(filled), '#') +
            std::string(static_cast<std::size_t>(kBarWidth - filled), '.') + "] ";
    char percent[16];
    std::snprintf(percent, sizeof percent, "%3.0f%%  ", fraction * 100);
    line += percent;
  }
  line += human_count(count) + " " + unit_;
  if (elapsed > 0.2) line += "  " + human_count(count / elapsed) + "/s";
  if (fraction > 0.005 && fraction < 1)
    line += "  ETA " + clock_text(elapsed * (1 - fraction) / fraction);
  else if (fraction >= 1)
    line += "  in " + clock_text(elapsed);
  if (!detail.empty()) line += "  " + std::string(detail);
  // Blank out what a longer previous line left behind.
  const std::size_t width = line.size();
  if (width < last_width_) line += std::string(last_width_ - width, ' ');
  last_width_ = width;
  const auto written = ::write(fd_, line.data(), line.size());
  (void)written;  // progress is best effort
  drawn_ = true;
}

void ProgressBar::finish() {
  if (!active_) return;
  if (last_fraction_ >= 0 || last_count_ > 0) draw(last_fraction_, last_count_, last_detail_);
  if (drawn_) {
    const auto written = ::write(fd_, "\n", 1);
    (void)written;
  }
  active_ = false;
}

}  // namespace pytheas::app
