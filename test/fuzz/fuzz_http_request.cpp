// Fuzzes the HTTP request path end to end, minus the socket: the input bytes
// are one connection's stream, parsed by Beast's request_parser configured as
// http/session.cpp does (8 KiB header limit, 64 KiB body limit), and each
// complete request (pipelining included) is handed to the real API handler
// over a real in-process Node (CAF actors, no persistence). Any request must
// get a response; an exception out of the handler (the server would answer
// 500 internal) counts as a finding.

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>

#include "actors/node/node.hpp"
#include "http/api.hpp"

namespace bhttp = boost::beast::http;

namespace {

// One node for the whole run: starting CAF per input would dominate the time.
struct Fixture {
  Fixture() : node(make_options()) {
    node.start();
    handler = pytheas::http::make_api_handler(node, pytheas::http::ApiOptions{});
  }
  static pytheas::NodeOptions make_options() {
    pytheas::NodeOptions options;
    options.scheduler_threads = 1;
    return options;
  }
  pytheas::Node node;
  std::shared_ptr<pytheas::http::Handler> handler;
};

// Deliberately never destroyed: libFuzzer ends the process with exit(), and
// stopping CAF's actor system from an exit handler (after CAF's own statics
// may be gone) crashes inside libcaf. The process exit reclaims everything.
Fixture& fixture() {
  static Fixture* const instance = std::make_unique<Fixture>().release();
  return *instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Fixture& f = fixture();
  boost::asio::const_buffer input(data, size);
  // Bounded: each round consumes at least one byte or stops.
  for (int requests = 0; requests < 64 && input.size() > 0; ++requests) {
    std::optional<bhttp::request_parser<bhttp::string_body>> parser;
    parser.emplace();
    parser->header_limit(8 * 1024);
    parser->body_limit(64 * 1024);
    boost::beast::error_code ec;
    while (!parser->is_done() && input.size() > 0) {
      const std::size_t used = parser->put(input, ec);
      input += used;
      if (ec == bhttp::error::need_more) {
        ec = {};
        if (used == 0) break;
        continue;
      }
      if (ec || used == 0) break;
    }
    if (!parser->is_done()) {
      // The peer closed mid-request: an EOF must not be mistaken for a request.
      if (!ec && parser->got_some()) parser->put_eof(ec);
      if (!parser->is_done()) return 0;  // the server answers 400/413/431 or closes
    }
    pytheas::http::Request& request = parser->get();
    try {
      const pytheas::http::Response response = f.handler->handle(request);
      if (response.result_int() < 100 || response.result_int() > 599) __builtin_trap();
      if (response.result_int() == 500) {
        std::fprintf(stderr, "500 response: %s\n", response.body().c_str());
        __builtin_trap();
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "handler threw: %s\n", e.what());
      __builtin_trap();
    }
    if (!request.keep_alive()) return 0;
  }
  return 0;
}
