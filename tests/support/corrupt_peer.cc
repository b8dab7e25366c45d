// A deliberately bad peer for `make test-faults` (tests/lan/test_faults.sh):
// it tells the coordinator it holds one file whole, and answers every
// REQUEST with that chunk's real bytes, some of them flipped. A real peer
// cannot do this (it checks every chunk before sending, see
// peer/serve_session.h), so this tool speaks the protocol itself, on plain
// blocking sockets and one thread per connection. Test-only: built into
// build/$(MODE)/tests/, never installed.
//
//   corrupt_peer --coordinator IP:PORT --listen IP:PORT --fileinfo F --data FILE
//                [--report-interval S] [--key-file K]
//
// With --key-file it is a member of a keyed cluster gone bad: it proves the
// key like any peer (common/auth/handshake.h), so only the checksums stop it.
//
// Logs one line per event on stderr; the test counts them:
//   corrupt_peer: connection N from ADDR
//   corrupt_peer: sent corrupt chunk I (total N)
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "common/auth/handshake.h"
#include "common/net/socket_address.h"
#include "common/proto/codec.h"
#include "common/proto/frame_buffer.h"
#include "common/sodium_init.h"
#include "fileinfo/fileinfo.h"

namespace lanswarm {
namespace {

std::mutex g_log_mu;
std::atomic<int> g_connections{0};
std::atomic<std::uint64_t> g_corrupt_chunks{0};

template <typename... Args>
void Log(const char* format, Args... args) {
  std::lock_guard<std::mutex> lock(g_log_mu);
  std::fprintf(stderr, "corrupt_peer: ");
  std::fprintf(stderr, format, args...);
  std::fprintf(stderr, "\n");
  std::fflush(stderr);
}

// One blocking TCP connection speaking frames.
class Wire {
 public:
  explicit Wire(int fd) : fd_(fd) {}
  Wire(const Wire&) = delete;
  Wire& operator=(const Wire&) = delete;
  ~Wire() { ::close(fd_); }

  bool SendBytes(const std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const ssize_t k = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) return false;
      p += k;
      n -= static_cast<std::size_t>(k);
    }
    return true;
  }
  bool Send(const proto::Message& m) {
    const Bytes b = proto::EncodeFrame(m);
    return SendBytes(b.data(), b.size());
  }

  // The next message; an error on close, malformed data or `timeout`
  // (negative: wait for ever).
  Result<proto::Message> Receive(int timeout_ms = -1) {
    for (;;) {
      proto::Message m;
      const proto::Decoded d = frames_.Next(&m);
      if (d.state == proto::DecodeState::kComplete) return m;
      if (d.state == proto::DecodeState::kError) return Status::Corruption(d.error);
      pollfd p{fd_, POLLIN, 0};
      const int r = ::poll(&p, 1, timeout_ms);
      if (r == 0) return Status::IOError("timed out");
      if (r < 0 && errno == EINTR) continue;
      std::uint8_t buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Status::IOError("closed");
      frames_.Append(ByteView(buf, static_cast<std::size_t>(n)));
    }
  }

 private:
  int fd_;
  proto::FrameBuffer frames_;
};

// Fixed: the coordinator replaces rather than duplicates its entries across
// restarts. Made on first use, after Main readied libsodium.
const auth::Identity& Self() {
  static const auth::Identity self = [] {
    std::array<std::uint8_t, 32> seed;
    seed.fill(0xC0);
    return auth::Identity::FromSeed(seed);
  }();
  return self;
}

// The cluster key, if any; set once in Main before any thread starts.
auth::KeyRing g_keys;

proto::Hello MyHello() { return proto::MakeHello(proto::Role::kPeer, Self().peer_id()); }

