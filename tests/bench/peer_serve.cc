// The peer daemon serving a 1 GiB file over loopback: to one client, against
// a plain blocking TCP send of the same file in the same run (target >= 0.8x),
// and to 16 clients at once (aggregate throughput, daemon CPU and peak RSS).
//
// usage: peer_serve PEER_BIN [size_mib clients]
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/aligned_buffer.h"
#include "common/net/loop.h"
#include "common/net/session.h"
#include "fileinfo/fileinfo.h"
#include "tests/support/blocking_tcp.h"
#include "tests/support/child_process.h"
#include "tests/support/proc_sample.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

using namespace lanswarm;
using namespace lanswarm::net;
using namespace std::chrono_literals;

namespace {

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Plain TCP: read the file in 4 MiB pieces and send; receive with MSG_WAITALL.
double PlainSend(const std::string& path, std::uint64_t size) {
  sockaddr_in a;
  int lfd = testing::ListenOnLoopback(&a);
  const auto t0 = std::chrono::steady_clock::now();
  std::thread sender([&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    int file = ::open(path.c_str(), O_RDONLY);
    AlignedBuffer buf(4u << 20);
    for (std::uint64_t off = 0; off < size;) {
      const ssize_t n = ::pread(file, buf.data(), buf.size(), static_cast<off_t>(off));
      if (n <= 0) break;
      for (ssize_t sent = 0; sent < n;) {
        const ssize_t s = ::send(fd, buf.data() + sent, static_cast<std::size_t>(n - sent), 0);
        if (s <= 0) break;
        sent += s;
      }
      off += static_cast<std::uint64_t>(n);
    }
    ::close(file);
    ::close(fd);
  });
  int cfd = ::accept(lfd, nullptr, nullptr);
  const std::uint64_t got = testing::ReceiveAll(cfd, size, 4u << 20);
  const double secs = Seconds(t0);
  sender.join();
  ::close(cfd);
  ::close(lfd);
  return got == size ? secs : -1;
}

// Downloads every chunk of one file from the daemon, `depth` requests in
// flight, on the same session layer as `peer get` (exact reads: each
// chunk straight into one buffer).
struct Fetcher : SessionHandler {
  FileInfo info;
  AlignedBuffer buf;
  std::uint32_t next = 0, done_chunks = 0;
  int depth = 8;
  int* finished;
  int total_clients;
  std::uint64_t* bytes;
  bool failed = false;

  void OnReady(Session& s) override {
    buf = AlignedBuffer(info.chunk_size);
    s.Send(proto::Open{1, info.id});
  }
  void Ask(Session& s) {
    while (next < info.chunk_count() && next - done_chunks < static_cast<std::uint32_t>(depth)) {
      s.Send(proto::Request{1, next++});
    }
  }
  void OnMessage(Session& s, const proto::Message& m) override {
    if (std::holds_alternative<proto::Bitfield>(m)) return Ask(s);
    failed = true;
    s.Close();
  }
  std::span<std::uint8_t> OnChunkStart(Session&, const proto::ChunkHeader& h) override {
    len_ = h.length;
    return {buf.data(), std::min<std::size_t>(buf.size(), h.length)};
  }
  void OnChunkEnd(Session& s) override {
    *bytes += len_;
    if (++done_chunks == info.chunk_count()) {
      s.Close();
      if (++*finished == total_clients) s.loop().Stop();
      return;
    }
    Ask(s);
  }
  void OnClosed(Session& s, const Status&) override {
    if (done_chunks != info.chunk_count()) {
      failed = true;
      if (++*finished == total_clients) s.loop().Stop();
    }
  }

