// Fixtures for the tests that run `peer get` against real daemons
// (tests/cli): a test file with its .fileinfo, the JSON events a getter
// prints, and holders that lie (FakeHolder: garbage or chosen bytes).
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "common/auth/handshake.h"
#include "common/bitfield.h"
#include "common/proto/codec.h"
#include "common/proto/frame_buffer.h"
#include "fileinfo/fileinfo.h"
#include "tests/support/blocking_tcp.h"
#include "tests/support/cluster.h"
#include "tests/support/scripted_client.h"
#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

// The test file and its .fileinfo made by `fileinfo create --digest`
// (256 KiB chunks, so even small files have many of them).
struct TestFile {
  TempDir dir;
  std::string data, path, fileinfo;
  FileInfo info;
  TestFile(std::size_t size, std::uint64_t seed, const std::string& digest = "xxh3")
      : TestFile(RandomBytes(size, seed), digest) {}
  TestFile(std::string bytes, const std::string& digest)
      : data(std::move(bytes)), path(dir.File("data.bin")), fileinfo(dir.File("data.bin.fileinfo")) {
    WriteTestFile(path, data);
    auto r = Run({BinPath("fileinfo"), "create", "-q", "--chunk-size", "256K", "--digest", digest, path});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto loaded = LoadFileInfo(fileinfo);
    REQUIRE(loaded.ok());
    info = std::move(*loaded);
  }
};

inline bool Exists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The JSON events among `text` (stdout of `peer get --json`, possibly mixed
// with log lines); a line still being written is skipped.
inline std::vector<nlohmann::json> Events(const std::string& text) {
  std::vector<nlohmann::json> events;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] != '{') continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) events.push_back(std::move(j));
  }
  return events;
}

// The "end" event, which must be the last line.
inline nlohmann::json EndEvent(const std::string& text) {
  auto events = Events(text);
  REQUIRE_FALSE(events.empty());
  REQUIRE(events.back().value("event", "") == "end");
  return events.back();
}

// bytes_verified of the last progress event in a getter's log.
inline std::uint64_t VerifiedSoFar(const std::string& log_path) {
  auto events = Events(ReadTestFile(log_path));
  return events.empty() ? 0 : events.back().value("bytes_verified", std::uint64_t{0});
}

// A holder that lies: it reports itself to the coordinator as holding a
// whole copy, answers OPEN with a full BITFIELD and every REQUEST with a
// CHUNK of the right length full of garbage, or of what `payload` makes. Plain blocking sockets in one
// thread; connections are served one after another.
class FakeHolder {
 public:
  // The bytes it sends for chunk `index`, `len` of them.
  using Payload = std::function<std::string(std::uint32_t index, std::uint32_t len)>;
  FakeHolder(const FileInfo& info, int coordinator_port, Payload payload = nullptr)
      : info_(info), payload_(std::move(payload)) {
    sockaddr_in addr;
    listen_fd_ = ListenOnLoopback(&addr);
    REQUIRE(listen_fd_ >= 0);
    port_ = ntohs(addr.sin_port);
    coordinator_ = std::make_unique<ScriptedClient>(coordinator_port);
    REQUIRE(coordinator_->Handshake(99, proto::Role::kPeer).ok());
    Report();
    thread_ = std::thread([this] { Loop(); });
  }
  FakeHolder(const FakeHolder&) = delete;
  FakeHolder& operator=(const FakeHolder&) = delete;
  ~FakeHolder() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void Report() {
    proto::Report r;
    r.listen.family = 0;  // "the address of this connection, at this port"
    r.listen.port = static_cast<std::uint16_t>(port_);
    r.files.push_back({info_.id, proto::FileState::kWhole});
    coordinator_->Send(r);
  }

