#include <catch2/catch.hpp>

#include "common/toml_doc.h"
#include "tests/support/temp_dir.h"

namespace lanswarm {

namespace {
TomlDoc MustParse(std::string_view text) {
  auto d = TomlDoc::Parse(text, "peer.toml");
  REQUIRE(d.ok());
  return std::move(*d);
}
}  // namespace

TEST_CASE("TomlDoc: typed getters read present keys, dotted paths included", "[toml]") {
  TomlDoc d = MustParse("log_level = \"debug\"\n[coordinator]\nreport_interval = 10\nratio = 0.5\nauth = true\n");
  CHECK(d.GetString("log_level")->value() == "debug");
  CHECK(d.GetInt("coordinator.report_interval", 1, 3600)->value() == 10);
  CHECK(d.GetDouble("coordinator.ratio", 0, 1)->value() == 0.5);
  CHECK(d.GetBool("coordinator.auth")->value() == true);
  CHECK(d.CheckNoUnknownKeys().ok());
}

TEST_CASE("TomlDoc: an absent key is nullopt, or an error when required", "[toml]") {
  TomlDoc d = MustParse("a = 1\n");
  auto x = d.GetInt("b", 0, 10);
  REQUIRE(x.ok());
  CHECK_FALSE(x->has_value());
  auto req = d.RequireInt("b", 0, 10);
  CHECK(req.status().message() == "peer.toml: key 'b': missing");
}

TEST_CASE("TomlDoc: a wrong type names file, line and key", "[toml]") {
  TomlDoc d = MustParse("\n\nlisten = 6882\n");
  auto s = d.GetString("listen");
  CHECK(s.status().message() == "peer.toml:3: key 'listen': expected a string, found an integer");
}

TEST_CASE("TomlDoc: out of range names file, line, key and range", "[toml]") {
  TomlDoc d = MustParse("[coordinator]\nreport_interval = 0\n");
  auto s = d.GetInt("coordinator.report_interval", 1, 3600);
  CHECK(s.status().message() == "peer.toml:2: key 'coordinator.report_interval': 0 is out of range [1, 3600]");
  TomlDoc n = MustParse("x = nan\n");
  CHECK_FALSE(n.GetDouble("x", 0, 1).ok());
}

TEST_CASE("TomlDoc: a syntax error names file, line and column", "[toml]") {
  auto d = TomlDoc::Parse("a = 1\nb = = 2\n", "peer.toml");
  REQUIRE_FALSE(d.ok());
  CHECK(d.status().message().rfind("peer.toml:2:", 0) == 0);
  CHECK(d.status().message().find("not valid TOML") != std::string::npos);
}

TEST_CASE("TomlDoc: an unknown key (a typo) is reported with its line", "[toml]") {
  TomlDoc d = MustParse("report_interval = 10\n[coordinator]\nlisten_adress = \"x\"\n");
  CHECK(d.GetInt("report_interval", 1, 100).ok());
  CHECK(d.GetString("coordinator.listen_address").ok());
  CHECK(d.CheckNoUnknownKeys().message() == "peer.toml:3: key 'coordinator.listen_adress': unknown key");
}

TEST_CASE("TomlDoc: string arrays are visited in order with lines", "[toml]") {
  TomlDoc d = MustParse("xs = [\n  \"a\",\n  \"b\",\n]\nys = [1, \"x\"]\n");
  CHECK(d.ArrayLength("xs").value() == 2);
  std::string seen;
  CHECK(d.ForEachString("xs", [&](std::size_t i, std::string_view v, int line) {
             seen += std::to_string(i) + std::string(v) + std::to_string(line) + ";";
             return Status::Ok();
           }).ok());
  CHECK(seen == "0a2;1b3;");
  Status bad = d.ForEachString("ys", [](std::size_t, std::string_view, int) { return Status::Ok(); });
  CHECK(bad.message() == "peer.toml:5: key 'ys': element 0: expected a string, found an integer");
}

TEST_CASE("TomlDoc: Load names the path when the file is missing or too large", "[toml]") {
  testing::TempDir dir;
  auto missing = TomlDoc::Load(dir.File("nope.toml"), 1024);
  CHECK(missing.status().code() == Status::Code::kNotFound);
  CHECK(missing.status().message().find("nope.toml") != std::string::npos);
  testing::WriteTestFile(dir.File("big.toml"), std::string(2000, '#'));
  auto big = TomlDoc::Load(dir.File("big.toml"), 1024);
  CHECK(big.status().message().find("larger than the 1024 bytes") != std::string::npos);
  auto isdir = TomlDoc::Load(dir.path(), 1024);
  CHECK(isdir.status().message().find("is a directory") != std::string::npos);
}

TEST_CASE("TomlQuote: produces a TOML string that parses back", "[toml]") {
  for (std::string s : {"plain", "with \"quotes\"", "back\\slash", "ünïcødé", "it's"}) {
    INFO(s);
    TomlDoc d = MustParse("k = " + TomlQuote(s) + "\n");
    CHECK(d.GetString("k")->value() == s);
  }
}

}  // namespace lanswarm
