// The cluster keys a process accepts, and the one it proves with.
//
// A key is 32 random bytes, written as 64 hex digits. Key files hold one key
// per line ('#' starts a comment): the first key is the one this process
// proves with, every key in the file is accepted. Rotating a key without
// downtime is three rolling restarts: add the new key as a second line
// everywhere, move it to the first line everywhere, delete the old line.
//
// Contract: key bytes never reach a log line, an error message or --json;
// they are wiped from memory when the ring is destroyed.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace lanswarm {
class TomlDoc;
}

namespace lanswarm::auth {

class ClusterKey {
 public:
  static constexpr std::size_t kSize = 32;

  ClusterKey() = default;
  explicit ClusterKey(const std::array<std::uint8_t, kSize>& bytes) : bytes_(bytes) {}
  ClusterKey(const ClusterKey&) = default;
  ClusterKey& operator=(const ClusterKey&) = default;
  ~ClusterKey();

  const std::uint8_t* data() const { return bytes_.data(); }
  // Constant-time.
  bool operator==(const ClusterKey& other) const;

  // A fresh key from the OS's CSPRNG (libsodium must be initialised).
  static ClusterKey Generate();
  // 64 hex digits; the error never quotes the text.
  static Result<ClusterKey> FromHex(std::string_view hex);
  std::string ToHex() const;

 private:
  std::array<std::uint8_t, kSize> bytes_{};
};

// Where the keys come from, as written in a config's [auth] table.
struct AuthConfig {
  std::string key;                         // inline key (hex); proves, and is accepted
  std::string key_file;                    // or a key file (see above)
  std::vector<std::string> accepted_keys;  // also accepted (hex), for rotation
  bool empty() const { return key.empty() && key_file.empty() && accepted_keys.empty(); }
};


class KeyRing {
 public:
  // No keys: authentication is off.
  KeyRing() = default;

  bool enabled() const { return !keys_.empty(); }
  // The key this process proves with. REQUIRES: enabled().
  const ClusterKey& primary() const { return keys_.front(); }
  // Every accepted key, primary first.
  const std::vector<ClusterKey>& accepted() const { return keys_; }

  // Parses key-file text; `origin` names it in errors ("cluster.key:3: ...").
  static Result<KeyRing> Parse(std::string_view text, const std::string& origin);
  // Reads a key file; refuses one that other users can read or anyone but
  // its owner can write, as ssh does with private keys.
  static Result<KeyRing> LoadFile(const std::string& path);
  // The ring an [auth] table describes: the inline key or the key file's
  // keys, then accepted_keys. Empty when the table is empty.
  static Result<KeyRing> FromConfig(const AuthConfig& c);

  void Add(const ClusterKey& k) { keys_.push_back(k); }

 private:
  std::vector<ClusterKey> keys_;
};

// Reads the [auth] table of a config ("auth.key", "auth.key_file",
// "auth.accepted_keys") into *out, checking each inline key's form.
Status LoadAuthConfig(TomlDoc& doc, AuthConfig* out);

// Writes a fresh key file at `path` (mode 0600, never overwrites).
Status WriteNewKeyFile(const std::string& path);

}  // namespace lanswarm::auth
