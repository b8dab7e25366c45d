// <out>.partial: reservation, refusal to overwrite, resume that trusts only
// chunks that hash right, writing pieces, rechecking a chunk on disk, and the
// final rename.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include <catch2/catch.hpp>

#include "fileinfo/scan.h"
#include "peer/storage.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::peer {

namespace {

using testing::ReadTestFile;
using testing::TempDir;
using testing::WriteTestFile;

constexpr std::uint32_t kChunk = 256 << 10;

FileInfo InfoOf(const std::string& path, DigestAlgorithm digest = kDefaultDigest) {
  auto info = CreateFileInfo(path, kChunk, digest);
  REQUIRE(info.ok());
  return *info;
}

}  // namespace

TEST_CASE("storage: a new .partial is reserved at the final size and holds nothing", "[storage]") {
  TempDir dir;
  const std::string data = testing::RandomBytes(3 * kChunk + 100, 1);
  WriteTestFile(dir.File("src"), data);
  const FileInfo info = InfoOf(dir.File("src"));
  auto r = ReservePartial(dir.File("out"), info, false);
  REQUIRE(r.ok());
  CHECK(r->partial == dir.File("out") + ".partial");
  CHECK_FALSE(r->resumed);
  CHECK(r->held.size() == 4);
  CHECK(r->held.none());
  struct stat st;
  REQUIRE(::stat(r->partial.c_str(), &st) == 0);
  CHECK(static_cast<std::uint64_t>(st.st_size) == info.size);
  CHECK(static_cast<std::uint64_t>(st.st_blocks) * 512 >= info.size);  // allocated, not sparse
}

// A .partial resumed from another disk (or written where fallocate is
// missing) is sparse: its size is the whole file, its blocks are only the
// chunks it holds. The error must say how much more is needed, not report
// the size as "reserved".
TEST_CASE("storage: a full disk says how much more is needed and how much is free", "[storage]") {
  CHECK(NoSpaceMessage("/d/x.partial", 24u << 20, 0, 16u << 20, ENOSPC) ==
        "not enough space for /d/x.partial: it needs 24.0 MiB and 16.0 MiB are free (No space left on device); "
        "free some space and run the same command again");
  CHECK(NoSpaceMessage("/d/x.partial", 24u << 20, 10u << 20, 4608u << 10, ENOSPC) ==
        "not enough space for /d/x.partial: it needs 14.0 MiB more (24.0 MiB in all, 10.0 MiB of it on disk "
        "already) and 4.50 MiB are free (No space left on device); free some space and run the same command again");
  // Blocks past the size (file system rounding) do not make the need negative.
  CHECK(NoSpaceMessage("/d/x.partial", 1000, 4096, 0, EDQUOT) ==
        "not enough space for /d/x.partial: it needs 0 B more (1000 B in all, 1000 B of it on disk already) and "
        "0 B are free (Disk quota exceeded); free some space and run the same command again");
}

