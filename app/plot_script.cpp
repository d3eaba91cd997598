#include "app/plot_script.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

extern char** environ;

namespace pytheas::app {
namespace {

// The last non-empty line of `text`, without its newline.
std::string last_line(const std::string& text) {
  std::string last, line;
  std::istringstream in(text);
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return last;
}

// Runs argv with stderr captured into `err`; returns the exit code, or -1.
int run_capturing(std::vector<std::string> args, std::string& err) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  if (spawned != 0) {
    close(pipe_fds[0]);
    err = std::string(argv[0]) + " could not be started";
    return -1;
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer);
    if (n > 0) {
      err.append(buffer, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace

bool draw_plots(const char* name, const char* env_var, const std::string& dir, bool quiet) {
  std::string body;
  if (const char* path = std::getenv(env_var); path && *path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr,
                   "pytheas: note: no PNG plots (%s=%s cannot be read); the CSVs are in %s\n",
                   env_var, path, dir.c_str());
      return false;
    }
    std::ostringstream text;
    text << in.rdbuf();
    body = text.str();
  } else if (const auto* script = find_embedded_script(name)) {
    body = std::string(script->body);
  } else {
    std::fprintf(stderr, "pytheas: note: no PNG plots (no %s in this build); the CSVs are in %s\n",
                 name, dir.c_str());
    return false;
  }
  std::string err;
  const int code = run_capturing({"bash", "-c", body, name, dir}, err);
  if (code == 0) {
    if (!quiet && !err.empty()) std::fputs(err.c_str(), stderr);
    return true;
  }
  auto why = last_line(err);
  if (why.empty()) why = std::string(name) + " exit " + std::to_string(code);
  std::fprintf(stderr, "pytheas: note: no PNG plots (%s); the CSVs are in %s\n", why.c_str(),
               dir.c_str());
  return false;
}

}  // namespace pytheas::app
