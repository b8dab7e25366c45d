// Hashing real files: create and verify, against xxHash called directly.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <catch2/catch.hpp>
#include <sodium.h>
#include <xxhash.h>

#include "fileinfo/chunk_hasher.h"
#include "fileinfo/scan.h"
#include "tests/support/temp_dir.h"

namespace lanswarm {

namespace {

constexpr std::uint32_t kChunk = 256 * 1024;

// The expected fileinfo computed the plain way, one call per chunk.
FileInfo Reference(const std::string& data, std::uint32_t chunk_size, const std::string& name) {
  FileInfo info;
  info.name = name;
  info.size = data.size();
  info.chunk_size = chunk_size;
  for (std::size_t off = 0; off < data.size(); off += chunk_size) {
    info.chunks.Append(
        ChunkDigest::FromXxh3(XXH3_64bits(data.data() + off, std::min<std::size_t>(chunk_size, data.size() - off))));
  }
  XXH128_hash_t h = XXH3_128bits(data.data(), data.size());
  info.id = FileId::FromHash128(h.high64, h.low64);
  return info;
}

// The same for a cryptographic digest, straight from libsodium: each chunk's
// digest, then the id over the digests (doc/fileinfo.md).
FileInfo CryptoReference(const std::string& data, std::uint32_t chunk_size, const std::string& name,
                         DigestAlgorithm digest) {
  FileInfo info;
  info.name = name;
  info.size = data.size();
  info.chunk_size = chunk_size;
  info.chunks = ChunkDigestList(digest);
  auto hash = [&](const void* p, std::size_t len) {
    std::uint8_t out[32];
    if (digest == DigestAlgorithm::kSha256) {
      crypto_hash_sha256(out, static_cast<const unsigned char*>(p), len);
    } else {
      crypto_generichash(out, sizeof out, static_cast<const unsigned char*>(p), len, nullptr, 0);
    }
    return Bytes(out, out + sizeof out);
  };
  Bytes all;
  for (std::size_t off = 0; off < data.size(); off += chunk_size) {
    const Bytes d = hash(data.data() + off, std::min<std::size_t>(chunk_size, data.size() - off));
    info.chunks.Append(ChunkDigest(digest, d));
    all.insert(all.end(), d.begin(), d.end());
  }
  const Bytes id = hash(all.data(), all.size());
  std::copy_n(id.begin(), FileId::kSize, info.id.bytes.begin());
  return info;
}

constexpr DigestAlgorithm kCrypto[] = {DigestAlgorithm::kSha256, DigestAlgorithm::kBlake2b};

}  // namespace

TEST_CASE("CreateFileInfo: matches xxHash for zero, one, exact and short-tail files", "[scan]") {
  testing::TempDir dir;
  for (std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{kChunk - 1}, std::size_t{kChunk},
                           std::size_t{16 * kChunk}, std::size_t{37 * kChunk + 12345}}) {
    INFO(size);
    const std::string data = testing::RandomBytes(size, size + 1);
    const std::string path = dir.File("f.bin");
    testing::WriteTestFile(path, data);
    auto info = CreateFileInfo(path, 0);
    REQUIRE(info.ok());
    CHECK(*info == Reference(data, kChunk, "f.bin"));
    CHECK(ValidateFileInfo(*info).ok());
  }
}

TEST_CASE("CreateFileInfo: same result for any thread count and memory budget", "[scan]") {
  testing::TempDir dir;
  const std::string data = testing::RandomBytes(50 * kChunk + 999, 7);
  testing::WriteTestFile(dir.File("f"), data);
  const FileInfo want = Reference(data, kChunk, "f");
  for (unsigned threads : {1u, 2u, 3u, 8u}) {
    for (std::size_t budget : {std::size_t{1}, std::size_t{8u << 20}, std::size_t{64u << 20}}) {
      INFO(threads << " threads, budget " << budget);
      HashOptions opts;
      opts.threads = threads;
      opts.memory_budget = budget;
      std::uint64_t last = 0, calls = 0;
      bool ordered = true;
      opts.progress = [&](std::uint64_t done, std::uint64_t total) {
        ordered = ordered && done > last && total == data.size();
        last = done;
        ++calls;
      };
      auto info = CreateFileInfo(dir.File("f"), 0, kDefaultDigest, opts);
      REQUIRE(info.ok());
      CHECK(*info == want);
      CHECK(ordered);
      CHECK(last == data.size());
      CHECK(calls == (data.size() + kHashPiece - 1) / kHashPiece);
    }
  }
}

