#pragma once
// HttpServer: the node's Boost.Beast front door. It owns one io_context per
// io thread (connections are spread round-robin and stay on their thread),
// one acceptor, and one Session per connection (see
// session.hpp for the per-connection flow and the limits it enforces).
// Requests are answered by the Handler given at construction, on the io thread
// that read them; handlers must therefore never block.
// Thread-safety: start() and stop() may be called from any one thread.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace pytheas::http {

/// Whether a listen host (an address or "localhost") is loopback only: the
/// admin routes' loopback rule needs it (http/api.hpp, ApiOptions).
bool is_loopback_host(const std::string& host);

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  ///< 0 = pick a free port (see HttpServer::port())
  int threads = 0;            ///< io threads; 0 = one per core

  std::size_t body_limit = 64 * 1024;   ///< larger bodies get 413
  std::size_t header_limit = 8 * 1024;  ///< larger request line + headers get 431
  /// From a request's first byte to its last (and for writing the response):
  /// slower clients are disconnected.
  std::chrono::milliseconds read_timeout{10'000};
  /// How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 10'000;  ///< beyond it new connections get 503
  /// How long stop() lets in-flight requests finish before closing everything.
  std::chrono::milliseconds drain_timeout{10'000};
};

class Handler;  // http/handler.hpp

class HttpServer {
 public:
  HttpServer(ServerOptions options, std::shared_ptr<Handler> handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds and starts the io threads. Throws std::runtime_error with the
  /// address on a bind failure (e.g. port in use).
  void start();

  /// Graceful stop: stops accepting, closes idle connections, lets requests in
  /// flight finish (their responses say Connection: close) for up to
  /// drain_timeout, then closes what is left and joins the io threads.
  /// Idempotent. Returns the number of connections still open at the
  /// deadline (0 = clean drain).
  std::size_t stop();

  /// The bound port (useful with port 0).
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pytheas::http