// The connecting side's handshake (to the coordinator): HELLO, the other
// side's HELLO, then AUTH.
Status ConnectHandshake(Wire& w) {
  auth::ConnectorHandshake hs(g_keys, Self(), MyHello());
  if (!w.Send(hs.hello())) return Status::IOError("cannot send HELLO");
  auto m = w.Receive(10000);
  if (!m.ok()) return m.status();
  const auto* theirs = std::get_if<proto::Hello>(&*m);
  if (theirs == nullptr) return Status::Corruption("expected HELLO first");
  auto proof = hs.OnHello(*theirs);
  if (!proof.ok()) return proof.status();
  if (!w.Send(*proof)) return Status::IOError("cannot send AUTH");
  return Status::Ok();
}

// The accepting side's (a getter connecting): its HELLO, ours, then its AUTH.
Status AcceptHandshake(Wire& w) {
  auth::AcceptorHandshake hs(g_keys, Self(), MyHello());
  while (!hs.authenticated()) {
    auto m = w.Receive(10000);
    if (!m.ok()) return m.status();
    if (Status s = hs.Admit(*m); !s.ok()) return s;
    if (const auto* hello = std::get_if<proto::Hello>(&*m)) {
      auto reply = hs.OnHello(*hello);
      if (!reply.ok()) return reply.status();
      if (!w.Send(*reply)) return Status::IOError("cannot send HELLO");
    } else if (const auto* a = std::get_if<proto::Auth>(&*m)) {
      LANSWARM_RETURN_IF_ERROR(hs.OnAuth(*a));
    } else {
      return Status::Corruption("ERROR during the handshake");
    }
  }
  return Status::Ok();
}