TEST_CASE("storage: a piece is written whole at its offset", "[storage]") {
  TempDir dir;
  WriteTestFile(dir.File("out.partial"), std::string(16, '.'));
  const int fd = ::open(dir.File("out.partial").c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  const std::string piece = "chunk";
  CHECK(WritePiece(fd, dir.File("out.partial"), 4, reinterpret_cast<const std::uint8_t*>(piece.data()), piece.size())
            .ok());
  CHECK(WritePiece(fd, dir.File("out.partial"), 0, nullptr, 0).ok());  // nothing to write
  ::close(fd);
  CHECK(ReadTestFile(dir.File("out.partial")) == "....chunk.......");
}

// The disk filling up in the middle of a download is not the reservation's
// "not enough space" (that is caught before the first byte): the .partial
// stays for a resume, and the advice is the same.
TEST_CASE("storage: a write to a full disk says the .partial is kept and to free space", "[storage]") {
  const int fd = ::open("/dev/full", O_WRONLY);
  if (fd < 0) {
    WARN("no /dev/full here: " << std::strerror(errno));
    return;
  }
  const std::uint8_t bytes[8] = {};
  Status s = WritePiece(fd, "/d/x.partial", 0, bytes, sizeof bytes);
  ::close(fd);
  CHECK(s.code() == Status::Code::kIOError);
  CHECK(s.message() ==
        "disk full writing /d/x.partial: No space left on device; the .partial is kept: free some space and run the "
        "same command again");
}

TEST_CASE("storage: any other write error says the .partial is kept and to run it again", "[storage]") {
  TempDir dir;
  WriteTestFile(dir.File("x.partial"), "ro");
  const int fd = ::open(dir.File("x.partial").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  const std::uint8_t bytes[2] = {1, 2};
  Status s = WritePiece(fd, "/d/x.partial", 0, bytes, sizeof bytes);
  ::close(fd);
  CHECK(s.code() == Status::Code::kIOError);
  CHECK(s.message() == "error writing /d/x.partial: Bad file descriptor; the .partial is kept: run the same command again");
}

TEST_CASE("storage: a chunk on disk is checked against its hash, short or damaged ones fail", "[storage]") {
  TempDir dir;
  const std::string data = testing::RandomBytes(2 * kChunk + 100, 6);
  WriteTestFile(dir.File("src"), data);
  const FileInfo info = InfoOf(dir.File("src"));
  std::string copy = data;
  copy[kChunk + 7] ^= 1;                                 // chunk 1 damaged
  WriteTestFile(dir.File("out.partial"), copy.substr(0, 2 * kChunk + 50));  // chunk 2 cut short
  const int fd = ::open(dir.File("out.partial").c_str(), O_RDONLY);
  REQUIRE(fd >= 0);
  const bool expected[] = {true, false, false};
  for (std::uint32_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    const Result<bool> same = ChunkOnDiskMatches(fd, info, i);
    REQUIRE(same.ok());
    CHECK(*same == expected[i]);
  }
  ::close(fd);
  const int wronly = ::open(dir.File("out.partial").c_str(), O_WRONLY);
  REQUIRE(wronly >= 0);
  CHECK_FALSE(ChunkOnDiskMatches(wronly, info, 0).ok());  // unreadable: an error, not a mismatch
  ::close(wronly);
}

TEST_CASE("storage: a chunk on disk of a SHA-256 or BLAKE2b file is checked with that digest", "[storage][digest]") {
  TempDir dir;
  const std::string data = testing::RandomBytes(2 * kChunk + 100, 9);
  WriteTestFile(dir.File("src"), data);
  for (DigestAlgorithm digest : {DigestAlgorithm::kSha256, DigestAlgorithm::kBlake2b}) {
    CAPTURE(DigestName(digest));
    const FileInfo info = InfoOf(dir.File("src"), digest);
    std::string copy = data;
    copy[2 * kChunk + 99] ^= 0x80;  // the last byte of the short last chunk
    WriteTestFile(dir.File("out.partial"), copy);
    const int fd = ::open(dir.File("out.partial").c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    const bool expected[] = {true, true, false};
    for (std::uint32_t i = 0; i < 3; ++i) {
      CAPTURE(i);
      const Result<bool> same = ChunkOnDiskMatches(fd, info, i);
      REQUIRE(same.ok());
      CHECK(*same == expected[i]);
    }
    ::close(fd);
  }
}

TEST_CASE("storage: resume of a SHA-256 file keeps only chunks whose SHA-256 matches", "[storage][digest]") {
  TempDir dir;
  const std::string data = testing::RandomBytes(4 * kChunk, 10);
  WriteTestFile(dir.File("src"), data);
  const FileInfo info = InfoOf(dir.File("src"), DigestAlgorithm::kSha256);
  std::string partial = data;
  partial[kChunk + 5] ^= 1;                                     // chunk 1 damaged
  partial.replace(3 * kChunk, kChunk, std::string(kChunk, '\0'));  // chunk 3 never written
  WriteTestFile(dir.File("out.partial"), partial);
  auto r = ReservePartial(dir.File("out"), info, false);
  REQUIRE(r.ok());
  CHECK(r->resumed);
  CHECK(r->held.has(0));
  CHECK_FALSE(r->held.has(1));
  CHECK(r->held.has(2));
  CHECK_FALSE(r->held.has(3));
}

TEST_CASE("storage: a chunk larger than the read unit is checked in pieces", "[storage]") {
  TempDir dir;
  constexpr std::uint32_t kBig = 4u << 20;  // four 1 MiB reads
  const std::string data = testing::RandomBytes(kBig + 10, 7);
  WriteTestFile(dir.File("src"), data);
  auto info = CreateFileInfo(dir.File("src"), kBig);
  REQUIRE(info.ok());
  std::string copy = data;
  WriteTestFile(dir.File("good.partial"), copy);
  copy[kBig - 1] ^= 1;  // in the last piece of chunk 0
  WriteTestFile(dir.File("bad.partial"), copy);
  for (const auto& [name, want] : {std::pair{"good.partial", true}, std::pair{"bad.partial", false}}) {
    CAPTURE(name);
    const int fd = ::open(dir.File(name).c_str(), O_RDONLY);
    REQUIRE(fd >= 0);
    const Result<bool> same = ChunkOnDiskMatches(fd, *info, 0);
    ::close(fd);
    REQUIRE(same.ok());
    CHECK(*same == want);
  }
}

TEST_CASE("storage: an existing output is refused without force", "[storage]") {
  TempDir dir;
  WriteTestFile(dir.File("src"), testing::RandomBytes(kChunk, 2));
  const FileInfo info = InfoOf(dir.File("src"));
  WriteTestFile(dir.File("out"), "keep me");
  auto r = ReservePartial(dir.File("out"), info, false);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("exists; use --force") != std::string::npos);
  CHECK(ReadTestFile(dir.File("out")) == "keep me");
  CHECK(ReservePartial(dir.File("out"), info, true).ok());
  CHECK(ReadTestFile(dir.File("out")) == "keep me");  // replaced only at the final rename
}

TEST_CASE("storage: a missing directory or a directory as output is a clear error", "[storage]") {
  TempDir dir;
  WriteTestFile(dir.File("src"), testing::RandomBytes(kChunk, 3));
  const FileInfo info = InfoOf(dir.File("src"));
  auto missing = ReservePartial(dir.File("nope/out"), info, false);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("no such directory") != std::string::npos);
  auto is_dir = ReservePartial(dir.path(), info, true);
  REQUIRE_FALSE(is_dir.ok());
  CHECK(is_dir.status().message().find("is a directory") != std::string::npos);
}

TEST_CASE("storage: resume keeps only chunks whose checksum matches", "[storage]") {
  TempDir dir;
  const std::string data = testing::RandomBytes(4 * kChunk, 4);
  WriteTestFile(dir.File("src"), data);
  const FileInfo info = InfoOf(dir.File("src"));
  // A .partial from an earlier run: chunks 0 and 2 written, chunk 3 written
  // but damaged, chunk 1 never written.
  std::string partial(data.size(), '\0');
  partial.replace(0, kChunk, data.substr(0, kChunk));
  partial.replace(2 * kChunk, kChunk, data.substr(2 * kChunk, kChunk));
  partial.replace(3 * kChunk, kChunk, data.substr(3 * kChunk, kChunk));
  partial[3 * kChunk + 5] ^= 1;
  WriteTestFile(dir.File("out.partial"), partial);
  auto r = ReservePartial(dir.File("out"), info, false);
  REQUIRE(r.ok());
  CHECK(r->resumed);
  CHECK(r->held.has(0));
  CHECK_FALSE(r->held.has(1));
  CHECK(r->held.has(2));
  CHECK_FALSE(r->held.has(3));
}

TEST_CASE("storage: a short or long .partial is resized, its good chunks kept", "[storage]") {
  TempDir dir;
  const std::string data = testing::RandomBytes(2 * kChunk, 5);
  WriteTestFile(dir.File("src"), data);
  const FileInfo info = InfoOf(dir.File("src"));
  WriteTestFile(dir.File("short.partial"), data.substr(0, kChunk + 10));
  auto s = ReservePartial(dir.File("short"), info, false);
  REQUIRE(s.ok());
  CHECK(s->held.has(0));
  CHECK_FALSE(s->held.has(1));
  WriteTestFile(dir.File("long.partial"), data + "trailing garbage");
  auto l = ReservePartial(dir.File("long"), info, false);
  REQUIRE(l.ok());
  CHECK(l->held.all());
  CHECK(ReadTestFile(dir.File("long.partial")).size() == data.size());
}

TEST_CASE("storage: commit renames the .partial to the output", "[storage]") {
  TempDir dir;
  WriteTestFile(dir.File("out.partial"), "bytes");
  WriteTestFile(dir.File("out"), "old");
  const int fd = ::open(dir.File("out.partial").c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  CHECK(CommitPartial(fd, dir.File("out.partial"), dir.File("out")).ok());
  ::close(fd);
  CHECK(ReadTestFile(dir.File("out")) == "bytes");
  CHECK(::access(dir.File("out.partial").c_str(), F_OK) != 0);
}

// A symlink or hard link planted at <out>.partial by someone who can write
// to the directory must never be written through (issue: the download used
// to truncate and overwrite the link's target).
TEST_CASE("storage: a .partial that is a symlink, dangling or not, is refused and its target untouched", "[storage]") {
  TempDir dir;
  const std::string data = testing::RandomBytes(2 * kChunk, 9);
  WriteTestFile(dir.File("src"), data);
  const FileInfo info = InfoOf(dir.File("src"));
  WriteTestFile(dir.File("victim"), "precious");
  REQUIRE(::symlink(dir.File("victim").c_str(), dir.File("out.partial").c_str()) == 0);
  auto r = ReservePartial(dir.File("out"), info, false);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("symbolic link") != std::string::npos);
  CHECK(ReadTestFile(dir.File("victim")) == "precious");
  auto opened = OpenPartial(dir.File("out.partial"));
  CHECK_FALSE(opened.ok());

  REQUIRE(::symlink(dir.File("nowhere").c_str(), dir.File("dangling.partial").c_str()) == 0);
  auto dangling = ReservePartial(dir.File("dangling"), info, false);
  CHECK_FALSE(dangling.ok());
  CHECK(::access(dir.File("nowhere").c_str(), F_OK) != 0);  // not created through the link
}

TEST_CASE("storage: a .partial with a second name (hard link) is refused", "[storage]") {
  TempDir dir;
  WriteTestFile(dir.File("src"), testing::RandomBytes(kChunk, 10));
  const FileInfo info = InfoOf(dir.File("src"));
  WriteTestFile(dir.File("victim"), "precious");
  REQUIRE(::link(dir.File("victim").c_str(), dir.File("out.partial").c_str()) == 0);
  auto r = ReservePartial(dir.File("out"), info, false);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("hard links") != std::string::npos);
  CHECK(ReadTestFile(dir.File("victim")) == "precious");
}

