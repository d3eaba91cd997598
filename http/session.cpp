#include "http/session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/status.hpp>
#include <charconv>
#include <vector>

#include "http/errors.hpp"
#include "http/metrics.hpp"

namespace pytheas::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

void SessionContext::add(Session* session, std::weak_ptr<Session> weak) {
  std::lock_guard lock(mutex_);
  sessions_.emplace(session, std::move(weak));
}

void SessionContext::remove(Session* session) {
  std::lock_guard lock(mutex_);
  sessions_.erase(session);
}

std::size_t SessionContext::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

void SessionContext::drain_all() {
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard lock(mutex_);
    live.reserve(sessions_.size());
    for (auto& [raw, weak] : sessions_)
      if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  // Outside the lock: dropping the last reference runs ~Session, which locks.
  for (auto& session : live) session->drain();
}

bool is_loopback_peer(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6()).is_loopback();
  return address.is_loopback();
}

bool is_loopback_host(const std::string& host) {
  if (host == "localhost") return true;
  auto bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']')
    bare = bare.substr(1, bare.size() - 2);
  beast::error_code ec;
  const auto address = asio::ip::make_address(bare, ec);
  return !ec && is_loopback_peer(address);
}

Session::Session(asio::ip::tcp::socket socket, SessionContext& context)
    : stream_(std::move(socket)), context_(context) {
  beast::error_code ec;
  const auto peer = stream_.socket().remote_endpoint(ec);
  request_context_.peer_is_loopback = !ec && is_loopback_peer(peer.address());
}

Session::~Session() {
  context_.remove(this);
  if (context_.metrics) context_.metrics->connection_closed();
}

void Session::run() {
  context_.add(this, weak_from_this());
  if (context_.metrics) context_.metrics->connection_opened();
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&Session::wait_for_request, shared_from_this()));
}

void Session::drain() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->state_ == State::idle) self->close();
  });
}

void Session::wait_for_request() {
  if (context_.draining.load(std::memory_order_relaxed)) return close();
  if (buffer_.size() > 0) return read_header();  // pipelined request already here
  state_ = State::idle;
  stream_.expires_after(context_.options.idle_timeout);
  stream_.async_read_some(buffer_.prepare(4096),
                          beast::bind_front_handler(&Session::on_first_bytes, shared_from_this()));
}

void Session::on_first_bytes(beast::error_code ec, std::size_t bytes) {
  if (ec) return close();  // idle timeout, client closed, or drain
  buffer_.commit(bytes);
  read_header();
}

void Session::read_header() {
  state_ = State::reading;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(context_.options.header_limit));
  parser_->body_limit(context_.options.body_limit);
  stream_.expires_after(context_.options.read_timeout);
  header_bytes_ = 0;
  parse_header();
}

// Our own header read loop rather than bhttp::async_read_header: Beast 1.74
// applies header_limit only to the bytes not yet parsed within one put(), so
// headers arriving over several reads could total far more than the limit
// (16 KB of small fields passed an 8 KiB limit). Here every byte the parser
// consumes counts against --header-limit.
void Session::parse_header() {
  const std::size_t limit = context_.options.header_limit;
  beast::error_code ec;
  while (buffer_.size() > 0 && !parser_->is_header_done()) {
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    header_bytes_ += used;
    if (ec == bhttp::error::need_more) {
      ec = {};
      break;
    }
    if (ec) return on_header(ec, header_bytes_);
  }
  if (parser_->is_header_done()) {
    if (header_bytes_ > limit) return on_header(bhttp::error::header_limit, header_bytes_);
    return on_header({}, header_bytes_);
  }
  if (header_bytes_ + buffer_.size() >= limit)
    return on_header(bhttp::error::header_limit, header_bytes_);
  // Read no more than the header may still take (+1 to see it overflow).
  const std::size_t room = std::min<std::size_t>(limit - header_bytes_ - buffer_.size() + 1, 65536);
  stream_.async_read_some(buffer_.prepare(room),
                          beast::bind_front_handler(&Session::on_header_bytes, shared_from_this()));
}

void Session::on_header_bytes(beast::error_code ec, std::size_t bytes) {
  if (ec == asio::error::eof) {
    parser_->put_eof(ec);  // end_of_stream or partial_message: a silent close
    if (!ec) ec = bhttp::error::partial_message;
    return on_header(ec, header_bytes_);
  }
  if (ec) return on_header(ec, header_bytes_);  // timeout, reset, drain
  buffer_.commit(bytes);
  parse_header();
}

namespace {

// Maps a read error to the answer the client gets; false = close silently.
bool rejection_for(beast::error_code ec, unsigned& status, const char*& code,
                   const char*& message) {
  if (ec == bhttp::error::body_limit) {
    status = 413, code = "body_too_large", message = "request body exceeds the size limit";
    return true;
  }
  if (ec == bhttp::error::header_limit) {
    status = 431, code = "headers_too_large", message = "request headers exceed the size limit";
    return true;
  }
  if (ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message) return false;
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category()) {
    status = 400, code = "bad_request", message = "malformed HTTP request";
    return true;
  }
  return false;  // timeout, reset, drain
}

}  // namespace

