#include "core/web_origin.hpp"

#include <catch2/catch.hpp>

using pytheas::web_origin_problem;

TEST_CASE("web origins as browsers send them are accepted", "[core][cors]") {
  for (const char* origin :
       {"*", "http://127.0.0.1:8000", "https://video.example", "https://a-b.example.co.uk:8443",
        "http://localhost:3000", "http://[::1]:8080", "https://[2001:db8::1]"}) {
    INFO(origin);
    CHECK(web_origin_problem(origin).empty());
  }
}

TEST_CASE("values a browser never sends as Origin are refused, saying why", "[core][cors]") {
  const auto problem = [](const char* text) { return web_origin_problem(text); };
  CHECK(problem("video.example").find("not a web origin") != std::string::npos);
  CHECK(problem("ftp://video.example").find("not a web origin") != std::string::npos);
  CHECK(problem("").find("not a web origin") != std::string::npos);
  CHECK(problem("**").find("not a web origin") != std::string::npos);
  CHECK(problem("https://").find("has no host") != std::string::npos);
  CHECK(problem("https://video.example/").find("no path") != std::string::npos);
  CHECK(problem("https://video.example/player").find("no path") != std::string::npos);
  CHECK(problem("https://video.example:8443/").find("no path") != std::string::npos);
  CHECK(problem("https://Video.Example").find("lower case") != std::string::npos);
  CHECK(problem("https://video.example:").find("empty port") != std::string::npos);
  CHECK(problem("https://video.example:http").find("number") != std::string::npos);
  CHECK(problem("https://video.example:70000").find("1..65535") != std::string::npos);
  CHECK(problem("https://video.example:0").find("1..65535") != std::string::npos);
  CHECK(problem("https://video.example:0443").find("leading zeros") != std::string::npos);
  CHECK(problem("https://video.example:443").find("default port") != std::string::npos);
  CHECK(problem("http://video.example:80").find("default port") != std::string::npos);
  CHECK(problem("http://video example").find("bad character") != std::string::npos);
  CHECK(problem("http://[::1").find("unclosed") != std::string::npos);
  CHECK(problem("http://[::1]/").find("no path") != std::string::npos);
  // The problem quotes the value, so an operator sees which one.
  CHECK(problem("https://video.example/").starts_with("'https://video.example/'"));
}
