#pragma once
// Session: one client connection. The flow, per request:
//   idle   - wait (idle_timeout) for the first byte of the next request;
//   read   - parse header then body with a request_parser that enforces
//            header_limit (431) and body_limit (413), all within read_timeout;
//            "Expect: 100-continue" gets its interim response;
//   handle - the Handler builds the response on this io thread;
//   write  - send it (read_timeout), then loop while keep-alive holds.
// A limit violation or malformed request is answered with its status and a
// JSON error body, then the connection is closed after a short lingering
// read, so the client sees the answer instead of a reset. Timeouts close the
// connection without an answer. While the server drains, idle connections are
// closed at once and busy ones after their response (Connection: close).
// Thread-safety: all work of one session runs on its io_context's one thread;
// drain() may be called from any thread (it posts).

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "http/handler.hpp"
#include "http/server.hpp"

namespace pytheas::http {

class Session;

/// True for 127.0.0.0/8, ::1 and their IPv4-mapped forms (::ffff:127.x.y.z).
bool is_loopback_peer(const boost::asio::ip::address& address);

/// What the server shares with its sessions: options, handler, the drain flag
/// and the registry of live sessions (for drain). Thread-safe.
struct SessionContext {
  ServerOptions options;
  std::shared_ptr<Handler> handler;
  Metrics* metrics = nullptr;
  std::atomic<bool> draining{false};

  void add(Session* session, std::weak_ptr<Session> weak);
  void remove(Session* session);
  std::size_t size() const;
  /// Asks every live session to close once it is idle.
  void drain_all();

 private:
  mutable std::mutex mutex_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(boost::asio::ip::tcp::socket socket, SessionContext& context);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  /// Registers with the context and starts the flow.
  void run();

  /// Called (from any thread) when the server drains: an idle connection is
  /// closed now, a busy one after its current response.
  void drain();

 private:
  enum class State { idle, reading, handling, closing };

  void wait_for_request();
  void on_first_bytes(boost::beast::error_code ec, std::size_t bytes);
  void read_header();
  /// Feeds buffered bytes to the parser; reads more until the header is done.
  void parse_header();
  void on_header_bytes(boost::beast::error_code ec, std::size_t bytes);
  void on_header(boost::beast::error_code ec, std::size_t bytes);
  void read_body();
  void on_body(boost::beast::error_code ec, std::size_t bytes);
  /// A failed header or body read: answer a limit or syntax violation, else close.
  void on_read_error(boost::beast::error_code ec);
  void on_continue_written(boost::beast::error_code ec, std::size_t bytes);
  void handle_request();
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  /// Sends response_ (with Connection per keep_alive_ and Content-Length).
  template <class WriteHandler>
  void write_response(WriteHandler&& handler);
  /// Answers a rejected request with `status` and closes.
  void reject(unsigned status, const char* code, const char* message);
  void linger_close();
  void on_linger(boost::beast::error_code ec, std::size_t bytes);
  void close();

  boost::beast::tcp_stream stream_;
  SessionContext& context_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  Response response_;
  std::string head_;  // serialized status line + fields, reused per response
  bool keep_alive_ = false;
  State state_ = State::idle;
  std::size_t lingered_ = 0;
  std::size_t header_bytes_ = 0;    // header bytes of the current request parsed so far
  RequestContext request_context_;  // the peer, fixed for the connection
  char linger_buffer_[4096];
};

}  // namespace pytheas::http
