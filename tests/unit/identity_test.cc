#include "common/auth/identity.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <catch2/catch.hpp>
#include <sodium.h>

#include "common/file_util.h"
#include "common/sodium_init.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_identity.h"

using namespace lanswarm;
using namespace lanswarm::auth;

namespace {

bool Has(const Status& s, std::string_view what) { return s.message().find(what) != std::string::npos; }

void Write(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

}  // namespace

TEST_CASE("identity: made on first start with mode 0600, the same on every later load", "[identity]") {
  REQUIRE(InitSodium().ok());
  testing::TempDir dir;
  const std::string path = dir.File("identity.key");
  const mode_t old = ::umask(0);  // whatever the umask, the file is 0600
  auto made = Identity::LoadOrCreate(path);
  ::umask(old);
  REQUIRE(made.ok());
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  auto again = Identity::LoadOrCreate(path);
  REQUIRE(again.ok());
  CHECK(again->peer_id() == made->peer_id());
  CHECK(again->public_key() == made->public_key());
  CHECK(Identity::Ephemeral().peer_id() != made->peer_id());
}

TEST_CASE("identity: the peer id is the first 16 bytes of BLAKE2b(public key)", "[identity]") {
  const Identity id = testing::TestIdentity(5);
  std::array<std::uint8_t, crypto_generichash_BYTES> h;
  crypto_generichash(h.data(), h.size(), id.public_key().data(), id.public_key().size(), nullptr, 0);
  PeerId expected;
  std::copy_n(h.begin(), expected.size(), expected.begin());
  CHECK(id.peer_id() == expected);
  CHECK(PeerIdOf(id.public_key()) == expected);
  CHECK(testing::TestIdentity(5).peer_id() == expected);  // a seed gives one key pair
  CHECK(testing::TestIdentity(6).peer_id() != expected);
}

TEST_CASE("identity: signatures verify only with the signer's key, over the same bytes", "[identity]") {
  const Identity a = testing::TestIdentity(1), b = testing::TestIdentity(2);
  const Bytes sig = a.Sign(AsBytes("transcript"));
  CHECK(sig.size() == kSignatureSize);
  CHECK(VerifySignature(a.public_key(), AsBytes("transcript"), sig));
  CHECK_FALSE(VerifySignature(b.public_key(), AsBytes("transcript"), sig));
  CHECK_FALSE(VerifySignature(a.public_key(), AsBytes("transcripT"), sig));
  CHECK_FALSE(VerifySignature(a.public_key(), AsBytes("transcript"), ByteView(sig).first(63)));
}

TEST_CASE("identity: a key file others can read, a link, or one that is not a key is refused", "[identity]") {
  REQUIRE(InitSodium().ok());
  testing::TempDir dir;
  const std::string path = dir.File("identity.key");
  const std::string good = std::string(64, 'a') + "\n";
  SECTION("readable by the group or others") {
    Write(path, good, 0640);
    CHECK(Has(Identity::LoadOrCreate(path).status(), "accessible to other users (mode 0640)"));
    Write(path, good, 0604);
    CHECK(Has(Identity::LoadOrCreate(path).status(), "chmod 600"));
  }
  SECTION("not 64 hex digits; the error does not quote it") {
    Write(path, std::string(63, 'a') + "\n", 0600);
    Status s = Identity::LoadOrCreate(path).status();
    CHECK(Has(s, "is not 64 hex digits"));
    CHECK_FALSE(Has(s, std::string(63, 'a')));
    Write(path, std::string(62, 'a') + "zz\n", 0600);
    CHECK(Has(Identity::LoadOrCreate(path).status(), "is not 64 hex digits"));
  }
  SECTION("a symbolic link, even to a good key") {
    const std::string target = dir.File("elsewhere.key");
    Write(target, good, 0600);
    REQUIRE(::symlink(target.c_str(), path.c_str()) == 0);
    CHECK(Has(Identity::LoadOrCreate(path).status(), "is not a regular file"));
  }
  SECTION("a good file with a comment loads") {
    Write(path, "# comment\n" + good, 0600);
    CHECK(Identity::LoadOrCreate(path).ok());
  }
}
