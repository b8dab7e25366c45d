// bin/fileinfo as a user runs it: exit codes, messages, files written.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "tests/support/subprocess.h"
#include "tests/support/temp_dir.h"

namespace lanswarm::testing {

namespace {

RunResult Fileinfo(std::vector<std::string> args) {
  args.insert(args.begin(), BinPath("fileinfo"));
  return Run(args);
}

bool Has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// One line on stderr, naming the program.
void CheckOneLineError(const RunResult& r, const std::string& part) {
  INFO(r.err);
  CHECK(r.err.rfind("fileinfo: ", 0) == 0);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  CHECK(Has(r.err, part));
}

constexpr std::size_t kChunk = 256 * 1024;

}  // namespace

TEST_CASE("fileinfo cli: --help on the program and every subcommand exits 0", "[cli]") {
  for (std::vector<std::string> args : {std::vector<std::string>{"--help"}, {"create", "--help"}, {"show", "--help"},
                                        {"verify", "--help"}}) {
    auto r = Fileinfo(args);
    INFO(args[0]);
    CHECK(r.exit_code == 0);
    CHECK(Has(r.out, "Usage"));
  }
  CHECK(Has(Fileinfo({"create", "--help"}).out, "--chunk-size"));
  const std::string create_help = Fileinfo({"create", "--help"}).out;
  CHECK(Has(create_help, "--digest"));
  CHECK(Has(create_help, "sha256"));
  CHECK(Has(create_help, "blake2b"));
}

TEST_CASE("fileinfo cli: usage errors exit 2 with one line", "[cli]") {
  auto none = Fileinfo({});
  CHECK(none.exit_code == 2);
  CheckOneLineError(none, "subcommand");
  auto unknown = Fileinfo({"frobnicate"});
  CHECK(unknown.exit_code == 2);
  auto missing_arg = Fileinfo({"verify", "only-one"});
  CHECK(missing_arg.exit_code == 2);
  CheckOneLineError(missing_arg, "file");
}

TEST_CASE("fileinfo cli: create, show, verify a whole file", "[cli]") {
  TempDir dir;
  WriteTestFile(dir.File("data.bin"), RandomBytes(5 * kChunk + 17, 11));
  auto c = Fileinfo({"create", dir.File("data.bin")});
  INFO(c.err);
  REQUIRE(c.exit_code == 0);
  CHECK(Has(c.out, "data.bin.fileinfo"));
  CHECK(Has(c.out, "6 chunks"));

  auto show = Fileinfo({"show", dir.File("data.bin.fileinfo")});
  CHECK(show.exit_code == 0);
  CHECK(Has(show.out, "name        data.bin"));
  CHECK(Has(show.out, "chunks      6 (last 17 B)"));

  auto v = Fileinfo({"verify", dir.File("data.bin.fileinfo"), dir.File("data.bin")});
  CHECK(v.exit_code == 0);
  CHECK(Has(v.out, "whole, 6 chunks ok"));
}

TEST_CASE("fileinfo cli: show --json is machine-readable and complete", "[cli]") {
  TempDir dir;
  WriteTestFile(dir.File("d"), RandomBytes(2 * kChunk + 1, 12));
  REQUIRE(Fileinfo({"create", "-q", dir.File("d"), "-o", dir.File("d.fi")}).exit_code == 0);
  auto r = Fileinfo({"show", "--json", dir.File("d.fi")});
  REQUIRE(r.exit_code == 0);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["version"] == 1);
  CHECK(j["name"] == "d");
  CHECK(j["size"] == 2 * kChunk + 1);
  CHECK(j["chunk_size"] == kChunk);
  CHECK(j["chunk_count"] == 3);
  CHECK(j["last_chunk_size"] == 1);
  CHECK(j["file_id"].get<std::string>().size() == 32);
  CHECK(j["chunks"].size() == 3);
  CHECK(j["digest"] == "xxh3");
  CHECK(j["chunks"][0].get<std::string>().size() == 16);
}

