// The .fileinfo format: round trip, and one named test per corruption. Each
// corruption must give a one-line error that names the problem.
#include <catch2/catch.hpp>

#include "common/hex.h"
#include "fileinfo/fileinfo.h"
#include "tests/support/temp_dir.h"

namespace lanswarm {

namespace {

FileInfo Sample(std::uint64_t size = 3 * 256 * 1024 + 77) {
  FileInfo info;
  info.name = "disk image.qcow2";
  info.size = size;
  info.chunk_size = 256 * 1024;
  for (std::uint64_t i = 0; i < ChunkCountFor(size, info.chunk_size); ++i) {
    info.chunks.Append(ChunkDigest::FromXxh3(0x0123456789abcdefULL * (i + 1)));
  }
  info.id = *FileId::FromHex("00112233445566778899aabbccddeeff");
  return info;
}

// Replaces the first occurrence of `from` in the canonical text.
std::string Edited(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::string ErrorOf(std::string_view text) {
  auto r = ParseFileInfo(text, "x.fileinfo");
  REQUIRE_FALSE(r.ok());
  const std::string& msg = r.status().message();
  CHECK(msg.find('\n') == std::string::npos);  // one line
  CHECK(msg.rfind("x.fileinfo", 0) == 0);       // names the file
  return msg;
}

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("fileinfo: serialize, parse, serialize gives equal bytes", "[fileinfo]") {
  for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{256 * 1024},
                             std::uint64_t{3 * 256 * 1024 + 77}, std::uint64_t{40 * 256 * 1024}}) {
    INFO(size);
    FileInfo info = Sample(size);
    REQUIRE(ValidateFileInfo(info).ok());
    const std::string text = SerializeFileInfo(info);
    auto parsed = ParseFileInfo(text, "x.fileinfo");
    REQUIRE(parsed.ok());
    CHECK(*parsed == info);
    CHECK(SerializeFileInfo(*parsed) == text);
  }
}

TEST_CASE("fileinfo: save and load through a file, refusing to overwrite", "[fileinfo]") {
  testing::TempDir dir;
  const std::string path = dir.File("a.fileinfo");
  FileInfo info = Sample();
  REQUIRE(SaveFileInfo(info, path, false).ok());
  auto loaded = LoadFileInfo(path);
  REQUIRE(loaded.ok());
  CHECK(*loaded == info);
  FileInfo other = Sample(1);
  CHECK(SaveFileInfo(other, path, false).code() == Status::Code::kAlreadyExists);
  CHECK(*LoadFileInfo(path) == info);  // untouched
  REQUIRE(SaveFileInfo(other, path, true).ok());
  CHECK(*LoadFileInfo(path) == other);
}

TEST_CASE("fileinfo: missing file", "[fileinfo][corrupt]") {
  testing::TempDir dir;
  auto r = LoadFileInfo(dir.File("nope.fileinfo"));
  CHECK(r.status().code() == Status::Code::kNotFound);
  CHECK(Has(r.status().message(), "nope.fileinfo: No such file"));
}

TEST_CASE("fileinfo: unreadable file (a directory)", "[fileinfo][corrupt]") {
  testing::TempDir dir;
  CHECK(Has(LoadFileInfo(dir.path()).status().message(), "is a directory"));
}

TEST_CASE("fileinfo: oversized file is refused before it is read whole", "[fileinfo][corrupt]") {
  testing::TempDir dir;
  testing::WriteTestFile(dir.File("huge.fileinfo"), std::string(kMaxFileInfoBytes + 10, '#'));
  CHECK(Has(LoadFileInfo(dir.File("huge.fileinfo")).status().message(), "larger than"));
}

TEST_CASE("fileinfo: empty file", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf(""), "empty file"));
  CHECK(Has(ErrorOf(" \n\t\n"), "empty file"));
}

TEST_CASE("fileinfo: garbage", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf("\x7f" "ELF\x02\x01\x01\x00garbage{{{"), "not valid TOML"));
  CHECK(Has(ErrorOf("hello world\n"), "not valid TOML"));
}

TEST_CASE("fileinfo: valid TOML that is not a fileinfo", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf("[server]\nport = 80\n"), "not a lanswarm .fileinfo"));
}

TEST_CASE("fileinfo: truncated anywhere", "[fileinfo][corrupt]") {
  const std::string text = SerializeFileInfo(Sample(20 * 256 * 1024));
  // Every cut point gives an error, never a crash or a silently shorter list.
  for (std::size_t cut = 1; cut < text.size() - 1; cut += 7) {
    INFO(cut);
    auto r = ParseFileInfo(text.substr(0, cut), "x.fileinfo");
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("fileinfo: wrong version", "[fileinfo][corrupt]") {
  const std::string text = Edited(SerializeFileInfo(Sample()), "lanswarm_fileinfo = 1", "lanswarm_fileinfo = 7");
  auto r = ParseFileInfo(text, "x.fileinfo");
  CHECK(r.status().code() == Status::Code::kUnsupported);
  CHECK(Has(r.status().message(), "version 7 is not supported"));
}

TEST_CASE("fileinfo: version of the wrong type", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "lanswarm_fileinfo = 1", "lanswarm_fileinfo = \"1\"")),
            "expected an integer"));
}