TEST_CASE("storage: OpenPartial refuses a file other than the one reserved", "[storage]") {
  TempDir dir;
  WriteTestFile(dir.File("src"), testing::RandomBytes(kChunk, 11));
  const FileInfo info = InfoOf(dir.File("src"));
  auto r = ReservePartial(dir.File("out"), info, false);
  REQUIRE(r.ok());
  auto same = OpenPartial(r->partial, r->identity);
  REQUIRE(same.ok());
  ::close(*same);
  // Replaced by another regular file of the same name (the first one kept
  // elsewhere, so its inode number cannot be reused for the second).
  REQUIRE(::rename(r->partial.c_str(), dir.File("kept").c_str()) == 0);
  WriteTestFile(r->partial, "other");
  auto other = OpenPartial(r->partial, r->identity);
  REQUIRE_FALSE(other.ok());
  CHECK(other.status().message().find("replaced") != std::string::npos);
}

TEST_CASE("FileIdentity: text round trip and garbage", "[storage]") {
  const FileIdentity id{2049, 1234567};
  CHECK(id.ToString() == "2049:1234567");
  CHECK(FileIdentity::Parse(id.ToString()) == id);
  for (const char* bad : {"", ":", "1:", ":2", "1:2:3", "x:1", "1:-2", "12"}) {
    INFO(bad);
    CHECK_FALSE(FileIdentity::Parse(bad).has_value());
  }
}

