#pragma once
// HttpClient: a small blocking HTTP/1.1 client over one keep-alive connection
// to 127.0.0.1, for tests. Each call has a timeout; a test never hangs on a
// dead server. Not thread-safe: one client per thread.

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace pytheas::test {

struct HttpReply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
  bool keep_alive = false;
};

class HttpClient {
 public:
  HttpClient(std::string host, unsigned short port,
             std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();

  HttpReply get(const std::string& target);
  HttpReply post(const std::string& target, const std::string& body,
                 const std::string& content_type = "application/json");
  HttpReply request(const std::string& method, const std::string& target, const std::string& body,
                    const std::string& content_type,
                    const std::map<std::string, std::string>& headers = {});

  /// Sends raw bytes and reads one response (or the close). For malformed input.
  HttpReply raw(const std::string& bytes);

  /// Number of TCP connections this client has opened (keep-alive checks).
  int connections_opened() const { return connections_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int connections_ = 0;
};

}  // namespace pytheas::test
