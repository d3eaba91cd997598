#pragma once
// ReplayHttpPool: a fixed pool of keep-alive HTTP/1.1 client connections to
// one endpoint, for `pytheas replay`. Requests wait in a bounded FIFO queue
// until a connection is free; each has one deadline counted from submit()
// (queueing, connecting, writing and reading all count), so a dead or slow
// node costs at most the timeout per request. A connection that fails is
// closed and reconnected by its next request. A request is sent again only
// when the kept-alive connection it went out on had been closed by the
// server (its idle timeout: the request was never read), once, within its
// deadline; any other failure is the request's (a blind retry could apply a
// report twice). Completion callbacks run on the io_context, never inside
// submit().
// Not thread-safe: use it from the one thread running its io_context.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pytheas::sim {

/// How one request ended. `transport_ok` false: no HTTP answer (`error`
/// says why: "timeout", "connection_refused", "queue_full", ...).
struct HttpOutcome {
  bool transport_ok = false;
  unsigned status = 0;
  std::string body;
  std::string error;
  double seconds = 0;  ///< from submit() to the answer or failure
};

class ReplayHttpPool {
 public:
  using Clock = std::chrono::steady_clock;
  using Callback = std::function<void(HttpOutcome&&)>;

  ReplayHttpPool(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint endpoint,
                 std::string host_header, std::size_t connections,
                 std::chrono::milliseconds timeout, std::size_t max_queue);
  ~ReplayHttpPool();
  ReplayHttpPool(const ReplayHttpPool&) = delete;
  ReplayHttpPool& operator=(const ReplayHttpPool&) = delete;

  /// Queues a POST of `body` to `target`; `done` runs exactly once, on the
  /// io_context, unless the io_context is stopped first.
  void post(std::string target, std::string content_type, std::string body, Callback done);

  std::size_t queued() const { return queue_.size(); }
  /// Connections opened so far (keep-alive reuse shows as a small number).
  std::size_t connections_opened() const { return connections_opened_; }
  /// Requests sent again because the server had closed their idle
  /// keep-alive connection (see Connection::fail).
  std::size_t retries() const { return retries_; }

 private:
  class Connection;
  struct Job {
    std::string target;
    std::string content_type;
    std::string body;
    Clock::time_point submitted;
    Callback done;
  };

  void on_idle(Connection& connection);
  void fail_later(Job job, std::string error);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::string host_header_;
  std::chrono::milliseconds timeout_;
  std::size_t max_queue_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;
  std::deque<Job> queue_;
  std::size_t connections_opened_ = 0;
  std::size_t retries_ = 0;
};

}  // namespace pytheas::sim
