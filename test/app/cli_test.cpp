// The CLI's contract: usage errors exit 2 with one line naming the problem;
// --help lists every flag; version prints.

#include <catch2/catch.hpp>

#include "test/support/process.hpp"

using pytheas::test::run_to_completion;
using namespace std::chrono_literals;

namespace {
std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}
int line_count(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}
}  // namespace

TEST_CASE("unknown flag exits 2 with a one-line error naming it", "[cli]") {
  auto result = run_to_completion({PYTHEAS_BINARY, "node", "--no-such-flag"}, 10s);
  CHECK(result.exit_code == 2);
  CHECK(line_count(result.err) == 1);
  CHECK(first_line(result.err).find("--no-such-flag") != std::string::npos);
}

TEST_CASE("bad --http value exits 2 and names the flag", "[cli]") {
  for (const char* bad : {"localhost", "127.0.0.1:99999", "127.0.0.1:http", ":8080", "::1:80"}) {
    INFO(bad);
    auto result = run_to_completion({PYTHEAS_BINARY, "node", "--http", bad}, 10s);
    CHECK(result.exit_code == 2);
    CHECK(line_count(result.err) == 1);
    CHECK(result.err.find("--http") != std::string::npos);
  }
}

TEST_CASE("a --cors-origin a browser never sends exits 2 saying what is wrong", "[cli][cors]") {
  for (const char* bad : {"https://video.example/", "video.example", "http://Video.example"}) {
    INFO(bad);
    auto result = run_to_completion({PYTHEAS_BINARY, "node", "--cors-origin", bad}, 10s);
    CHECK(result.exit_code == 2);
    CHECK(line_count(result.err) == 1);
    CHECK(result.err.find("--cors-origin") != std::string::npos);
    CHECK(result.err.find(bad) != std::string::npos);
  }
}

TEST_CASE("bad numeric value and missing file are usage errors", "[cli]") {
  auto threads = run_to_completion({PYTHEAS_BINARY, "node", "--io-threads", "many"}, 10s);
  CHECK(threads.exit_code == 2);
  CHECK(threads.err.find("--io-threads") != std::string::npos);
  auto labels = run_to_completion({PYTHEAS_BINARY, "node", "--labels", "/nonexistent.yaml"}, 10s);
  CHECK(labels.exit_code == 2);
  CHECK(labels.err.find("--labels") != std::string::npos);
}

TEST_CASE("no subcommand and unknown subcommand exit 2", "[cli]") {
  CHECK(run_to_completion({PYTHEAS_BINARY}, 10s).exit_code == 2);
  CHECK(run_to_completion({PYTHEAS_BINARY, "frobnicate"}, 10s).exit_code == 2);
}

TEST_CASE("cluster flag needs the name flag", "[cli]") {
  auto result = run_to_completion(
      {PYTHEAS_BINARY, "node", "--cluster", PYTHEAS_SOURCE_DIR "/CMakeLists.txt"}, 10s);
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("--name") != std::string::npos);
}

TEST_CASE("version prints and exits 0", "[cli]") {
  pytheas::test::ChildProcess child({PYTHEAS_BINARY, "version"});
  CHECK(child.wait(10s) == 0);
}

TEST_CASE("a file that is not a cluster file is refused in one line naming it", "[cli]") {
  auto result = run_to_completion(
      {PYTHEAS_BINARY, "node", "--cluster", PYTHEAS_SOURCE_DIR "/CMakeLists.txt", "--name", "fe-a"},
      10s);
  CHECK(result.exit_code == 1);
  CHECK(result.err.find(PYTHEAS_SOURCE_DIR "/CMakeLists.txt") != std::string::npos);
  CHECK(line_count(result.err) == 1);
}

TEST_CASE("a cluster file needs a node name", "[cli]") {
  auto result = run_to_completion(
      {PYTHEAS_BINARY, "node", "--cluster", PYTHEAS_SOURCE_DIR "/config/cluster-local.yaml"}, 10s);
  CHECK(result.exit_code == 2);
  CHECK(result.err.find("--name") != std::string::npos);
}
