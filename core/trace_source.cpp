#include "core/trace_source.hpp"

#include <cstring>
#include <fstream>
#include <stdexcept>

#include "core/trace_compact.hpp"
#include "core/trace_format.hpp"

namespace pytheas {
namespace {

// Position of `stream` over its size (read once at open).
double fraction_of(std::ifstream& stream, std::streamoff size) {
  if (size <= 0) return -1;
  const auto position = stream.tellg();
  if (position < 0) return 1;  // at the end (eof set)
  return static_cast<double>(position) / static_cast<double>(size);
}

std::streamoff size_of(std::ifstream& stream) {
  stream.seekg(0, std::ios::end);
  const auto size = stream.tellg();
  stream.seekg(0);
  return size;
}

class TextFileSource final : public TraceSource {
 public:
  TextFileSource(std::unique_ptr<std::ifstream> stream, std::size_t expected)
      : stream_(std::move(stream)), size_(size_of(*stream_)), reader_(*stream_, expected) {}
  bool next(TraceSession& out) override { return reader_.next(out); }
  std::size_t feature_count() const override { return reader_.feature_count(); }
  double fraction_read() const override { return fraction_of(*stream_, size_); }

 private:
  std::unique_ptr<std::ifstream> stream_;
  std::streamoff size_;
  TraceTextReader reader_;
};

class CompactFileSource final : public TraceSource {
 public:
  explicit CompactFileSource(std::unique_ptr<std::ifstream> stream)
      : stream_(std::move(stream)), size_(size_of(*stream_)), reader_(*stream_) {}
  bool next(TraceSession& out) override { return reader_.next(out); }
  std::size_t feature_count() const override { return reader_.feature_count(); }
  double fraction_read() const override { return fraction_of(*stream_, size_); }

 private:
  std::unique_ptr<std::ifstream> stream_;
  std::streamoff size_;
  CompactTraceReader reader_;
};

template <typename Writer>
class FileSink final : public TraceSink {
 public:
  template <typename... Args>
  explicit FileSink(std::unique_ptr<std::ofstream> stream, Args... args)
      : stream_(std::move(stream)), writer_(*stream_, args...) {}
  void write(const TraceSession& session) override { writer_.write(session); }
  void flush() override {
    writer_.flush();
    stream_->flush();
    if (!*stream_) throw std::runtime_error("trace file: write failed");
  }

 private:
  std::unique_ptr<std::ofstream> stream_;
  Writer writer_;
};

}  // namespace

std::unique_ptr<TraceSource> open_trace_file(const std::string& path,
                                             std::size_t expected_features) {
  auto stream = std::make_unique<std::ifstream>(path, std::ios::binary);
  if (!*stream) throw std::runtime_error("cannot open trace file '" + path + "'");
  char magic[4] = {};
  stream->read(magic, 4);
  bool compact = stream->gcount() == 4 && std::memcmp(magic, kCompactTraceMagic, 4) == 0;
  stream->clear();
  stream->seekg(0);
  if (compact) {
    auto source = std::make_unique<CompactFileSource>(std::move(stream));
    if (expected_features != 0 && source->feature_count() != expected_features)
      throw std::runtime_error("trace file '" + path + "' has " +
                               std::to_string(source->feature_count()) + " features, expected " +
                               std::to_string(expected_features));
    return source;
  }
  return std::make_unique<TextFileSource>(std::move(stream), expected_features);
}

std::unique_ptr<TraceSink> create_trace_file(const std::string& path, bool compact,
                                             std::size_t feature_count) {
  auto stream = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
  if (!*stream) throw std::runtime_error("cannot create trace file '" + path + "'");
  if (compact)
    return std::make_unique<FileSink<CompactTraceWriter>>(std::move(stream), feature_count);
  return std::make_unique<FileSink<TraceTextWriter>>(std::move(stream));
}

}  // namespace pytheas
