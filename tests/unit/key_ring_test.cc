#include "common/auth/key_ring.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "common/file_util.h"
#include "common/sodium_init.h"
#include "common/toml_doc.h"
#include "tests/support/temp_dir.h"

using namespace lanswarm;
using namespace lanswarm::auth;

namespace {

const std::string kHexA(64, 'a');
const std::string kHexB = std::string(62, '0') + "1f";

bool Has(const Status& s, std::string_view what) { return s.message().find(what) != std::string::npos; }

}  // namespace

TEST_CASE("key ring: hex keys parse; errors never quote the key", "[auth]") {
  REQUIRE(ClusterKey::FromHex(kHexA).ok());
  CHECK(ClusterKey::FromHex("  " + kHexB + "\r").ok());
  CHECK(ClusterKey::FromHex(kHexB)->ToHex() == kHexB);
  const std::string bad = std::string(63, 'a') + "z";
  auto k = ClusterKey::FromHex(bad);
  REQUIRE_FALSE(k.ok());
  CHECK(Has(k.status(), "hex digits only"));
  CHECK(k.status().message().find("aaaa") == std::string::npos);
  CHECK(Has(ClusterKey::FromHex("abcd").status(), "this one has 4 characters"));
  CHECK(*ClusterKey::FromHex(kHexA) == *ClusterKey::FromHex(kHexA));
  CHECK_FALSE(*ClusterKey::FromHex(kHexA) == *ClusterKey::FromHex(kHexB));
}

TEST_CASE("key ring: a key file's first key proves, all are accepted", "[auth]") {
  auto ring = KeyRing::Parse("# cluster key\n\n" + kHexB + "  # new\n" + kHexA + "\n", "k");
  REQUIRE(ring.ok());
  CHECK(ring->enabled());
  REQUIRE(ring->accepted().size() == 2);
  CHECK(ring->primary() == *ClusterKey::FromHex(kHexB));
  auto bad = KeyRing::Parse(kHexA + "\nnot a key\n", "cluster.key");
  CHECK(Has(bad.status(), "cluster.key:2:"));
  CHECK(Has(KeyRing::Parse("# nothing\n", "k").status(), "holds no key"));
}

TEST_CASE("key ring: key files must be private; gen-key writes one", "[auth]") {
  REQUIRE(InitSodium().ok());
  testing::TempDir dir;
  const std::string path = dir.File("cluster.key");
  REQUIRE(WriteNewKeyFile(path).ok());
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto ring = KeyRing::LoadFile(path);
  REQUIRE(ring.ok());
  CHECK(ring->accepted().size() == 1);
  // Never overwrites: the old key would be lost.
  CHECK(Has(WriteNewKeyFile(path), "File exists"));
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  CHECK(Has(KeyRing::LoadFile(path).status(), "accessible to other users (mode 0644): run chmod 600"));
  REQUIRE(::chmod(path.c_str(), 0640) == 0);
  CHECK(KeyRing::LoadFile(path).ok());  // a group the daemon and its admins share
  CHECK(Has(KeyRing::LoadFile(dir.File("missing.key")).status(), "missing.key"));
}

TEST_CASE("key ring: [auth] config, inline or from a file, plus accepted keys", "[auth]") {
  auto doc = TomlDoc::Parse("[auth]\nkey = \"" + kHexA + "\"\naccepted_keys = [\"" + kHexB + "\"]\n", "p.toml");
  REQUIRE(doc.ok());
  AuthConfig c;
  REQUIRE(LoadAuthConfig(*doc, &c).ok());
  REQUIRE(doc->CheckNoUnknownKeys().ok());
  auto ring = KeyRing::FromConfig(c);
  REQUIRE(ring.ok());
  REQUIRE(ring->accepted().size() == 2);
  CHECK(ring->primary() == *ClusterKey::FromHex(kHexA));

  auto bad = TomlDoc::Parse("[auth]\nkey = \"" + std::string(64, 'g') + "\"\n", "p.toml");
  REQUIRE(bad.ok());
  AuthConfig c2;
  Status s = LoadAuthConfig(*bad, &c2);
  CHECK(Has(s, "p.toml"));
  CHECK(Has(s, "auth.key"));
  CHECK(s.message().find("gggg") == std::string::npos);

  CHECK(Has(KeyRing::FromConfig(AuthConfig{kHexA, "/x", {}}).status(), "both set"));
  CHECK(Has(KeyRing::FromConfig(AuthConfig{"", "", {kHexA}}).status(), "needs auth.key or auth.key_file"));
  CHECK_FALSE(KeyRing::FromConfig(AuthConfig{}).value().enabled());
}