void Session::on_read_error(beast::error_code ec) {
  unsigned status = 0;
  const char* code = nullptr;
  const char* message = nullptr;
  if (rejection_for(ec, status, code, message)) return reject(status, code, message);
  close();  // timeout, reset, drain: nothing to answer
}

void Session::on_header(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  if (parser_->is_done()) return handle_request();
  const auto& request = parser_->get();
  if (beast::iequals(request[bhttp::field::expect], "100-continue")) {
    static constexpr char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    return asio::async_write(
        stream_, asio::buffer(kContinue, sizeof kContinue - 1),
        beast::bind_front_handler(&Session::on_continue_written, shared_from_this()));
  }
  // Usually the whole body arrived with the header: parse it from the buffer
  // without another trip through the reactor.
  while (!parser_->is_done() && buffer_.size() > 0) {
    const std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == bhttp::error::need_more) {
      ec = {};
      break;
    }
    if (ec) return on_body(ec, 0);
    if (used == 0) break;
  }
  if (parser_->is_done()) return handle_request();
  read_body();
}

void Session::on_continue_written(beast::error_code ec, std::size_t) {
  if (ec) return close();
  read_body();
}

void Session::read_body() {
  bhttp::async_read(stream_, buffer_, *parser_,
                    beast::bind_front_handler(&Session::on_body, shared_from_this()));
}

void Session::on_body(beast::error_code ec, std::size_t) {
  if (ec) return on_read_error(ec);
  handle_request();
}

void Session::handle_request() {
  state_ = State::handling;
  auto& request = parser_->get();
  keep_alive_ = request.keep_alive() && !context_.draining.load(std::memory_order_relaxed);
  try {
    response_ = context_.handler->handle(request, request_context_);
  } catch (const std::exception& e) {
    response_ = error_response(500, request.version(), "internal", e.what());
  }
  write_response(beast::bind_front_handler(&Session::on_write, shared_from_this()));
}

template <class WriteHandler>
void Session::write_response(WriteHandler&& handler) {
  // Serialized by hand into one reused buffer: cheaper than Beast's generic
  // serializer, and the same bytes (status line, fields in insertion order,
  // Connection, Content-Length unless 204, body).
  const unsigned version = response_.version();
  head_.clear();
  head_.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  char number[24];
  char* end = std::to_chars(number, number + sizeof number, response_.result_int()).ptr;
  head_.append(number, end);
  head_.push_back(' ');
  const auto reason = bhttp::obsolete_reason(response_.result());
  head_.append(reason.data(), reason.size());
  head_.append("\r\n");
  for (const auto& field : response_) {
    head_.append(field.name_string().data(), field.name_string().size());
    head_.append(": ");
    head_.append(field.value().data(), field.value().size());
    head_.append("\r\n");
  }
  if (!keep_alive_ && version >= 11) head_.append("Connection: close\r\n");
  if (keep_alive_ && version == 10) head_.append("Connection: keep-alive\r\n");
  // A 204 (CORS preflights) has no body and, per RFC 9110, no Content-Length.
  if (response_.result() != bhttp::status::no_content) {
    head_.append("Content-Length: ");
    end = std::to_chars(number, number + sizeof number, response_.body().size()).ptr;
    head_.append(number, end);
    head_.append("\r\n");
  }
  head_.append("\r\n");
  const std::array<asio::const_buffer, 2> buffers = {asio::buffer(head_),
                                                     asio::buffer(response_.body())};
  stream_.expires_after(context_.options.read_timeout);
  asio::async_write(stream_, buffers, std::forward<WriteHandler>(handler));
}

void Session::on_write(beast::error_code ec, std::size_t) {
  if (ec) return close();
  response_ = {};
  if (!keep_alive_) {
    beast::error_code ignored;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    return;  // the socket closes with the session
  }
  wait_for_request();
}

void Session::reject(unsigned status, const char* code, const char* message) {
  state_ = State::closing;
  const unsigned version = parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
  std::string text = message;
  if (status == 413)
    text += fmt::format(" ({} bytes)", context_.options.body_limit);
  else if (status == 431)
    text += fmt::format(" ({} bytes)", context_.options.header_limit);
  response_ = error_response(status, version, code, text);
  keep_alive_ = false;
  if (context_.metrics) context_.metrics->record(Route::rejected, status, {});
  write_response([self = shared_from_this()](beast::error_code write_ec, std::size_t) {
    if (write_ec) return self->close();
    self->linger_close();
  });
}

void Session::linger_close() {
  // Read and drop what the client is still sending (e.g. the rest of an
  // oversized body) for a moment, so our answer is not lost to a TCP reset.
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(std::chrono::seconds(1));
  stream_.async_read_some(asio::buffer(linger_buffer_),
                          beast::bind_front_handler(&Session::on_linger, shared_from_this()));
}

void Session::on_linger(beast::error_code ec, std::size_t bytes) {
  lingered_ += bytes;
  if (ec || lingered_ > 1024 * 1024) return close();
  stream_.async_read_some(asio::buffer(linger_buffer_),
                          beast::bind_front_handler(&Session::on_linger, shared_from_this()));
}

void Session::close() {
  state_ = State::closing;
  beast::error_code ignored;
  stream_.socket().close(ignored);
}

}  // namespace pytheas::http
