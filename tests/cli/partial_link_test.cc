// `peer get` and a hostile neighbour in the output directory: someone who can
// write there plants <out>.partial as a link to a file the getter can write.
// The getter must refuse in one line and leave the link's target as it was,
// without a daemon, through a daemon, and when the daemon is handed a
// .partial other than the one the CLI checked.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "fileinfo/fileinfo.h"
#include "tests/support/cluster.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

using namespace std::chrono_literals;

namespace {

bool IsLink(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

// One request on a daemon's control socket, as `peer get` sends it.
nlohmann::json Control(const std::string& socket_path, const nlohmann::json& request) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  REQUIRE(socket_path.size() < sizeof addr.sun_path);
  std::copy(socket_path.begin(), socket_path.end(), addr.sun_path);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string line = request.dump() + "\n";
  REQUIRE(::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size()));
  std::string reply;
  char c;
  while (::recv(fd, &c, 1, 0) == 1 && c != '\n') reply.push_back(c);
  ::close(fd);
  return nlohmann::json::parse(reply, nullptr, false);
}

// One holder sharing a small file, a getter, and a victim file the getter
// can write, next to the getter's output.
struct Scene {
  MiniCoordinator co;
  TempDir src;
  std::string data = RandomBytes(3 * 256 * 1024 + 17, 41);
  Peer holder{co.port};
  Peer getter{co.port};
  std::string fileinfo = src.File("data.bin.fileinfo");
  std::string out = getter.dir.File("out.bin");
  std::string victim = getter.dir.File("victim");
  Scene() {
    WriteTestFile(src.File("data.bin"), data);
    auto r = Run({BinPath("fileinfo"), "create", "-q", "--chunk-size", "256K", src.File("data.bin")});
    REQUIRE(r.exit_code == 0);
    holder.Start();
    holder.Share(src.File("data.bin"), fileinfo);
    WriteTestFile(victim, "precious, and not a download");
  }
  void ExpectRefused(const RunResult& r, const std::string& what) {
    INFO(r.err);
    CHECK(r.exit_code == 1);
    CHECK(Has(r.err, what));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(ReadTestFile(victim) == "precious, and not a download");
    CHECK(::access(out.c_str(), F_OK) != 0);
  }
};

}  // namespace

TEST_CASE("get: a symlinked .partial is refused, its target untouched (no daemon)", "[get][hostile]") {
  Scene s;
  REQUIRE(::symlink(s.victim.c_str(), (s.out + ".partial").c_str()) == 0);
  s.ExpectRefused(s.getter.Cmd({"get", "--wait", "5", s.fileinfo, s.out}), "symbolic link");
  CHECK(IsLink(s.out + ".partial"));  // left for the user to look at
}

TEST_CASE("get: a symlinked or hard-linked .partial is refused through a daemon", "[get][hostile]") {
  Scene s;
  s.getter.Start();
  SECTION("symlink") {
    REQUIRE(::symlink(s.victim.c_str(), (s.out + ".partial").c_str()) == 0);
    s.ExpectRefused(s.getter.Cmd({"get", "--wait", "5", s.fileinfo, s.out}), "symbolic link");
  }
  SECTION("hard link") {
    REQUIRE(::link(s.victim.c_str(), (s.out + ".partial").c_str()) == 0);
    s.ExpectRefused(s.getter.Cmd({"get", "--wait", "5", s.fileinfo, s.out}), "hard links");
  }
  // The daemon is still well and downloads the file once the link is gone.
  REQUIRE(::unlink((s.out + ".partial").c_str()) == 0);
  auto ok = s.getter.Cmd({"get", "-q", "--wait", "10", s.fileinfo, s.out});
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ReadTestFile(s.out) == s.data);
  CHECK(ReadTestFile(s.victim) == "precious, and not a download");
}

// The window between the CLI's check and the daemon's open: the daemon
// writes only to the file whose identity the CLI sent.
TEST_CASE("get: the daemon refuses a .partial other than the one the CLI reserved", "[get][hostile]") {
  Scene s;
  s.getter.Start();
  auto info = LoadFileInfo(s.fileinfo);
  REQUIRE(info.ok());
  WriteTestFile(s.out + ".partial", std::string(info->size, '\0'));
  auto reply = Control(s.getter.dir.File("state/control.sock"),
                       {{"cmd", "get"}, {"fileinfo", s.fileinfo}, {"out", s.out}, {"partial", "1:1"}});
  INFO(reply.dump());
  CHECK_FALSE(reply.value("ok", true));
  CHECK(Has(reply.value("error", ""), "replaced since it was reserved"));
  auto garbage = Control(s.getter.dir.File("state/control.sock"),
                         {{"cmd", "get"}, {"fileinfo", s.fileinfo}, {"out", s.out}, {"partial", "soon"}});
  CHECK_FALSE(garbage.value("ok", true));
  CHECK(Has(garbage.value("error", ""), "dev:ino"));
}

}  // namespace lanswarm::testing
