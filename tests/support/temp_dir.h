// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object dies, so tests leave nothing behind even when they fail.
#pragma once

#include <string>
#include <string_view>

namespace lanswarm::testing {

class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string File(std::string_view name) const;

 private:
  std::string path_;
};

// Writes `data` to `path`, replacing it. Throws std::runtime_error on failure
// (a test fixture failing is a test failure, not an expected error).
void WriteTestFile(const std::string& path, std::string_view data);
std::string ReadTestFile(const std::string& path);

// n deterministic pseudo-random bytes from `seed`.
std::string RandomBytes(std::size_t n, std::uint64_t seed);

}  // namespace lanswarm::testing
