#include "core/grouping_sample_window.hpp"

#include "core/errors.hpp"

namespace pytheas {

GroupingSampleWindow::GroupingSampleWindow(std::size_t capacity) : capacity_(capacity) {
  if (capacity == 0) throw InvalidInput("grouping sample window: capacity must be positive");
}

void GroupingSampleWindow::add(GroupingSample sample) {
  ++total_added_;
  if (samples_.size() < capacity_) {
    samples_.push_back(std::move(sample));
    return;
  }
  samples_[next_] = std::move(sample);
  next_ = (next_ + 1) % capacity_;
}

void GroupingSampleWindow::clear() {
  samples_.clear();
  next_ = 0;
}

}  // namespace pytheas
