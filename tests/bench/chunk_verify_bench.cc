// The CPU cost of checking one chunk, per digest and chunk size, on one
// core: what a getter pays per CHUNK (FetchSession streams each 1 MiB piece
// into a ChunkHasher as it arrives) and what a holder pays per send
// (ServeSession hashes the chunk it read before sending it). The data is in
// a page-aligned buffer in cache, as a piece just received is. Figures are
// in doc/benchmarks.md.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "common/aligned_buffer.h"
#include "fileinfo/chunk_hasher.h"

using namespace lanswarm;

namespace {

constexpr std::size_t kPiece = 1u << 20;  // FetchSession's piece size

struct Cost {
  double stream_us, oneshot_us;
};

// Microseconds per chunk, the best of 7 runs of enough chunks for ~64 MiB.
Cost Measure(DigestAlgorithm digest, std::size_t chunk, const AlignedBuffer& piece) {
  const int n = static_cast<int>(std::max<std::size_t>(4, (64u << 20) / chunk));
  double best_stream = 1e18, best_oneshot = 1e18;
  volatile std::uint8_t sink = 0;
  ChunkHasher hasher(digest);
  for (int run = 0; run < 7; ++run) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
      // The same piece buffer again and again, as the receive buffer is.
      for (std::size_t at = 0; at < chunk; at += kPiece) hasher.Update(piece.data(), std::min(kPiece, chunk - at));
      sink = sink ^ hasher.Finish().bytes()[0];
    }
    auto t1 = std::chrono::steady_clock::now();
    best_stream = std::min(best_stream, std::chrono::duration<double, std::micro>(t1 - t0).count() / n);
    if (chunk <= piece.size()) {
      t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) sink = sink ^ HashChunk(digest, piece.data(), chunk).bytes()[0];
      t1 = std::chrono::steady_clock::now();
      best_oneshot = std::min(best_oneshot, std::chrono::duration<double, std::micro>(t1 - t0).count() / n);
    }
  }
  return {best_stream, best_oneshot};
}

}  // namespace

int main() {
  AlignedBuffer piece(16u << 20);
  for (std::size_t i = 0; i < piece.size(); ++i) piece.data()[i] = static_cast<std::uint8_t>(i * 2654435761u >> 13);
  std::printf("# chunk verify cost, one core, data in cache; stream = 1 MiB pieces into ChunkHasher (getter),\n"
              "# one-shot = HashChunk of the whole chunk (holder, before each send)\n");
  std::printf("%-8s %10s %14s %12s %14s\n", "digest", "chunk", "stream us", "GiB/s", "one-shot us");
  for (DigestAlgorithm digest : {DigestAlgorithm::kXxh3, DigestAlgorithm::kSha256, DigestAlgorithm::kBlake2b}) {
    for (std::size_t chunk : {std::size_t{256} << 10, std::size_t{2} << 20, std::size_t{16} << 20}) {
      const Cost r = Measure(digest, chunk, piece);
      std::printf("%-8s %7zu KiB %14.1f %12.2f %14.1f\n", std::string(DigestName(digest)).c_str(), chunk >> 10,
                  r.stream_us, chunk / (r.stream_us * 1e-6) / (1u << 30), r.oneshot_us);
    }
  }
  return 0;
}