TEST_CASE("CreateFileInfo: an explicit chunk size is used", "[scan]") {
  testing::TempDir dir;
  const std::string data = testing::RandomBytes(5 * 1024 * 1024 + 3, 9);
  testing::WriteTestFile(dir.File("f"), data);
  auto info = CreateFileInfo(dir.File("f"), 1 << 20);
  REQUIRE(info.ok());
  CHECK(info->chunk_count() == 6);
  CHECK(*info == Reference(data, 1 << 20, "f"));
  CHECK(CreateFileInfo(dir.File("f"), 3000).status().message().find("not a power of two") != std::string::npos);
}

TEST_CASE("CreateFileInfo: chunks larger than the read piece are hashed across pieces", "[scan]") {
  testing::TempDir dir;
  // 4 MiB chunks span four 1 MiB pieces; the last chunk is 2 MiB + 5 bytes
  // and so ends inside a piece.
  const std::string data = testing::RandomBytes(10 * 1024 * 1024 + 5, 10);
  testing::WriteTestFile(dir.File("f"), data);
  for (unsigned threads : {1u, 2u, 3u}) {
    INFO(threads);
    HashOptions opts;
    opts.threads = threads;
    auto info = CreateFileInfo(dir.File("f"), 4 << 20, kDefaultDigest, opts);
    REQUIRE(info.ok());
    CHECK(info->chunk_count() == 3);
    CHECK(*info == Reference(data, 4 << 20, "f"));
  }
}

TEST_CASE("CreateFileInfo: refuses directories, missing files and bad names", "[scan]") {
  testing::TempDir dir;
  CHECK(CreateFileInfo(dir.path(), 0).status().message().find("not a regular file") != std::string::npos);
  CHECK(CreateFileInfo(dir.File("missing"), 0).status().code() == Status::Code::kNotFound);
  testing::WriteTestFile(dir.File("tab\there"), "x");
  CHECK(CreateFileInfo(dir.File("tab\there"), 0).status().message().find("control character") != std::string::npos);
}

TEST_CASE("HashFile: a file shorter than its layout is an error, not garbage", "[scan]") {
  testing::TempDir dir;
  testing::WriteTestFile(dir.File("f"), testing::RandomBytes(kChunk, 1));
  int fd = ::open(dir.File("f").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  auto r = HashFile(fd, ChunkLayout(3 * kChunk, kChunk), kDefaultDigest, "f");
  ::close(fd);
  CHECK(r.status().code() == Status::Code::kCorruption);
  CHECK(r.status().message().find("ends at byte 262144") != std::string::npos);
}

TEST_CASE("VerifyFile: whole file passes", "[scan]") {
  testing::TempDir dir;
  const std::string data = testing::RandomBytes(10 * kChunk + 100, 3);
  testing::WriteTestFile(dir.File("f"), data);
  auto report = VerifyFile(dir.File("f"), Reference(data, kChunk, "f"));
  REQUIRE(report.ok());
  CHECK(report->whole());
  CHECK(report->bad_chunks.empty());
}

TEST_CASE("VerifyFile: finds one flipped byte in a middle chunk and in the short last chunk", "[scan]") {
  testing::TempDir dir;
  const std::string data = testing::RandomBytes(10 * kChunk + 100, 4);
  const FileInfo info = Reference(data, kChunk, "f");
  std::string damaged = data;
  damaged[5 * kChunk + 4321] ^= 0x01;  // middle chunk 5
  damaged[10 * kChunk + 99] ^= 0x80;   // last byte of the 100-byte last chunk 10
  testing::WriteTestFile(dir.File("f"), damaged);
  auto report = VerifyFile(dir.File("f"), info);
  REQUIRE(report.ok());
  CHECK_FALSE(report->whole());
  CHECK(report->bad_chunks == std::vector<std::uint32_t>{5, 10});
  CHECK_FALSE(report->id_matches);
}

TEST_CASE("VerifyFile: a truncated file has its missing and cut chunks bad", "[scan]") {
  testing::TempDir dir;
  const std::string data = testing::RandomBytes(6 * kChunk, 5);
  const FileInfo info = Reference(data, kChunk, "f");
  testing::WriteTestFile(dir.File("f"), data.substr(0, 3 * kChunk + 10));
  auto report = VerifyFile(dir.File("f"), info);
  REQUIRE(report.ok());
  CHECK(report->actual_size == 3 * kChunk + 10);
  CHECK(report->bad_chunks == std::vector<std::uint32_t>{3, 4, 5});
  CHECK_FALSE(report->whole());
}

TEST_CASE("VerifyFile: extra bytes at the end make the file damaged", "[scan]") {
  testing::TempDir dir;
  const std::string data = testing::RandomBytes(2 * kChunk, 6);
  const FileInfo info = Reference(data, kChunk, "f");
  testing::WriteTestFile(dir.File("f"), data + "tail");
  auto report = VerifyFile(dir.File("f"), info);
  REQUIRE(report.ok());
  CHECK(report->bad_chunks.empty());
  CHECK_FALSE(report->whole());
}

TEST_CASE("VerifyFile: zero-byte file against its fileinfo", "[scan]") {
  testing::TempDir dir;
  testing::WriteTestFile(dir.File("empty"), "");
  auto info = CreateFileInfo(dir.File("empty"), 0);
  REQUIRE(info.ok());
  CHECK(info->chunk_count() == 0);
  auto report = VerifyFile(dir.File("empty"), *info);
  REQUIRE(report.ok());
  CHECK(report->whole());
}

}  // namespace lanswarm

