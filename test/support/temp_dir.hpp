#pragma once
// TempDir: a fresh directory under the system temp dir, removed with
// everything in it when the object goes away. For tests that need files.

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace pytheas::test {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "pytheas-test") {
    path_ = std::filesystem::temp_directory_path() /
            (prefix + "-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  /// The path of `name` inside the directory, as a string.
  std::string path_of(const std::string& name) const { return (path_ / name).string(); }

  /// Writes `text` to `name` inside the directory; returns the file's path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

/// The whole content of a file ("" when it cannot be read).
inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace pytheas::test