 private:
  std::uint32_t len_ = 0;
};

double Download(const SocketAddress& daemon, const FileInfo& info, int clients, std::uint64_t* bytes) {
  auto loop = Loop::Create();
  if (!loop.ok()) return -1;
  int finished = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < clients; ++i) {
    auto f = std::make_unique<Fetcher>();
    f->info = info;
    f->finished = &finished;
    f->total_clients = clients;
    f->bytes = bytes;
    SessionOptions options;
    options.exact_reads = true;
    Session::Connect(**loop, daemon, 5s, std::move(options), std::move(f));
  }
  (void)(*loop)->Run();
  return Seconds(t0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: peer_serve PEER_BIN [size_mib clients]\n");
    return 2;
  }
  const std::string peer = argv[1];
  const std::uint64_t size = (argc > 2 ? std::stoull(argv[2]) : 1024) << 20;
  const int clients = argc > 3 ? std::stoi(argv[3]) : 16;
  testing::TempDir dir;
  const std::string file = dir.File("serve.bin");
  {
    std::ofstream out(file, std::ios::binary);
    const std::string block = testing::RandomBytes(1 << 20, 1);
    for (std::uint64_t off = 0; off < size; off += block.size()) out.write(block.data(), static_cast<std::streamsize>(block.size()));
  }
  const int port = testing::FreeLoopbackPort();
  const std::vector<std::string> common = {"--state-dir", dir.File("state"), "--listen", "127.0.0.1:" + std::to_string(port),
                                           "--coordinator", "127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()),
                                           "--log-level", "error"};
  std::vector<std::string> start = {peer, "start-server", "--foreground"};
  start.insert(start.end(), common.begin(), common.end());
  testing::ChildProcess daemon(start, dir.File("daemon.log"));
  std::vector<std::string> share = {peer, "share", "-q", file};
  share.insert(share.end(), common.begin(), common.end());
  std::this_thread::sleep_for(300ms);
  if (testing::Run(share, 120).exit_code != 0) {
    std::fprintf(stderr, "share failed\n");
    return 1;
  }
  auto info = LoadFileInfo(file + ".fileinfo");
  if (!info.ok()) return 1;
  const auto addr = *SocketAddress::Parse("127.0.0.1:" + std::to_string(port));

  std::printf("# peer daemon serving a %llu MiB file (%u chunks of %u KiB) over loopback, 3 rounds\n",
              static_cast<unsigned long long>(size >> 20), info->chunk_count(), info->chunk_size / 1024);
  double best_plain = 1e9, best_daemon = 1e9;
  for (int round = 1; round <= 3; ++round) {
    const double plain = PlainSend(file, size);
    std::uint64_t bytes = 0;
    const testing::ProcSample d0 = testing::SampleProcess(daemon.pid());
    const double served = Download(addr, *info, 1, &bytes);
    const double daemon_cpu = (testing::SampleProcess(daemon.pid()).cpu_seconds - d0.cpu_seconds) / served;
    if (plain < 0 || bytes != size) {
      std::fprintf(stderr, "transfer failed (%llu of %llu bytes)\n", static_cast<unsigned long long>(bytes),
                   static_cast<unsigned long long>(size));
      return 1;
    }
    std::printf("round %d: plain TCP %.3f s (%.0f MiB/s)   daemon %.3f s (%.0f MiB/s, daemon CPU %.2f cores)\n",
                round, plain, static_cast<double>(size >> 20) / plain, served,
                static_cast<double>(size >> 20) / served, daemon_cpu);
    best_plain = std::min(best_plain, plain);
    best_daemon = std::min(best_daemon, served);
  }
  std::printf("best: plain %.0f MiB/s, daemon %.0f MiB/s, ratio %.2fx (target >= 0.80x)\n",
              static_cast<double>(size >> 20) / best_plain, static_cast<double>(size >> 20) / best_daemon,
              best_plain / best_daemon);

  const testing::ProcSample before = testing::SampleProcess(daemon.pid());
  std::uint64_t bytes = 0;
  const double secs = Download(addr, *info, clients, &bytes);
  const testing::ProcSample after = testing::SampleProcess(daemon.pid());
  std::printf("%d clients at once: %.1f GiB in %.2f s = %.0f MiB/s aggregate; daemon CPU %.2f cores, peak RSS %.1f MiB\n",
              clients, static_cast<double>(bytes) / (1 << 30), secs, static_cast<double>(bytes >> 20) / secs,
              (after.cpu_seconds - before.cpu_seconds) / secs, static_cast<double>(after.peak_rss_bytes) / (1 << 20));
  daemon.Signal(SIGTERM);
  const auto code = daemon.Wait(30s);
  return bytes == size * static_cast<std::uint64_t>(clients) && code == 0 ? 0 : 1;
}
