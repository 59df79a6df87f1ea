// Temporary directories and small file helpers for tests (header-only).
//
// A failure here means the test machine cannot do basic file work; nothing sensible can follow,
// so the helpers stop the process (LADING_CHECK) rather than return a status. Not thread-safe.
#ifndef LADING_TESTS_TESTING_TEMP_FILES_H_
#define LADING_TESTS_TESTING_TEMP_FILES_H_

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "crypto/status.h"

namespace lading::test_files {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/lading-test-XXXXXX";
    LADING_CHECK(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // `name` inside the directory.
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// The whole content of `path` ("" when it cannot be read).
inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes `text` to `path` (replacing it) and sets its permission bits to `mode`.
inline void WriteText(const std::string& path, std::string_view text, mode_t mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    LADING_CHECK(out.good());
  }
  LADING_CHECK(::chmod(path.c_str(), mode) == 0);
}

// The permission bits of `path`.
inline mode_t ModeOf(const std::string& path) {
  struct stat info {};
  LADING_CHECK(::stat(path.c_str(), &info) == 0);
  return info.st_mode & 07777;
}

}  // namespace lading::test_files

#endif  // LADING_TESTS_TESTING_TEMP_FILES_H_
