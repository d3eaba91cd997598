#include "http/server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <thread>
#include <vector>

#include "http/handler.hpp"

namespace pytheas::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

// One connection: read a request, hand it to the handler, write the response,
// repeat while keep-alive holds (the flow of Beast's async server example).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Handler> handler)
      : stream_(std::move(socket)), handler_(std::move(handler)) {}

  void run() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Session::read, shared_from_this()));
  }

 private:
  void read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(30));
    beast::http::async_read(stream_, buffer_, request_,
                            beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return close();
    response_ = handler_->handle(request_);
    response_.keep_alive(request_.keep_alive());
    response_.prepare_payload();
    beast::http::async_write(stream_, response_,
                             beast::bind_front_handler(&Session::on_write, shared_from_this()));
  }

  void on_write(beast::error_code ec, std::size_t) {
    if (ec) return close();
    if (!response_.keep_alive()) return close();
    read();
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Request request_;
  Response response_;
  std::shared_ptr<Handler> handler_;
};

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  std::shared_ptr<Handler> handler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::vector<std::thread> threads;
  std::uint16_t bound_port = 0;

  void accept() {
    acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted) return;
      } else {
        socket.set_option(tcp::no_delay(true));
        std::make_shared<Session>(std::move(socket), handler)->run();
      }
      accept();
    });
  }
};

HttpServer::HttpServer(ServerOptions options, std::shared_ptr<Handler> handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::start() {
  auto& im = *impl_;
  beast::error_code ec;
  auto address = asio::ip::make_address(im.options.host, ec);
  if (ec) throw std::runtime_error("http: bad listen address '" + im.options.host + "'");
  tcp::endpoint endpoint{address, im.options.port};
  im.acceptor.open(endpoint.protocol());
  im.acceptor.set_option(asio::socket_base::reuse_address(true));
  im.acceptor.bind(endpoint, ec);
  if (ec)
    throw std::runtime_error("http: cannot listen on " + im.options.host + ":" +
                             std::to_string(im.options.port) + ": " + ec.message());
  im.acceptor.listen(asio::socket_base::max_listen_connections);
  im.bound_port = im.acceptor.local_endpoint().port();
  im.accept();
  int n = im.options.threads > 0 ? im.options.threads
                                 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) im.threads.emplace_back([&im] { im.io.run(); });
}

void HttpServer::stop() {
  auto& im = *impl_;
  if (im.threads.empty()) return;
  asio::post(im.io, [&im] {
    beast::error_code ignored;
    im.acceptor.close(ignored);
  });
  im.io.stop();
  for (auto& t : im.threads) t.join();
  im.threads.clear();
}

std::uint16_t HttpServer::port() const { return impl_->bound_port; }

}  // namespace pytheas::http