TEST_CASE("storage: commit refuses when the .partial was swapped for a link during the download", "[storage]") {
  TempDir dir;
  WriteTestFile(dir.File("out.partial"), "bytes");
  WriteTestFile(dir.File("victim"), "precious");
  const int fd = ::open(dir.File("out.partial").c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  REQUIRE(::rename(dir.File("out.partial").c_str(), dir.File("moved").c_str()) == 0);
  REQUIRE(::symlink(dir.File("victim").c_str(), dir.File("out.partial").c_str()) == 0);
  Status s = CommitPartial(fd, dir.File("out.partial"), dir.File("out"));
  ::close(fd);
  CHECK_FALSE(s.ok());
  CHECK(s.message().find("replaced") != std::string::npos);
  CHECK(::access(dir.File("out").c_str(), F_OK) != 0);
  CHECK(ReadTestFile(dir.File("victim")) == "precious");
}

TEST_CASE("storage: an output that is a symlink is replaced by the rename, its target kept", "[storage]") {
  TempDir dir;
  WriteTestFile(dir.File("src"), testing::RandomBytes(kChunk, 12));
  const FileInfo info = InfoOf(dir.File("src"));
  WriteTestFile(dir.File("victim"), "precious");
  REQUIRE(::symlink(dir.File("victim").c_str(), dir.File("out").c_str()) == 0);
  CHECK_FALSE(ReservePartial(dir.File("out"), info, false).ok());  // exists (the link itself)
  auto r = ReservePartial(dir.File("out"), info, true);
  REQUIRE(r.ok());
  auto fd = OpenPartial(r->partial, r->identity);
  REQUIRE(fd.ok());
  CHECK(CommitPartial(*fd, r->partial, dir.File("out")).ok());
  ::close(*fd);
  struct stat st;
  REQUIRE(::lstat(dir.File("out").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK(ReadTestFile(dir.File("victim")) == "precious");
}

}  // namespace lanswarm::peer