TEST_CASE("fileinfo cli: create --digest sha256 and blake2b; show and verify use the file's digest", "[cli][digest]") {
  TempDir dir;
  std::string data = RandomBytes(4 * kChunk + 10, 14);
  WriteTestFile(dir.File("f"), data);
  for (const std::string digest : {"sha256", "blake2b"}) {
    INFO(digest);
    const std::string fi = dir.File("f." + digest);
    auto c = Fileinfo({"create", "--digest", digest, dir.File("f"), "-o", fi});
    INFO(c.err);
    REQUIRE(c.exit_code == 0);
    CHECK(Has(c.out, "5 chunks of 256 KiB, " + digest + ", id "));
    CHECK(Has(ReadTestFile(fi), "\ndigest = \"" + digest + "\"\n"));
    auto j = nlohmann::json::parse(Fileinfo({"show", "--json", fi}).out);
    CHECK(j["digest"] == digest);
    CHECK(j["chunks"][4].get<std::string>().size() == 64);
    CHECK(Has(Fileinfo({"show", fi}).out, "digest      " + digest));
    CHECK(Has(Fileinfo({"show", "--chunks", fi}).out, digest == "sha256" ? "sha-256 " : "blake2b-256 "));
    CHECK(Fileinfo({"verify", fi, dir.File("f")}).exit_code == 0);
  }
  data[3 * kChunk + 1] ^= 0x04;
  WriteTestFile(dir.File("f"), data);
  auto v = Fileinfo({"verify", dir.File("f.sha256"), dir.File("f")});
  CHECK(v.exit_code == 1);
  CHECK(Has(v.out, "bad chunk 3 "));
  CHECK(Has(v.out, "damaged: 1 of 5 chunks bad"));
}

TEST_CASE("fileinfo cli: create --digest with an unknown name exits 2 with one line and writes nothing", "[cli][digest]") {
  TempDir dir;
  WriteTestFile(dir.File("f"), "data");
  for (const char* bad : {"md5", "SHA256", ""}) {
    INFO(bad);
    auto r = Fileinfo({"create", "--digest", bad, dir.File("f")});
    CHECK(r.exit_code == 2);
    CheckOneLineError(r, "--digest: unknown digest");
    CHECK(Has(r.err, "expected xxh3, sha256 or blake2b"));
  }
  CHECK(Fileinfo({"show", dir.File("f.fileinfo")}).exit_code == 2);  // none was written
}

TEST_CASE("fileinfo cli: verify lists a bad middle chunk and a bad short last chunk, exit 1", "[cli]") {
  TempDir dir;
  std::string data = RandomBytes(8 * kChunk + 1000, 13);
  WriteTestFile(dir.File("f"), data);
  REQUIRE(Fileinfo({"create", "-q", dir.File("f")}).exit_code == 0);
  data[4 * kChunk + 5] ^= 0x20;
  data[8 * kChunk + 999] ^= 0x01;
  WriteTestFile(dir.File("f"), data);
  auto r = Fileinfo({"verify", dir.File("f.fileinfo"), dir.File("f")});
  CHECK(r.exit_code == 1);
  CHECK(Has(r.out, "bad chunk 4 (bytes 1048576-1310719)"));
  CHECK(Has(r.out, "bad chunk 8 (bytes 2097152-2098151)"));
  CHECK(Has(r.out, "damaged: 2 of 9 chunks bad"));
  auto j = nlohmann::json::parse(Fileinfo({"verify", "--json", dir.File("f.fileinfo"), dir.File("f")}).out);
  CHECK(j["whole"] == false);
  CHECK(j["bad_chunks"] == nlohmann::json::array({4, 8}));
}

TEST_CASE("fileinfo cli: bad or unreadable fileinfo exits 2 with one line", "[cli]") {
  TempDir dir;
  WriteTestFile(dir.File("f"), "data");
  WriteTestFile(dir.File("empty.fileinfo"), "");
  WriteTestFile(dir.File("garbage.fileinfo"), "\x01\x02 not toml [[[");
  WriteTestFile(dir.File("v9.fileinfo"), "lanswarm_fileinfo = 9\n");
  struct Row {
    std::string path, message;
  };
  for (const Row& row : {Row{dir.File("missing.fileinfo"), "No such file"}, Row{dir.File("empty.fileinfo"), "empty file"},
                         Row{dir.File("garbage.fileinfo"), "not valid TOML"}, Row{dir.File("v9.fileinfo"), "version 9"},
                         Row{dir.path(), "is a directory"}}) {
    INFO(row.path);
    for (const char* cmd : {"show", "verify"}) {
      auto r = cmd == std::string("show") ? Fileinfo({cmd, row.path}) : Fileinfo({cmd, row.path, dir.File("f")});
      CHECK(r.exit_code == 2);
      CheckOneLineError(r, row.message);
    }
  }
}

