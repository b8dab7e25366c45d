// The .fileinfo format: round trip, and one named test per corruption. Each
// corruption must give a one-line error that names the problem.
#include <catch2/catch.hpp>

#include "fileinfo/chunk_hasher.h"
#include "fileinfo/fileinfo.h"
#include "tests/support/temp_dir.h"

namespace lanswarm {

namespace {

constexpr DigestAlgorithm kAllDigests[] = {DigestAlgorithm::kXxh3, DigestAlgorithm::kSha256,
                                            DigestAlgorithm::kBlake2b};

// Checksums that differ per chunk; an XXH3 sample's are fixed numbers so
// that its text can be spelled out below.
FileInfo Sample(std::uint64_t size = 3 * 256 * 1024 + 77, DigestAlgorithm digest = kDefaultDigest) {
  FileInfo info;
  info.name = "disk image.qcow2";
  info.size = size;
  info.chunk_size = 256 * 1024;
  info.chunks = ChunkDigestList(digest);
  for (std::uint64_t i = 0; i < ChunkCountFor(size, info.chunk_size); ++i) {
    info.chunks.Append(digest == DigestAlgorithm::kXxh3 ? ChunkDigest::FromXxh3(0x0123456789abcdefULL * (i + 1))
                                                        : HashChunk(digest, &i, sizeof i));
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

TEST_CASE("fileinfo: every digest round-trips, its name and checksums kept", "[fileinfo][digest]") {
  for (DigestAlgorithm digest : kAllDigests) {
    for (std::uint64_t size : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{3 * 256 * 1024 + 77}}) {
      INFO(DigestName(digest) << ", " << size << " bytes");
      FileInfo info = Sample(size, digest);
      REQUIRE(ValidateFileInfo(info).ok());
      const std::string text = SerializeFileInfo(info);
      auto parsed = ParseFileInfo(text, "x.fileinfo");
      REQUIRE(parsed.ok());
      CHECK(parsed->digest() == digest);
      CHECK(*parsed == info);
      CHECK(SerializeFileInfo(*parsed) == text);
      // The key is written for the cryptographic digests only.
      CHECK((text.find("\ndigest = ") != std::string::npos) == IsCryptographic(digest));
    }
  }
}

// The text every .fileinfo had before the digest key: an XXH3 file must
// still be written byte for byte like this, so files, their diffs and
// anything that compares them stay as they were.
TEST_CASE("fileinfo: an XXH3 file is written exactly as before the digest key existed", "[fileinfo][digest]") {
  CHECK(SerializeFileInfo(Sample()) ==
        "# lanswarm fileinfo: the identity and chunk checksums of one file.\n"
        "# Format: doc/fileinfo.md. Made by 'fileinfo create'.\n"
        "lanswarm_fileinfo = 1\n"
        "name = \"disk image.qcow2\"\n"
        "size = 786509\n"
        "chunk_size = 262144\n"
        "chunk_count = 4\n"
        "file_id = \"00112233445566778899aabbccddeeff\"  # XXH3-128 of the whole file\n"
        "# XXH3-64 of each chunk, in order\n"
        "chunks = [\n"
        "  \"0123456789abcdef\",\n"
        "  \"02468acf13579bde\",\n"
        "  \"0369d0369d0369cd\",\n"
        "  \"048d159e26af37bc\",\n"
        "]\n");
}

TEST_CASE("fileinfo: a SHA-256 file names its digest before the id", "[fileinfo][digest]") {
  const std::string text = SerializeFileInfo(Sample(1, DigestAlgorithm::kSha256));
  CHECK(text.find("chunk_count = 1\ndigest = \"sha256\"\nfile_id = \"00112233445566778899aabbccddeeff\"  "
                  "# SHA-256 of the chunk digests, first 16 bytes\n# SHA-256 of each chunk, in order\n") !=
        std::string::npos);
}

TEST_CASE("fileinfo: digest = \"xxh3\" written out reads as the default", "[fileinfo][digest]") {
  const std::string text = SerializeFileInfo(Sample());
  auto explicit_xxh3 = ParseFileInfo(Edited(text, "file_id = ", "digest = \"xxh3\"\nfile_id = "), "x.fileinfo");
  REQUIRE(explicit_xxh3.ok());
  CHECK(*explicit_xxh3 == Sample());
}

TEST_CASE("fileinfo: an unknown digest is one line naming it and the known ones", "[fileinfo][corrupt][digest]") {
  const std::string text = SerializeFileInfo(Sample(3 * 256 * 1024 + 77, DigestAlgorithm::kSha256));
  CHECK(Has(ErrorOf(Edited(text, "digest = \"sha256\"", "digest = \"md5\"")),
            "key 'digest': unknown digest \"md5\" (expected xxh3, sha256 or blake2b)"));
  CHECK(Has(ErrorOf(Edited(text, "digest = \"sha256\"", "digest = \"SHA256\"")), "unknown digest \"SHA256\""));
  // A name with a newline in it still makes one line.
  CHECK(Has(ErrorOf(Edited(text, "digest = \"sha256\"", "digest = \"sha\\n256\"")), "unknown digest"));
  CHECK(Has(ErrorOf(Edited(text, "digest = \"sha256\"", "digest = 256")), "key 'digest': expected a string"));
}

TEST_CASE("fileinfo: a checksum must have its digest's length: 16 hex digits for xxh3, 64 for the others",
          "[fileinfo][corrupt][digest]") {
  // A SHA-256 checksum in an XXH3 file, by a missing digest key.
  std::string sha = SerializeFileInfo(Sample(3 * 256 * 1024 + 77, DigestAlgorithm::kSha256));
  CHECK(Has(ErrorOf(Edited(sha, "digest = \"sha256\"\n", "")), "checksum 0 is not 16 hex digits (digest xxh3)"));
  // XXH3 checksums in a file that says blake2b.
  const std::string xxh = SerializeFileInfo(Sample());
  CHECK(Has(ErrorOf(Edited(xxh, "file_id = ", "digest = \"blake2b\"\nfile_id = ")),
            "checksum 0 is not 64 hex digits (digest blake2b)"));
  // One digit short, one too many, one not hex.
  const FileInfo info = Sample(3 * 256 * 1024 + 77, DigestAlgorithm::kBlake2b);
  const std::string text = SerializeFileInfo(info), h = info.chunks[2].ToHex();
  CHECK(Has(ErrorOf(Edited(text, h, h.substr(1))), "checksum 2 is not 64 hex digits (digest blake2b)"));
  CHECK(Has(ErrorOf(Edited(text, h, h + "0")), "checksum 2 is not 64 hex digits"));
  CHECK(Has(ErrorOf(Edited(text, h, h.substr(1) + "x")), "checksum 2 is not 64 hex digits"));
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
  CHECK(Has(ErrorOf(Edited(SerializeFileInfo(info), h, h.substr(0, 15) + "z")), "checksum 1 is not 16 hex digits (digest xxh3)"));
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
