#pragma once
// VectorSource: a trace held in memory, for simulator tests. Not thread-safe.

#include <cstddef>
#include <utility>
#include <vector>

#include "core/trace_source.hpp"

namespace pytheas::sim::test {

class VectorSource : public TraceSource {
 public:
  explicit VectorSource(std::vector<TraceSession> sessions) : sessions_(std::move(sessions)) {}
  bool next(TraceSession& out) override {
    if (next_ == sessions_.size()) return false;
    out = sessions_[next_++];
    return true;
  }
  std::size_t feature_count() const override { return 15; }

 private:
  std::vector<TraceSession> sessions_;
  std::size_t next_ = 0;
};

}  // namespace pytheas::sim::test