int ConnectTo(const net::SocketAddress& a) {
  const int fd = ::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (::connect(fd, a.sockaddr_ptr(), a.length()) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reports the file whole every interval, reconnecting when the coordinator goes away.
void ReportLoop(net::SocketAddress coordinator, proto::Report report, std::chrono::seconds interval) {
  for (;;) {
    const int fd = ConnectTo(coordinator);
    if (fd < 0) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    Wire w(fd);
    if (Status s = ConnectHandshake(w); !s.ok()) {
      Log("coordinator handshake: %s", s.message().c_str());
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    while (w.Send(report)) {
      // Drain whatever the coordinator says (nothing expected) until the next report.
      auto m = w.Receive(static_cast<int>(interval.count() * 1000));
      if (!m.ok() && m.status().message() != "timed out") break;
    }
  }
}

struct Served {
  FileInfo info;
  int data_fd = -1;
};

void Serve(int fd, const Served& file, int number, const std::string& from) {
  Log("connection %d from %s", number, from.c_str());
  Wire w(fd);
  if (Status s = AcceptHandshake(w); !s.ok()) {
    Log("connection %d: handshake: %s", number, s.message().c_str());
    return;
  }
  const ChunkLayout layout = file.info.layout();
  Bytes chunk;
  for (;;) {
    auto m = w.Receive();
    if (!m.ok()) break;
    if (const auto* open = std::get_if<proto::Open>(&*m)) {
      if (open->file != file.info.id) {
        if (!w.Send(proto::Reject{open->slot, proto::kWholeFile, proto::RejectReason::kUnknownFile})) break;
        continue;
      }
      proto::Bitfield b{open->slot, file.info.chunk_count(), Bytes((file.info.chunk_count() + 7) / 8, 0)};
      for (std::uint32_t i = 0; i < file.info.chunk_count(); ++i) b.bits[i / 8] |= static_cast<std::uint8_t>(1u << (i % 8));
      if (!w.Send(b)) break;
    } else if (const auto* r = std::get_if<proto::Request>(&*m)) {
      if (r->index >= file.info.chunk_count()) {
        if (!w.Send(proto::Reject{r->slot, r->index, proto::RejectReason::kOutOfRange})) break;
        continue;
      }
      const std::uint32_t len = layout.length(r->index);
      chunk.resize(len);
      if (::pread(file.data_fd, chunk.data(), len, static_cast<off_t>(layout.offset(r->index))) !=
          static_cast<ssize_t>(len)) {
        Log("cannot read chunk %u: %s", r->index, std::strerror(errno));
        break;
      }
      // The real bytes with three flipped: first, middle, last.
      chunk[0] ^= 0xFF;
      chunk[len / 2] ^= 0x5A;
      chunk[len - 1] ^= 0xA5;
      if (!w.Send(proto::ChunkHeader{r->slot, r->index, len}) || !w.SendBytes(chunk.data(), len)) break;
      Log("sent corrupt chunk %u (total %llu)", r->index, static_cast<unsigned long long>(++g_corrupt_chunks));
    }
    // CANCEL, HAVE and anything else: ignored.
  }
  Log("connection %d closed", number);
}

int Usage() {
  std::fprintf(stderr,
               "usage: corrupt_peer --coordinator IP:PORT --listen IP:PORT --fileinfo F --data FILE "
               "[--report-interval S] [--key-file K]\n");
  return 2;
}

int Main(int argc, char** argv) {
  std::string coordinator, listen, fileinfo, data, key_file;
  int interval = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--coordinator") coordinator = value;
    else if (flag == "--listen") listen = value;
    else if (flag == "--fileinfo") fileinfo = value;
    else if (flag == "--data") data = value;
    else if (flag == "--report-interval") interval = std::atoi(value.c_str());
    else if (flag == "--key-file") key_file = value;
    else return Usage();
  }
  if (argc % 2 != 1 || coordinator.empty() || listen.empty() || fileinfo.empty() || data.empty() || interval < 1) {
    return Usage();
  }
  auto coord = net::SocketAddress::Parse(coordinator);
  auto where = net::SocketAddress::Parse(listen);
  auto info = LoadFileInfo(fileinfo);
  if (!coord.ok() || !where.ok() || !info.ok()) {
    std::fprintf(stderr, "corrupt_peer: bad arguments: %s\n",
                 !coord.ok() ? coord.status().message().c_str()
                 : !where.ok() ? where.status().message().c_str()
                               : info.status().message().c_str());
    return 2;
  }
  if (!InitSodium().ok()) return 1;
  if (!key_file.empty()) {
    auto keys = auth::KeyRing::LoadFile(key_file);
    if (!keys.ok()) {
      std::fprintf(stderr, "corrupt_peer: %s\n", keys.status().message().c_str());
      return 2;
    }
    g_keys = std::move(*keys);
  }
  Served file;
  file.info = std::move(*info);
  file.data_fd = ::open(data.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.data_fd < 0) {
    std::fprintf(stderr, "corrupt_peer: %s: %s\n", data.c_str(), std::strerror(errno));
    return 1;
  }

  const int lfd = ::socket(where->family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(lfd, where->sockaddr_ptr(), where->length()) != 0 || ::listen(lfd, 64) != 0) {
    std::fprintf(stderr, "corrupt_peer: cannot listen on %s: %s\n", listen.c_str(), std::strerror(errno));
    return 1;
  }
  proto::Report report;
  report.listen = where->ToEndpoint();
  report.files.push_back({file.info.id, proto::FileState::kWhole});
  std::thread(ReportLoop, *coord, report, std::chrono::seconds(interval)).detach();
  Log("serving %s (%u chunks) corrupted on %s, reporting to %s", file.info.name.c_str(), file.info.chunk_count(),
      listen.c_str(), coordinator.c_str());

  for (;;) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    const int fd = ::accept4(lfd, reinterpret_cast<sockaddr*>(&from), &from_len, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      std::fprintf(stderr, "corrupt_peer: accept: %s\n", std::strerror(errno));
      return 1;
    }
    const std::string peer = net::SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&from), from_len).ToString();
    std::thread(Serve, fd, std::cref(file), ++g_connections, peer).detach();
  }
}

}  // namespace
}  // namespace lanswarm

int main(int argc, char** argv) { return lanswarm::Main(argc, argv); }
