#pragma once
// write_output_file: writes one result file of `simulate` or `replay`
// (CSV, summary) whole, and says which file when it cannot.

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace pytheas::sim {

inline void write_output_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) throw std::runtime_error("cannot write '" + path.string() + "'");
}

}  // namespace pytheas::sim
