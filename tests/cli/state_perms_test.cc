// The peer's state directory under a careless umask: whatever the umask of
// whoever starts the daemon, the directory is 0700 and every file the daemon
// makes there 0600; a wider directory of ours is tightened (said once in the
// log), another user's refused in one line. The .fileinfo a user makes
// follows the umask as any file of theirs does.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/support/cluster.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

namespace {

// `argv` run by a shell under umask 000.
RunResult RunUmask000(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"/bin/sh", "-c", "umask 000 && exec \"$@\"", "sh"});
  return Run(argv, 90);
}

struct stat StatOf(const std::string& path) {
  struct stat st;
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

mode_t ModeOf(const std::string& path) { return StatOf(path).st_mode & 07777; }

std::size_t Count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("state perms: under umask 000 the state dir is 0700 and the daemon's files 0600", "[peer][perms]") {
  MiniCoordinator co;
  Peer p(co.port);
  auto start = RunUmask000(p.Args({"start-server"}));
  INFO(start.err);
  REQUIRE(start.exit_code == 0);
  WriteTestFile(p.dir.File("data.bin"), RandomBytes(3 * 256 * 1024, 5));
  REQUIRE(RunUmask000(p.Args({"share", "-q", p.dir.File("data.bin")})).exit_code == 0);

  const std::string state = p.dir.File("state");
  CHECK(ModeOf(state) == 0700);
  for (const char* name : {"peer.pid", "identity.key", "registry.json", "peer.log"}) {
    INFO(name);
    CHECK(S_ISREG(StatOf(state + "/" + name).st_mode));
    CHECK(ModeOf(state + "/" + name) == 0600);
  }
  CHECK(S_ISSOCK(StatOf(state + "/control.sock").st_mode));
  CHECK(ModeOf(state + "/control.sock") == 0600);
  // A user's .fileinfo is theirs to hand around: 0644 less their umask.
  CHECK(ModeOf(p.dir.File("data.bin.fileinfo")) == 0644);

  auto key = RunUmask000({BinPath("peer"), "gen-key", p.dir.File("cluster.key")});
  REQUIRE(key.exit_code == 0);
  CHECK(ModeOf(p.dir.File("cluster.key")) == 0600);
}

TEST_CASE("state perms: a wider state dir of ours is made 0700, and the log says so once", "[peer][perms]") {
  MiniCoordinator co;
  Peer p(co.port);
  const std::string state = p.dir.File("state");
  REQUIRE(::mkdir(state.c_str(), 0700) == 0);
  REQUIRE(::chmod(state.c_str(), 0777) == 0);
  p.Start();
  CHECK(ModeOf(state) == 0700);
  REQUIRE(p.Cmd({"kill-server"}).exit_code == 0);
  p.Start();
  const std::string line = "state dir " + state + " was mode 0777; it is now 0700, this user's only";
  CHECK(Count(p.Log(), line) == 1);
}

TEST_CASE("state perms: another user's state dir is refused in one line", "[peer][perms]") {
  if (::geteuid() != 0) {
    WARN("not root: this test needs chown");
    return;
  }
  MiniCoordinator co;
  Peer p(co.port);
  const std::string state = p.dir.File("state");
  REQUIRE(::mkdir(state.c_str(), 0755) == 0);
  REQUIRE(::chown(state.c_str(), 65534, 65534) == 0);
  for (bool foreground : {false, true}) {
    auto r = foreground ? p.Cmd({"start-server", "--foreground"}) : p.Cmd({"start-server"});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "peer: state dir " + state + " belongs to uid 65534, not to this user (uid 0), who could read "
                   "and replace what the daemon keeps there: choose another --state-dir\n");
  }
  CHECK(ModeOf(state) == 0755);
  CHECK(::access((state + "/peer.log").c_str(), F_OK) != 0);  // nothing made in it
}

}  // namespace lanswarm::testing
