#pragma once
// Handler: turns one parsed HTTP request into one response. Implementations are
// called concurrently from every io thread and must not block.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace pytheas::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

class Handler {
 public:
  virtual ~Handler() = default;
  virtual Response handle(Request& request) = 0;
};

}  // namespace pytheas::http
