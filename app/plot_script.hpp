#pragma once
// Finding and running the plot scripts that `simulate` and `replay` call
// after writing their CSVs (scripts/plot-simulation, scripts/plot-replay).

#include <string>

namespace pytheas::app {

/// The script `scripts/<name>`: the path in environment variable `env_var` if
/// set, else found by walking up from the binary (build dirs live inside the
/// source tree). Empty if not found.
std::string find_plot_script(const char* env_var, const char* name);

/// Runs `script DIR` and waits; returns its exit code, or -1 if it could not
/// start or did not exit normally.
int run_plot_script(const std::string& script, const std::string& dir);

}  // namespace pytheas::app
