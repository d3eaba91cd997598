#pragma once
// RawSocket: a blocking TCP connection to 127.0.0.1 for tests that need exact
// bytes on the wire (partial requests, pipelining, byte-for-byte replies,
// watching the server close). Every read is bounded by a timeout. Not
// thread-safe.

#include <chrono>
#include <string>

namespace pytheas::test {

class RawSocket {
 public:
  /// Connects; throws std::runtime_error on failure.
  explicit RawSocket(unsigned short port);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  /// Sends all bytes; false if the peer has closed or reset.
  bool send(const std::string& bytes);

  /// Reads until `count` bytes, the peer closes, or `timeout`; returns what came.
  std::string read_some(std::chrono::milliseconds timeout, std::size_t count = 1 << 20);

  /// Reads one HTTP response with a Content-Length (headers + body), bounded.
  std::string read_response(std::chrono::milliseconds timeout);

  /// Waits up to `timeout` for the server to close (EOF or reset); returns
  /// how long it took, or nullopt-like -1 ms when it stayed open.
  std::chrono::milliseconds wait_closed(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string pending_;  // bytes read past the last response
};

}  // namespace pytheas::test
