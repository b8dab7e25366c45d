#include "common/auth/identity.h"

#include <sodium.h>
#include <sys/stat.h>

#include <cerrno>
#include <string_view>

#include <fmt/format.h>

#include "common/file_util.h"

namespace lanswarm::auth {

namespace {

using Seed = std::array<std::uint8_t, crypto_sign_SEEDBYTES>;
static_assert(kPublicKeySize == crypto_sign_PUBLICKEYBYTES);
static_assert(kSignatureSize == crypto_sign_BYTES);
static_assert(crypto_sign_SECRETKEYBYTES == 64);

// Parses the key file's text: optional '#' comment lines, then the seed as
// 64 hex digits. The error never quotes the text.
Result<Seed> ParseSeed(std::string_view text, const std::string& path) {
  while (text.starts_with('#')) {
    const auto nl = text.find('\n');
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
  Seed seed;
  std::size_t len = 0;
  const char* end = nullptr;
  if (text.size() != 2 * seed.size() ||
      sodium_hex2bin(seed.data(), seed.size(), text.data(), text.size(), nullptr, &len, &end) != 0 ||
      len != seed.size() || end != text.data() + text.size()) {
    sodium_memzero(seed.data(), seed.size());
    return Status::InvalidArgument(fmt::format(
        "identity key file {} is not 64 hex digits (move it away and a new identity is made)", path));
  }
  return seed;
}

Result<Seed> ReadSeed(const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(fmt::format("identity key file {} is not a regular file", path));
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Status::InvalidArgument(fmt::format("identity key file {} is accessible to other users (mode {:04o}): "
                                               "run chmod 600 {}",
                                               path, st.st_mode & 07777, path));
  }
  auto text = ReadFileBounded(path, 4096);
  if (!text.ok()) return text.status();
  auto seed = ParseSeed(*text, path);
  sodium_memzero(text->data(), text->size());
  return seed;
}

// A fresh seed, written to a new key file at `path`.
Result<Seed> CreateSeed(const std::string& path) {
  Seed seed;
  randombytes_buf(seed.data(), seed.size());
  std::string hex(2 * seed.size() + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), seed.data(), seed.size());
  hex.back() = '\n';
  std::string text = "# lanswarm peer identity (secret): the peer id is derived from it\n" + hex;
  Status s = WriteNewSecretFile(path, text);
  sodium_memzero(hex.data(), hex.size());
  sodium_memzero(text.data(), text.size());
  if (!s.ok()) {
    sodium_memzero(seed.data(), seed.size());
    return s;
  }
  return seed;
}

}  // namespace

PeerId PeerIdOf(const PublicKey& key) {
  std::array<std::uint8_t, crypto_generichash_BYTES> h;
  crypto_generichash(h.data(), h.size(), key.data(), key.size(), nullptr, 0);
  PeerId id;
  std::copy_n(h.begin(), id.size(), id.begin());
  return id;
}

Identity::Identity(const Seed& seed) {
  crypto_sign_seed_keypair(public_.data(), secret_.data(), seed.data());
  id_ = PeerIdOf(public_);
}

Identity::~Identity() { sodium_memzero(secret_.data(), secret_.size()); }

Identity Identity::Ephemeral() {
  Seed seed;
  randombytes_buf(seed.data(), seed.size());
  Identity id(seed);
  sodium_memzero(seed.data(), seed.size());
  return id;
}

Result<Identity> Identity::LoadOrCreate(const std::string& path) {
  struct stat st;
  Result<Seed> seed = ::lstat(path.c_str(), &st) == 0 ? ReadSeed(path, st)
                      : errno == ENOENT              ? CreateSeed(path)
                                                     : Status::FromErrno("identity key file " + path, errno);
  if (!seed.ok()) return seed.status();
  Identity id(*seed);
  sodium_memzero(seed->data(), seed->size());
  return id;
}

Bytes Identity::Sign(ByteView message) const {
  Bytes sig(kSignatureSize);
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), secret_.data());
  return sig;
}

bool VerifySignature(const PublicKey& key, ByteView message, ByteView signature) {
  return signature.size() == kSignatureSize &&
         crypto_sign_verify_detached(signature.data(), message.data(), message.size(), key.data()) == 0;
}

}  // namespace lanswarm::auth