namespace lanswarm {

TEST_CASE("CreateFileInfo: SHA-256 and BLAKE2b match libsodium for every size, chunk size and thread count",
          "[scan][digest]") {
  testing::TempDir dir;
  struct Row {
    std::size_t size;
    std::uint32_t chunk_size;  // 4 MiB: chunks spanning four read pieces
  };
  const Row rows[] = {{0, kChunk},          {1, kChunk},           {kChunk, kChunk},
                      {37 * kChunk + 12345, kChunk}, {10 * 1024 * 1024 + 5, 4 << 20}, {(3 << 20) + 9, 1 << 20}};
  for (DigestAlgorithm digest : kCrypto) {
    for (const Row& row : rows) {
      const std::string data = testing::RandomBytes(row.size, row.size + 3);
      testing::WriteTestFile(dir.File("f"), data);
      const FileInfo want = CryptoReference(data, row.chunk_size, "f", digest);
      for (unsigned threads : {1u, 2u, 3u}) {
        INFO(DigestName(digest) << ", " << row.size << " bytes in chunks of " << row.chunk_size << ", " << threads
                                << " threads");
        HashOptions opts;
        opts.threads = threads;
        std::uint64_t last = 0;
        bool growing = true;
        opts.progress = [&](std::uint64_t done, std::uint64_t total) {
          growing = growing && done > last && total == data.size();
          last = done;
        };
        auto info = CreateFileInfo(dir.File("f"), row.chunk_size, digest, opts);
        REQUIRE(info.ok());
        CHECK(info->digest() == digest);
        CHECK(*info == want);
        CHECK(growing);
        CHECK(last == data.size());
      }
    }
  }
}

TEST_CASE("VerifyFile: a SHA-256 or BLAKE2b file finds one flipped byte and a cut tail", "[scan][digest]") {
  testing::TempDir dir;
  const std::string data = testing::RandomBytes(6 * kChunk + 100, 8);
  for (DigestAlgorithm digest : kCrypto) {
    INFO(DigestName(digest));
    const FileInfo info = CryptoReference(data, kChunk, "f", digest);
    testing::WriteTestFile(dir.File("f"), data);
    auto whole = VerifyFile(dir.File("f"), info);
    REQUIRE(whole.ok());
    CHECK(whole->whole());

    std::string damaged = data;
    damaged[2 * kChunk + 1] ^= 0x10;
    testing::WriteTestFile(dir.File("f"), damaged.substr(0, 5 * kChunk + 3));
    auto report = VerifyFile(dir.File("f"), info);
    REQUIRE(report.ok());
    CHECK(report->bad_chunks == std::vector<std::uint32_t>{2, 5, 6});
    CHECK_FALSE(report->id_matches);
  }
}

TEST_CASE("HashFile: a SHA-256 file shorter than its layout is an error, with any thread count", "[scan][digest]") {
  testing::TempDir dir;
  testing::WriteTestFile(dir.File("f"), testing::RandomBytes(5 * kChunk + 1, 1));
  int fd = ::open(dir.File("f").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  for (unsigned threads : {1u, 2u}) {
    HashOptions opts;
    opts.threads = threads;
    auto r = HashFile(fd, ChunkLayout(12 * kChunk, kChunk), DigestAlgorithm::kSha256, "f", opts);
    CHECK(r.status().code() == Status::Code::kCorruption);
    CHECK(r.status().message().find("ends at byte") != std::string::npos);
  }
  ::close(fd);
}

}  // namespace lanswarm