TEST_CASE("fileinfo cli: verify of a missing data file exits 2", "[cli]") {
  TempDir dir;
  WriteTestFile(dir.File("f"), "data");
  REQUIRE(Fileinfo({"create", "-q", dir.File("f")}).exit_code == 0);
  auto r = Fileinfo({"verify", dir.File("f.fileinfo"), dir.File("gone")});
  CHECK(r.exit_code == 2);
  CheckOneLineError(r, "gone: No such file");
}

TEST_CASE("fileinfo cli: create refuses to overwrite without --force", "[cli]") {
  TempDir dir;
  WriteTestFile(dir.File("f"), "one");
  WriteTestFile(dir.File("f.fileinfo"), "precious");
  auto r = Fileinfo({"create", dir.File("f")});
  CHECK(r.exit_code == 2);
  CheckOneLineError(r, "already exists (use --force");
  CHECK(ReadTestFile(dir.File("f.fileinfo")) == "precious");
  CHECK(Fileinfo({"create", "-q", "--force", dir.File("f")}).exit_code == 0);
  CHECK(Has(ReadTestFile(dir.File("f.fileinfo")), "lanswarm_fileinfo = 1"));
}

TEST_CASE("fileinfo cli: create -o - writes the fileinfo to stdout", "[cli]") {
  TempDir dir;
  WriteTestFile(dir.File("f"), "hello");
  auto r = Fileinfo({"create", dir.File("f"), "-o", "-"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.rfind("# lanswarm fileinfo", 0) == 0);
  CHECK(Has(r.out, "size = 5\n"));
}

TEST_CASE("fileinfo cli: create rejects a bad chunk size and bad inputs with exit 2", "[cli]") {
  TempDir dir;
  WriteTestFile(dir.File("f"), "x");
  auto bad_unit = Fileinfo({"create", dir.File("f"), "--chunk-size", "12Q"});
  CHECK(bad_unit.exit_code == 2);
  CheckOneLineError(bad_unit, "--chunk-size");
  auto not_pow2 = Fileinfo({"create", dir.File("f"), "--chunk-size", "300K"});
  CHECK(not_pow2.exit_code == 2);
  CheckOneLineError(not_pow2, "power of two");
  auto dir_input = Fileinfo({"create", dir.path(), "-o", dir.File("x.fi")});
  CHECK(dir_input.exit_code == 2);
  CheckOneLineError(dir_input, "not a regular file");
  CHECK(Fileinfo({"create", dir.File("f"), "--chunk-size", "1M", "-q", "-o", dir.File("ok.fi")}).exit_code == 0);
  CHECK(Has(ReadTestFile(dir.File("ok.fi")), "chunk_size = 1048576"));
}

TEST_CASE("fileinfo cli: zero-byte file works end to end", "[cli]") {
  TempDir dir;
  WriteTestFile(dir.File("empty"), "");
  REQUIRE(Fileinfo({"create", "-q", dir.File("empty")}).exit_code == 0);
  CHECK(Has(Fileinfo({"show", dir.File("empty.fileinfo")}).out, "chunks      0"));
  CHECK(Fileinfo({"verify", dir.File("empty.fileinfo"), dir.File("empty")}).exit_code == 0);
}

TEST_CASE("fileinfo cli: an unwritable output exits 1 and leaves no temporary behind", "[cli]") {
  TempDir dir;
  WriteTestFile(dir.File("f"), "x");
  auto r = Fileinfo({"create", dir.File("f"), "-o", dir.File("no/such/dir/out.fi")});
  CHECK(r.exit_code == 1);
  CheckOneLineError(r, "No such file or directory");
}

}  // namespace lanswarm::testing
