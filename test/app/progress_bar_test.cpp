// ProgressBar draws on a terminal and writes nothing anywhere else.

#include "app/progress_bar.hpp"

#include <fcntl.h>
#include <pty.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

using pytheas::app::human_count;
using pytheas::app::ProgressBar;

namespace {

std::string drain(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return text;
}

}  // namespace

TEST_CASE("on a pipe the progress bar writes nothing", "[cli][progress]") {
  int fds[2];
  REQUIRE(::pipe2(fds, O_NONBLOCK) == 0);
  {
    ProgressBar bar("simulate", "sessions", true, fds[1]);
    CHECK_FALSE(bar.active());
    bar.update(0.5, 1000);
    bar.finish();
  }
  ::close(fds[1]);
  CHECK(drain(fds[0]).empty());
  ::close(fds[0]);
}

TEST_CASE("on a terminal it shows the bar, rate and ETA, then ends its line", "[cli][progress]") {
  int master = -1, slave = -1;
  REQUIRE(::openpty(&master, &slave, nullptr, nullptr, nullptr) == 0);
  ::fcntl(master, F_SETFL, O_NONBLOCK);
  {
    ProgressBar bar("simulate", "sessions", true, slave);
    REQUIRE(bar.active());
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    bar.update(0.5, 50000);
    bar.update(0.6, 60000);  // within 100 ms of the last draw: not drawn
    bar.finish();
  }
  const auto text = drain(master);
  INFO(text);
  CHECK(text.find("\rsimulate [############............]  50%") != std::string::npos);
  CHECK(text.find("50k sessions") != std::string::npos);
  CHECK(text.find("k/s") != std::string::npos);
  CHECK(text.find("ETA 0:0") != std::string::npos);
  CHECK(text.find(" 60%") != std::string::npos);  // finish() draws the last state
  CHECK(text.back() == '\n');
  ::close(slave);
  ::close(master);

  ProgressBar disabled("x", "y", false, 1);
  CHECK_FALSE(disabled.active());
}

TEST_CASE("counts read in three digits", "[cli][progress]") {
  CHECK(human_count(950) == "950");
  CHECK(human_count(12345) == "12.3k");
  CHECK(human_count(1100000) == "1.1M");
  CHECK(human_count(2.5e9) == "2.5G");
}
