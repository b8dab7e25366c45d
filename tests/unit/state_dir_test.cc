// The peer's state directory and its files are this user's only, whatever
// the umask: made 0700/0600, an existing wider directory tightened once,
// another user's refused; and WriteFileAtomic's two modes.
#include "peer/state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/file_util.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::peer {

namespace {

using testing::TempDir;

// Sets the process umask for one test; these tests run on one thread.
class Umask {
 public:
  explicit Umask(mode_t m) : was_(::umask(m)) {}
  ~Umask() { ::umask(was_); }

 private:
  mode_t was_;
};

mode_t ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("state dir: made 0700 whatever the umask, missing parents 0755 less it", "[state_dir]") {
  for (mode_t mask : {0000, 0077, 0277}) {
    TempDir tmp;
    // 0277 would leave parents 0500, where only root could go on.
    const std::string dir = tmp.File(mask == 0277 ? "state" : "a/b/state");
    {
      Umask u(mask);
      auto note = PrepareStateDir(dir);
      REQUIRE(note.ok());
      CHECK_FALSE(note->has_value());  // nothing was there to correct
    }
    CHECK(ModeOf(dir) == 0700);
    if (mask != 0277) CHECK(ModeOf(tmp.File("a")) == (0755 & ~mask));
  }
}

TEST_CASE("state dir: an existing wider one of ours is tightened, and said once", "[state_dir]") {
  TempDir tmp;
  const std::string dir = tmp.File("state");
  REQUIRE(::mkdir(dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(dir.c_str(), 01777) == 0);  // docker's tmpfs
  auto first = PrepareStateDir(dir + "/");
  REQUIRE(first.ok());
  REQUIRE(first->has_value());
  CHECK(**first == "state dir " + dir + "/ was mode 1777; it is now 0700, this user's only");
  CHECK(ModeOf(dir) == 0700);
  auto second = PrepareStateDir(dir);
  REQUIRE(second.ok());
  CHECK_FALSE(second->has_value());
}

TEST_CASE("state dir: not a directory, or another user's, is refused in one line", "[state_dir]") {
  TempDir tmp;
  testing::WriteTestFile(tmp.File("file"), "x");
  auto file = PrepareStateDir(tmp.File("file"));
  REQUIRE_FALSE(file.ok());
  CHECK(file.status().message() == "state dir " + tmp.File("file") + " is not a directory");
  if (::geteuid() != 0) {
    WARN("not root: the test of another user's state dir needs chown");
    return;
  }
  const std::string dir = tmp.File("theirs");
  REQUIRE(::mkdir(dir.c_str(), 0755) == 0);
  REQUIRE(::chown(dir.c_str(), 65534, 65534) == 0);
  auto theirs = PrepareStateDir(dir);
  REQUIRE_FALSE(theirs.ok());
  CHECK(theirs.status().message() ==
        "state dir " + dir + " belongs to uid 65534, not to this user (uid 0), who could read and replace "
                             "what the daemon keeps there: choose another --state-dir");
  CHECK(ModeOf(dir) == 0755);  // left as it was
}

TEST_CASE("state files: 0600 whatever the umask and the mode they had; never through a link", "[state_dir]") {
  TempDir tmp;
  const std::string path = tmp.File("peer.log");
  {
    Umask u(0);
    auto fd = OpenStateFile(path, O_WRONLY | O_APPEND);
    REQUIRE(fd.ok());
    ::close(*fd);
  }
  CHECK(ModeOf(path) == 0600);
  REQUIRE(::chmod(path.c_str(), 0666) == 0);  // left by an older version
  auto again = OpenStateFile(path, O_WRONLY | O_APPEND);
  REQUIRE(again.ok());
  ::close(*again);
  CHECK(ModeOf(path) == 0600);

  testing::WriteTestFile(tmp.File("victim"), "keep");
  REQUIRE(::chmod(tmp.File("victim").c_str(), 0644) == 0);
  REQUIRE(::symlink("victim", tmp.File("peer.pid").c_str()) == 0);
  CHECK_FALSE(OpenStateFile(tmp.File("peer.pid"), O_RDWR).ok());
  CHECK(ModeOf(tmp.File("victim")) == 0644);
}

TEST_CASE("WriteFileAtomic: private files are 0600 under any umask, shared ones 0644 less the umask", "[file_util]") {
  TempDir tmp;
  for (mode_t mask : {0000, 0022, 0077, 0277}) {
    Umask u(mask);
    const std::string priv = tmp.File("registry.json"), shared = tmp.File("f.fileinfo");
    REQUIRE(WriteFileAtomic(priv, "{}\n", /*overwrite=*/true, FileMode::kPrivate).ok());
    REQUIRE(WriteFileAtomic(shared, "x\n", /*overwrite=*/true, FileMode::kShared).ok());
    CHECK(ModeOf(priv) == 0600);
    CHECK(ModeOf(shared) == (0644 & ~mask));
  }
}

TEST_CASE("WriteFileAtomic: a link planted at the temporary's name is replaced, not followed", "[file_util]") {
  TempDir tmp;
  const std::string path = tmp.File("registry.json");
  testing::WriteTestFile(tmp.File("victim"), "keep");
  const std::string tmp_name = path + ".tmp." + std::to_string(::getpid());
  REQUIRE(::symlink(tmp.File("victim").c_str(), tmp_name.c_str()) == 0);
  REQUIRE(WriteFileAtomic(path, "{}\n", /*overwrite=*/true, FileMode::kPrivate).ok());
  CHECK(testing::ReadTestFile(tmp.File("victim")) == "keep");
  CHECK(testing::ReadTestFile(path) == "{}\n");
  CHECK(::access(tmp_name.c_str(), F_OK) != 0);
}

}  // namespace lanswarm::peer
