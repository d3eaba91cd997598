// The PNG plots come out wherever the binary runs: the plot scripts are
// compiled in, so a `pytheas` copied outside the source tree still draws
// them; without gnuplot one line says why. Exits 77 (ctest: skipped) where
// gnuplot is not installed.

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "test/support/process.hpp"
#include "test/support/temp_dir.hpp"

using pytheas::test::run_to_completion;
using pytheas::test::TempDir;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

constexpr int kSkipExitCode = 77;  // test/app/CMakeLists.txt: SKIP_RETURN_CODE

void require_gnuplot() {
  std::istringstream dirs(std::getenv("PATH") ? std::getenv("PATH") : "");
  for (std::string dir; std::getline(dirs, dir, ':');)
    if (::access((fs::path(dir) / "gnuplot").c_str(), X_OK) == 0) return;
  std::fprintf(stderr, "SKIPPED: gnuplot is not installed (scripts/deps installs gnuplot-nox)\n");
  std::exit(kSkipExitCode);
}

bool is_png(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[8] = {};
  in.read(magic, 8);
  return in.gcount() == 8 && std::string(magic, 8) == "\x89PNG\r\n\x1a\n";
}

int count_lines(const std::string& text) {
  int n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

// A copy of the binary in a fresh directory far from the source tree.
std::string copy_binary(const TempDir& dir) {
  const auto bin = dir.path() / "bin";
  fs::create_directories(bin);
  fs::copy_file(PYTHEAS_BINARY, bin / "pytheas");
  return (bin / "pytheas").string();
}

std::string small_trace(const TempDir& dir) {
  return pytheas::test::generate_trace(PYTHEAS_BINARY, dir.path().string(),
                                       "seed: 3\nsessions: 2000\nduration_s: 600\nasns: 3\n");
}

}  // namespace

TEST_CASE("a binary copied outside the source tree still writes simulate's PNGs", "[cli][plots]") {
  require_gnuplot();
  TempDir dir("pytheas-plots");
  const auto binary = copy_binary(dir);
  REQUIRE(std::string(PYTHEAS_SOURCE_DIR).find(dir.path().string()) == std::string::npos);
  const auto out = dir.path() / "out";
  auto run = run_to_completion({binary, "simulate", "--trace", small_trace(dir), "--policy",
                                "ducb,random", "--out", out.string()},
                               60s);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(is_png(out / "cost_over_time.png"));
  CHECK(is_png(out / "cost_cdf.png"));
  CHECK(run.err.find("not found") == std::string::npos);
}

TEST_CASE("evaluate draws its estimates plot from a copied binary too", "[cli][plots]") {
  require_gnuplot();
  TempDir dir("pytheas-plots");
  const auto binary = copy_binary(dir);
  fs::create_directories(dir.path() / "log");
  std::ofstream log(dir.path() / "log" / "decisions-20240101T000000.000Z-000001.jsonl");
  log << R"({"type":"header","format":"pytheas-decision-log","version":1,"features":["Asn"],"node":"","opened_at":1.0})"
      << "\n";
  for (int i = 0; i < 200; ++i) {
    const std::string id = "e" + std::to_string(i);
    const std::string chosen = i % 2 ? "b" : "a";
    log << R"({"type":"decision","time":)" << 10 + i << R"(,"event_id":")" << id
        << R"(","group":"g","features":["1"],"candidates":["a","b"],"decision":")" << chosen
        << R"(","propensity":0.5,"policy":"random"})"
        << "\n"
        << R"({"type":"report","time":)" << 11 + i << R"(,"event_id":")" << id << R"(","score":)"
        << (i % 2 ? 1 : 2) + (i % 7) * 0.1 << R"(,"join":"event_id"})"
        << "\n";
  }
  log.close();
  const auto out = dir.path() / "eval";
  auto run = run_to_completion({binary, "evaluate", "--log", (dir.path() / "log").string(),
                                "--policy", "logged,random,fixed:a,ducb", "--out", out.string()},
                               60s);
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK(is_png(out / "estimates.png"));
}

TEST_CASE("without gnuplot, simulate says why in one line and keeps its CSVs", "[cli][plots]") {
  TempDir dir("pytheas-plots");
  const auto trace = small_trace(dir);
  // A PATH holding bash and nothing else: no gnuplot.
  const auto only_bash = dir.path() / "only-bash";
  fs::create_directories(only_bash);
  fs::create_symlink("/bin/bash", only_bash / "bash");
  const std::string saved_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", only_bash.c_str(), 1);
  auto run = run_to_completion({PYTHEAS_BINARY, "simulate", "--trace", trace, "--out",
                                (dir.path() / "out").string(), "--quiet"},
                               60s);
  ::setenv("PATH", saved_path.c_str(), 1);
  INFO(run.err);
  CHECK(run.exit_code == 0);
  CHECK(count_lines(run.err) == 1);
  CHECK_THAT(run.err, Catch::StartsWith("pytheas: note: no PNG plots (plot-simulation: gnuplot "
                                        "not found; install gnuplot-nox"));
  CHECK(fs::exists(dir.path() / "out" / "summary.csv"));
  CHECK_FALSE(fs::exists(dir.path() / "out" / "cost_over_time.png"));
}
