#pragma once
// HttpServer: the node's Boost.Beast front door. It owns an io_context run by
// `threads` io threads, one acceptor, and one Session per connection (see
// session.cpp for the per-connection flow). Requests are answered by the
// Handler given at construction, on the io thread that read them; handlers
// must therefore never block.
// Thread-safety: start() and stop() may be called from any one thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace pytheas::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8080;  ///< 0 = pick a free port (see HttpServer::port())
  int threads = 0;            ///< io threads; 0 = one per core
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

  /// Stops accepting, closes connections, joins the io threads. Idempotent.
  void stop();

  /// The bound port (useful with port 0).
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pytheas::http
