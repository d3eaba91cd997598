#include "app/plot_script.hpp"

#include <spawn.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

extern char** environ;

namespace pytheas::app {

std::string find_plot_script(const char* env_var, const char* name) {
  if (const char* env = std::getenv(env_var); env && *env) return env;
  std::error_code error;
  auto dir = std::filesystem::read_symlink("/proc/self/exe", error).parent_path();
  for (int up = 0; up < 5 && !error && !dir.empty(); ++up) {
    auto candidate = dir / "scripts" / name;
    if (std::filesystem::exists(candidate, error)) return candidate.string();
    if (dir == dir.parent_path()) break;
    dir = dir.parent_path();
  }
  return {};
}

int run_plot_script(const std::string& script, const std::string& dir) {
  std::vector<std::string> args = {script, dir};
  std::vector<char*> argv;
  for (auto& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (posix_spawn(&pid, script.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return -1;
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace pytheas::app
