#pragma once
// Drawing the PNG plots of `simulate`, `replay` and `evaluate` with gnuplot.
// The plot scripts (scripts/plot-simulation, plot-replay, plot-evaluation)
// are compiled into the binary (cmake/EmbedAssets.cmake), so the plots come
// out wherever the binary runs or is installed, from the source tree or not.
// An environment variable can point at another copy (to try an edited one).

#include <string>
#include <string_view>

namespace pytheas::app {

struct EmbeddedScript {
  std::string_view name;  ///< e.g. "plot-simulation"
  std::string_view content_type;
  std::string_view body;
};

/// The compiled-in script `name`, or null (generated: plot_scripts.cpp).
const EmbeddedScript* find_embedded_script(std::string_view name);

/// Runs script `name` on `dir` under bash: the file named by environment
/// variable `env_var` when it is set, else the compiled-in copy. On success
/// the script's own "wrote ..." line goes to stderr (unless `quiet`); on
/// failure exactly one line says why (gnuplot missing, the script's error).
/// Returns true when the plots were written.
bool draw_plots(const char* name, const char* env_var, const std::string& dir, bool quiet);

}  // namespace pytheas::app
