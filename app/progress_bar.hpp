#pragma once
// ProgressBar: one self-redrawing line on stderr for the long runs
// (`simulate`, `replay`, `trace generate`, `evaluate`):
//
//   simulate [###########.........]  55%  1.10M sessions  412k/s  ETA 0:03
//
// drawn only when its file descriptor is a terminal (and the caller did not
// disable it), at most ten times a second; finish() (or the destructor) ends
// the line. On a pipe or a file it writes nothing at all, so logs and CI
// output stay clean. Not thread-safe: one thread updates it.

#include <chrono>
#include <string>
#include <string_view>

namespace pytheas::app {

class ProgressBar {
 public:
  /// `label` starts the line; `unit` names what update() counts
  /// ("sessions"). Active only when `enabled` and `fd` is a terminal.
  ProgressBar(std::string label, std::string unit, bool enabled, int fd = 2);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool active() const { return active_; }

  /// `fraction` of the work done in [0, 1] (< 0: unknown, no bar nor ETA),
  /// `count` units done, `detail` appended at the end of the line.
  void update(double fraction, double count, std::string_view detail = {});

  /// Draws the final state and ends the line. Idempotent.
  void finish();

 private:
  void draw(double fraction, double count, std::string_view detail);

  std::string label_;
  std::string unit_;
  int fd_;
  bool active_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  double last_fraction_ = -1;
  double last_count_ = 0;
  std::string last_detail_;
  std::size_t last_width_ = 0;
};

/// "1.10M", "412k", "950": a count in three significant digits.
std::string human_count(double value);

}  // namespace pytheas::app
