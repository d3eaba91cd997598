#include "test/support/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace pytheas::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

struct HttpClient::Impl {
  std::string host;
  unsigned short port;
  std::chrono::milliseconds timeout;
  asio::io_context io;
  std::unique_ptr<beast::tcp_stream> stream;
  beast::flat_buffer buffer;

  void connect(int& counter) {
    stream = std::make_unique<beast::tcp_stream>(io);
    stream->expires_after(timeout);
    stream->connect(tcp::endpoint(asio::ip::make_address(host), port));
    buffer.clear();
    ++counter;
  }

  HttpReply read_reply() {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    stream->expires_after(timeout);
    bhttp::read(*stream, buffer, parser);
    auto& res = parser.get();
    HttpReply reply;
    reply.status = static_cast<int>(res.result_int());
    reply.body = res.body();
    reply.keep_alive = res.keep_alive();
    for (auto& field : res) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply.headers[name] = std::string(field.value());
    }
    if (!reply.keep_alive) stream.reset();
    return reply;
  }
};

HttpClient::HttpClient(std::string host, unsigned short port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
  impl_->timeout = timeout;
}

HttpClient::~HttpClient() = default;

HttpReply HttpClient::get(const std::string& target) {
  return request("GET", target, "", "");
}

HttpReply HttpClient::post(const std::string& target, const std::string& body,
                           const std::string& content_type) {
  return request("POST", target, body, content_type);
}

HttpReply HttpClient::request(const std::string& method, const std::string& target,
                              const std::string& body, const std::string& content_type,
                              const std::map<std::string, std::string>& headers) {
  auto& im = *impl_;
  if (!im.stream) im.connect(connections_);
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, im.host);
  if (!content_type.empty()) req.set(bhttp::field::content_type, content_type);
  for (auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  im.stream->expires_after(im.timeout);
  try {
    bhttp::write(*im.stream, req);
    return im.read_reply();
  } catch (...) {
    im.stream.reset();
    throw;
  }
}

HttpReply HttpClient::raw(const std::string& bytes) {
  auto& im = *impl_;
  im.connect(connections_);
  im.stream->expires_after(im.timeout);
  asio::write(*im.stream, asio::buffer(bytes));
  try {
    return im.read_reply();
  } catch (const beast::system_error&) {
    im.stream.reset();
    return HttpReply{};  // status 0: the server closed without a response
  }
}

}  // namespace pytheas::test
