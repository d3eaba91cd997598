#include "test/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <thread>

namespace pytheas::test {

using Clock = std::chrono::steady_clock;

ChildProcess::ChildProcess(std::vector<std::string> argv) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, STDOUT_FILENO);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  stderr_fd_ = pipe_fds[0];
  fcntl(stderr_fd_, F_SETFL, O_NONBLOCK);
}

ChildProcess::~ChildProcess() {
  if (!exit_code_) {
    ::kill(pid_, SIGKILL);
    wait(std::chrono::seconds(10));
  }
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

void ChildProcess::drain(std::chrono::milliseconds timeout) {
  pollfd pfd{stderr_fd_, POLLIN, 0};
  if (poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return;
  char buffer[4096];
  for (;;) {
    auto n = read(stderr_fd_, buffer, sizeof buffer);
    if (n <= 0) break;
    captured_.append(buffer, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> ChildProcess::wait_for_line(const std::string& needle,
                                                       std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    for (;;) {
      auto end = captured_.find('\n', scanned_);
      if (end == std::string::npos) break;
      std::string line = captured_.substr(scanned_, end - scanned_);
      scanned_ = end + 1;
      if (line.find(needle) != std::string::npos) return line;
    }
    auto now = Clock::now();
    if (now >= deadline) return std::nullopt;
    if (exit_code_ || waitpid(pid_, nullptr, WNOHANG) == pid_) {
      drain(std::chrono::milliseconds(0));
      if (captured_.find('\n', scanned_) == std::string::npos) return std::nullopt;
      continue;
    }
    drain(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(50))));
  }
}

std::string ChildProcess::stderr_text() {
  drain(std::chrono::milliseconds(0));
  return captured_;
}

void ChildProcess::send_signal(int signal) {
  ::kill(pid_, signal);
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      drain(std::chrono::milliseconds(0));
      return exit_code_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    drain(std::chrono::milliseconds(10));
  }
}

RunResult run_to_completion(std::vector<std::string> argv, std::chrono::milliseconds timeout) {
  ChildProcess child(std::move(argv));
  auto code = child.wait(timeout);
  if (!code) throw std::runtime_error("command did not finish in time");
  return {*code, child.stderr_text()};
}

std::string generate_trace(const std::string& binary, const std::string& dir,
                           const std::string& gen_yaml) {
  const std::string config = dir + "/gen.yaml", trace = dir + "/t.trace";
  std::ofstream(config) << gen_yaml;
  auto run = run_to_completion({binary, "trace", "generate", "--config", config, "--out", trace},
                               std::chrono::seconds(30));
  if (run.exit_code != 0) throw std::runtime_error("trace generate failed:\n" + run.err);
  return trace;
}

StartedNode start_node(const std::string& binary, std::vector<std::string> extra) {
  std::vector<std::string> argv = {binary, "node", "--http", "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  auto process = std::make_unique<ChildProcess>(argv);
  auto line = process->wait_for_line("listening on http://", std::chrono::seconds(30));
  if (!line) throw std::runtime_error("node did not start; stderr:\n" + process->stderr_text());
  auto colon = line->rfind(':');
  unsigned short port = static_cast<unsigned short>(std::stoi(line->substr(colon + 1)));
  return {std::move(process), port};
}

}  // namespace pytheas::test
