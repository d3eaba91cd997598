#pragma once
// ChildProcess: runs a program (usually the `pytheas` binary) as a real child
// process for integration tests, capturing its stderr, with bounded waits.
// The destructor kills a child that is still running, so a failing test never
// leaks a server. Not thread-safe.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pytheas::test {

class ChildProcess {
 public:
  /// Starts `argv[0]` with the given arguments; stdout goes to /dev/null,
  /// stderr is captured. Throws std::runtime_error if it cannot start.
  explicit ChildProcess(std::vector<std::string> argv);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  /// Reads stderr until a line contains `needle` or `timeout` passes; returns
  /// that line.
  std::optional<std::string> wait_for_line(const std::string& needle,
                                           std::chrono::milliseconds timeout);

  /// Everything read from stderr so far (including what wait_for_line read).
  std::string stderr_text();

  void send_signal(int signal);

  /// Waits up to `timeout` for exit; returns the exit code (128+signal if it
  /// was killed by one), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);

  pid_t pid() const { return pid_; }

 private:
  void drain(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int stderr_fd_ = -1;
  std::string captured_;
  std::size_t scanned_ = 0;
  std::optional<int> exit_code_;
};

/// Runs a command to completion (bounded by `timeout`), returning exit code and
/// stderr. Throws std::runtime_error on timeout.
struct RunResult {
  int exit_code;
  std::string err;
};
RunResult run_to_completion(std::vector<std::string> argv, std::chrono::milliseconds timeout);

/// Writes `gen_yaml` (a `pytheas trace generate` config) to DIR/gen.yaml,
/// generates DIR/t.trace from it and returns that path. Throws
/// std::runtime_error with the command's stderr if it fails.
std::string generate_trace(const std::string& binary, const std::string& dir,
                           const std::string& gen_yaml);

/// Starts `pytheas node` on 127.0.0.1 with a free port plus `extra` args and
/// waits until it listens. Returns the process and the port.
struct StartedNode {
  std::unique_ptr<ChildProcess> process;
  unsigned short port;
};
StartedNode start_node(const std::string& binary, std::vector<std::string> extra = {});

}  // namespace pytheas::test