  // Reports every half second (the coordinator drops a silent peer after
  // 3 s) and serves whoever connects.
  void Loop() {
    auto next_report = std::chrono::steady_clock::now();
    while (!stop_) {
      if (std::chrono::steady_clock::now() >= next_report) {
        Report();
        next_report += std::chrono::milliseconds(500);
      }
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      timeval tv{5, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      Serve(fd, &next_report);
      ::close(fd);
    }
  }

  bool SendAll(int fd, const void* data, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    while (n > 0) {
      const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
      if (k <= 0) return false;
      p += k;
      n -= static_cast<std::size_t>(k);
    }
    return true;
  }

  void Serve(int fd, std::chrono::steady_clock::time_point* next_report) {
    proto::FrameBuffer frames;
    const std::string garbage = RandomBytes(info_.chunk_size, 666);
    static const auth::KeyRing kOpen;
    const auth::Identity me = ScriptedClient::IdentityOf(99);  // the id it reports under
    auth::AcceptorHandshake hs(kOpen, me, proto::Hello{});
    while (!stop_) {
      if (std::chrono::steady_clock::now() >= *next_report) {
        Report();
        *next_report += std::chrono::milliseconds(500);
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      std::uint8_t buf[65536];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;  // the getter closed (it banned us)
      frames.Append(ByteView(buf, static_cast<std::size_t>(n)));
      for (;;) {
        proto::Message m;
        const proto::Decoded d = frames.Next(&m);
        if (d.state == proto::DecodeState::kNeedMore) break;
        if (d.state == proto::DecodeState::kError) return;
        Bytes out;
        if (const auto* hello = std::get_if<proto::Hello>(&m)) {
          auto reply = hs.OnHello(*hello);
          if (!reply.ok()) return;
          out = proto::EncodeFrame(*reply);
        } else if (const auto* a = std::get_if<proto::Auth>(&m)) {
          if (!hs.OnAuth(*a).ok()) return;
        } else if (const auto* open = std::get_if<proto::Open>(&m)) {
          out = proto::EncodeFrame(
              proto::Bitfield{open->slot, info_.chunk_count(), Bitfield(info_.chunk_count(), true).bytes()});
        } else if (const auto* req = std::get_if<proto::Request>(&m)) {
          ++requests_;
          const std::uint32_t len = info_.layout().length(req->index);
          out = proto::EncodeFrame(proto::ChunkHeader{req->slot, req->index, len});
          if (payload_) {
            const std::string bytes = payload_(req->index, len);
            REQUIRE(bytes.size() == len);
            out.insert(out.end(), bytes.begin(), bytes.end());
          } else {
            out.insert(out.end(), garbage.begin(), garbage.begin() + len);
          }
        } else if (std::holds_alternative<proto::Error>(m)) {
          return;
        }
        if (!out.empty() && !SendAll(fd, out.data(), out.size())) return;
      }
    }
  }

  FileInfo info_;
  Payload payload_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::unique_ptr<ScriptedClient> coordinator_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

// A coordinator, an honest holder (slow, so the liar surely gets requests)
// and a FakeHolder that sends corrupt chunks (garbage unless `payload`
// says), both listed as holders.
struct HonestAndLiar {
  MiniCoordinator co;
  TestFile file;
  Peer honest;
  std::unique_ptr<FakeHolder> fake;
  HonestAndLiar(std::size_t size, std::uint64_t seed) : HonestAndLiar(RandomBytes(size, seed), "xxh3") {}
  // The file's bytes, its --digest, and what the liar serves.
  HonestAndLiar(std::string data, const std::string& digest, FakeHolder::Payload payload = nullptr)
      : file(std::move(data), digest), honest(co.port, "upload_rate = \"2M\"\n") {
    honest.Start();
    honest.Share(file.path, file.fileinfo);
    fake = std::make_unique<FakeHolder>(file.info, co.port, std::move(payload));
    REQUIRE(WaitFor([&] { return co.Query(file.info.id).size() == 2; }, std::chrono::seconds(5)));
  }
};

}  // namespace lanswarm::testing
