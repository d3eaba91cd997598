#include "http/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "http/errors.hpp"
#include "http/handler.hpp"
#include "http/metrics.hpp"
#include "http/session.hpp"

namespace pytheas::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// Answers a connection beyond max_connections with `refusal` (a complete
// 503 response), then closes it.
void refuse(tcp::socket socket, const std::string& refusal) {
  auto held = std::make_shared<tcp::socket>(std::move(socket));
  asio::async_write(*held, asio::buffer(refusal), [held](beast::error_code, std::size_t) {
    beast::error_code ignored;
    held->shutdown(tcp::socket::shutdown_send, ignored);
  });
}

std::string make_refusal() {
  const std::string body = error_body("overloaded", "too many connections; retry later");
  return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
         "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace

struct HttpServer::Impl {
  // Declared before the io_contexts: sessions destroyed with them still use these.
  std::shared_ptr<Handler> handler;
  SessionContext context;
  // One io_context per io thread: a connection lives on one thread for its
  // whole life, so sessions need no strand and threads share no reactor lock.
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  // Keep each io_context's run() going while it has no connection yet.
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> keep_running;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  std::size_t next_context = 0;  // round-robin; touched only by the accept handler
  std::uint16_t bound_port = 0;
  const std::string refusal = make_refusal();

  void accept() {
    auto& target = *contexts[next_context];
    next_context = (next_context + 1) % contexts.size();
    acceptor->async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) return;
      if (!ec) {
        if (context.size() >= context.options.max_connections) {
          if (context.metrics) context.metrics->connection_refused();
          refuse(std::move(socket), refusal);
        } else {
          beast::error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
          std::make_shared<Session>(std::move(socket), context)->run();
        }
      }
      accept();
    });
  }
};

HttpServer::HttpServer(ServerOptions options, std::shared_ptr<Handler> handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->context.options = std::move(options);
  impl_->context.handler = impl_->handler;
  impl_->context.metrics = impl_->handler->metrics();
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  auto& im = *impl_;
  const auto& options = im.context.options;
  const int n = options.threads > 0
                    ? options.threads
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) {
    im.contexts.push_back(std::make_unique<asio::io_context>(1));
    im.keep_running.push_back(asio::make_work_guard(*im.contexts.back()));
  }
  im.acceptor = std::make_unique<tcp::acceptor>(*im.contexts[0]);
  beast::error_code ec;
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) throw std::runtime_error("http: bad listen address '" + options.host + "'");
  tcp::endpoint endpoint{address, options.port};
  const std::string where = options.host + ":" + std::to_string(options.port);
  im.acceptor->open(endpoint.protocol(), ec);
  if (!ec) im.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) im.acceptor->bind(endpoint, ec);
  if (!ec) im.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("http: cannot listen on " + where + ": " + ec.message());
  im.bound_port = im.acceptor->local_endpoint().port();
  im.accept();
  for (auto& io : im.contexts) im.threads.emplace_back([&io = *io] { io.run(); });
}

std::size_t HttpServer::stop() {
  auto& im = *impl_;
  if (im.threads.empty()) return 0;
  im.context.draining = true;
  asio::post(*im.contexts[0], [&im] {
    beast::error_code ignored;
    im.acceptor->close(ignored);
  });
  im.context.drain_all();
  // In-flight requests finish on the io threads; poll (bounded) until every
  // connection is gone or the deadline passes.
  const auto deadline = std::chrono::steady_clock::now() + im.context.options.drain_timeout;
  while (im.context.size() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::size_t left = im.context.size();
  im.keep_running.clear();
  for (auto& io : im.contexts) io->stop();
  for (auto& t : im.threads) t.join();
  im.threads.clear();
  return left;
}

std::uint16_t HttpServer::port() const {
  return impl_->bound_port;
}

}  // namespace pytheas::http
