#include "peer/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "common/net/connection.h"

namespace lanswarm::peer {

namespace {

// A share request carries a bitmap of up to 2^20 chunks in hex: 256 KiB.
constexpr std::size_t kMaxLine = 1u << 20;

class ControlSession : public net::ConnectionHandler {
 public:
  explicit ControlSession(ControlHandler handler) : handler_(std::move(handler)) {}

  void OnData(net::Connection& c, ByteView data) override {
    buffer_.append(reinterpret_cast<const char*>(data.data()), data.size());
    for (auto nl = buffer_.find('\n'); nl != std::string::npos; nl = buffer_.find('\n')) {
      const std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      nlohmann::json request = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      nlohmann::json reply = request.is_object() && request.contains("cmd")
                                 ? handler_(request)
                                 : nlohmann::json{{"ok", false}, {"error", "expected a JSON object with \"cmd\""}};
      const std::string out = reply.dump() + "\n";
      c.Send(Bytes(out.begin(), out.end()));
    }
    if (buffer_.size() > kMaxLine) {
      c.Close(Status::InvalidArgument("control request too long"));
    }
  }
  void OnClosed(net::Connection&, const Status&) override {}

 private:
  ControlHandler handler_;
  std::string buffer_;
};

}  // namespace

Status StartControlServer(net::Loop& loop, const std::string& socket_path, ControlHandler handler) {
  auto addr = net::SocketAddress::FromUnixPath(socket_path);
  if (!addr.ok()) return addr.status();
  ::unlink(socket_path.c_str());  // a stale socket from a daemon that died
  // bind(2) makes the socket file with 0777 less the umask, and connecting
  // needs only write permission on it: under umask 000 anyone could connect
  // between bind and chmod. So it is bound under umask 077 and never exists
  // wider than 0700. The umask is the process's: this runs in Daemon::Setup
  // before any other thread exists, so nothing else is made under it.
  const mode_t umask_was = ::umask(077);
  auto bound = loop.Listen(*addr, [handler](const net::SocketAddress&) {
    return std::make_unique<ControlSession>(handler);
  });
  ::umask(umask_was);
  if (!bound.ok()) return bound.status();
  if (::chmod(socket_path.c_str(), 0600) != 0) return Status::FromErrno("chmod " + socket_path, errno);
  return Status::Ok();
}

Result<nlohmann::json> ControlRequest(const std::string& socket_path, const nlohmann::json& request,
                                      std::chrono::milliseconds timeout) {
  auto addr = net::SocketAddress::FromUnixPath(socket_path);
  if (!addr.ok()) return addr.status();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("socket", errno);
  if (::connect(fd, addr->sockaddr_ptr(), addr->length()) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == ENOENT || err == ECONNREFUSED) return Status::NotFound("no daemon is listening at " + socket_path);
    return Status::FromErrno("connect to " + socket_path, err);
  }
  const std::string out = request.dump() + "\n";
  for (std::size_t off = 0; off < out.size();) {
    ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno("send to " + socket_path, err);
    }
    off += static_cast<std::size_t>(n);
  }
  std::string in;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (in.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      ::close(fd);
      return Status::IOError("the daemon did not answer within " + std::to_string(timeout.count()) + " ms");
    }
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      ::close(fd);
      return Status::IOError("the daemon closed the control connection without an answer");
    }
    in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  nlohmann::json reply = nlohmann::json::parse(in.substr(0, in.find('\n')), nullptr, false);
  if (!reply.is_object()) return Status::Corruption("the daemon's answer is not JSON");
  return reply;
}

}  // namespace lanswarm::peer
