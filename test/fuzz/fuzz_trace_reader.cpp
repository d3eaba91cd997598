// Fuzzes the trace readers (core/trace_format.hpp text lines, and the compact
// binary format): any bytes must give sessions or InvalidInput/CorruptState.
// The first input byte picks the reader.

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "core/errors.hpp"
#include "core/trace_compact.hpp"
#include "core/trace_format.hpp"

namespace {

// Reads at most a bounded number of sessions so one input stays fast.
void drain(pytheas::TraceSource& source) {
  pytheas::TraceSession session;
  for (int i = 0; i < 4096 && source.next(session); ++i) {
    std::string line;
    try {
      pytheas::append_trace_line(session, line);  // writing back must not crash either
    } catch (const pytheas::InvalidInput&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::istringstream in(std::string(reinterpret_cast<const char*>(data) + 1, size - 1));
  try {
    if (data[0] & 1) {
      pytheas::CompactTraceReader reader(in);
      drain(reader);
    } else {
      pytheas::TraceTextReader reader(in);
      drain(reader);
    }
  } catch (const pytheas::InvalidInput&) {
  } catch (const pytheas::CorruptState&) {
  }
  return 0;
}