TEST_CASE("fileinfo: chunk count disagrees with size / chunk size", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "chunk_count = 4", "chunk_count = 5")),
            "key 'chunk_count': 5 but size 786509 in chunks of 262144 makes 4 chunks"));
}

TEST_CASE("fileinfo: checksum list too short", "[fileinfo][corrupt]") {
  FileInfo info = Sample();
  std::string text = SerializeFileInfo(info);
  text = Edited(text, "  \"" + info.chunks[info.chunk_count() - 1].ToHex() + "\",\n", "");
  CHECK(Has(ErrorOf(text), "3 checksums listed, chunk_count says 4"));
}

TEST_CASE("fileinfo: checksum list too long", "[fileinfo][corrupt]") {
  std::string text = Edited(SerializeFileInfo(Sample()), "chunks = [\n", "chunks = [\n  \"0000000000000000\",\n");
  CHECK(Has(ErrorOf(text), "5 checksums listed, chunk_count says 4"));
}

TEST_CASE("fileinfo: checksum that is not 16 hex digits", "[fileinfo][corrupt]") {
  FileInfo info = Sample();
  const std::string h = info.chunks[1].ToHex();
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(info), h, h.substr(0, 15) + "z")), "checksum 1 is not 16 hex digits"));
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(info), h, h.substr(0, 15))), "checksum 1 is not 16 hex digits"));
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(info), "\"" + h + "\"", "12")), "element 1: expected a string"));
}

TEST_CASE("fileinfo: absurd size", "[fileinfo][corrupt]") {
  const std::string text = SerializeFileInfo(Sample());
  CHECK(Has(ErrorOf(Edited(text, "size = 786509", "size = 9223372036854775807")), "out of range"));
  CHECK(Has(ErrorOf(Edited(text, "size = 786509", "size = -1")), "out of range"));
  // Within kMaxFileSize but too many chunks of this chunk size: refused
  // before any per-chunk allocation.
  CHECK(Has(ErrorOf(Edited(text, "size = 786509", "size = 17592186044416")), "chunk limit"));
  CHECK(Has(ErrorOf(Edited(text, "size = 786509", "size = 99999999999999999999")), "not valid TOML"));
}

TEST_CASE("fileinfo: chunk size not a power of two or out of range", "[fileinfo][corrupt]") {
  const std::string text = SerializeFileInfo(Sample());
  for (const char* bad : {"262145", "131072", "33554432", "0", "-262144"}) {
    INFO(bad);
    std::string msg = ErrorOf(Edited(text, "chunk_size = 262144", std::string("chunk_size = ") + bad));
    CHECK((Has(msg, "not a power of two between") || Has(msg, "out of range")));
  }
}

TEST_CASE("fileinfo: file id that is not 32 hex digits", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "00112233445566778899aabbccddeeff", "0011")),
            "key 'file_id': expected 32 hex digits"));
}

TEST_CASE("fileinfo: missing key", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "size = 786509\n", "")), "key 'size': missing"));
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "name = ", "nom = ")), "key 'name': missing"));
}

TEST_CASE("fileinfo: unknown key", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "size = ", "colour = \"red\"\nsize = ")),
            "key 'colour': unknown key"));
}

TEST_CASE("fileinfo: name with a slash", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "disk image.qcow2", "../../etc/passwd")), "contains '/'"));
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "disk image.qcow2", "a/b")), "contains '/'"));
}

TEST_CASE("fileinfo: name that is . or ..", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "disk image.qcow2", "..")), "directory reference"));
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "disk image.qcow2", ".")), "directory reference"));
}

TEST_CASE("fileinfo: name with control characters", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "disk image.qcow2", "a\\nb")), "control character 0x0a"));
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "disk image.qcow2", "bell\\u0007")), "control character 0x07"));
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "disk image.qcow2", "del\\u007f")), "control character 0x7f"));
}

TEST_CASE("fileinfo: empty or overlong name", "[fileinfo][corrupt]") {
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "\"disk image.qcow2\"", "\"\"")), "file name is empty"));
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(Sample()), "disk image.qcow2", std::string(256, 'a'))), "256 bytes long"));
}

TEST_CASE("ValidateFileName: accepts ordinary names, dots inside included", "[fileinfo]") {
  for (const char* ok : {"a", "ubuntu-24.04.iso", "archive..tar", ".hidden", "ünïcødé 名前.bin", "x y"}) {
    INFO(ok);
    CHECK(ValidateFileName(ok).ok());
  }
  CHECK(Has(ValidateFileName("bad\xff").message(), "not valid UTF-8"));
  CHECK(Has(ValidateFileName("\xc0\xaf").message(), "not valid UTF-8"));  // overlong '/'
  CHECK(Has(ValidateFileName(std::string("nul\0x", 5)).message(), "control character 0x00"));
}

TEST_CASE("ValidateFileInfo: catches inconsistent structs", "[fileinfo]") {
  FileInfo info = Sample();
  info.chunks.Resize(info.chunk_count() - 1);
  CHECK(Has(ValidateFileInfo(info).message(), "3 chunk checksums for 4 chunks"));
  info = Sample();
  info.chunk_size = 3000;
  CHECK(Has(ValidateFileInfo(info).message(), "not a power of two"));
  testing::TempDir dir;
  CHECK_FALSE(SaveFileInfo(info, dir.File("x"), false).ok());
}

}  // namespace lanswarm
