#include "common/auth/key_ring.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "common/file_util.h"
#include "common/toml_doc.h"

namespace lanswarm::auth {

namespace {

constexpr std::size_t kMaxKeyFileBytes = 64 << 10;

std::string_view Trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

}  // namespace

ClusterKey::~ClusterKey() { sodium_memzero(bytes_.data(), bytes_.size()); }

bool ClusterKey::operator==(const ClusterKey& other) const {
  return sodium_memcmp(bytes_.data(), other.bytes_.data(), kSize) == 0;
}

ClusterKey ClusterKey::Generate() {
  ClusterKey k;
  randombytes_buf(k.bytes_.data(), kSize);
  return k;
}

Result<ClusterKey> ClusterKey::FromHex(std::string_view hex) {
  hex = Trim(hex);
  if (hex.size() != 2 * kSize) {
    return Status::InvalidArgument(
        fmt::format("a cluster key is {} hex digits, this one has {} characters", 2 * kSize, hex.size()));
  }
  ClusterKey k;
  std::size_t len = 0;
  const char* end = nullptr;
  if (sodium_hex2bin(k.bytes_.data(), kSize, hex.data(), hex.size(), nullptr, &len, &end) != 0 || len != kSize ||
      end != hex.data() + hex.size()) {
    return Status::InvalidArgument("a cluster key must be hex digits only (0-9, a-f)");
  }
  return k;
}

std::string ClusterKey::ToHex() const {
  std::string hex(2 * kSize + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes_.data(), kSize);
  hex.pop_back();
  return hex;
}

Result<KeyRing> KeyRing::Parse(std::string_view text, const std::string& origin) {
  KeyRing ring;
  int line_no = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    if (const auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    line = Trim(line);
    if (line.empty()) continue;
    auto k = ClusterKey::FromHex(line);
    if (!k.ok()) return k.status().Prefixed(fmt::format("{}:{}", origin, line_no));
    ring.Add(*k);
  }
  if (!ring.enabled()) return Status::InvalidArgument(origin + ": holds no key (make one with `peer gen-key`)");
  return ring;
}

Result<KeyRing> KeyRing::LoadFile(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno("cluster key file " + path, errno);
  if ((st.st_mode & (S_IRWXO | S_IWGRP)) != 0) {
    return Status::InvalidArgument(fmt::format(
        "cluster key file {} is accessible to other users (mode {:04o}): run chmod 600 {}", path,
        st.st_mode & 07777, path));
  }
  auto text = ReadFileBounded(path, kMaxKeyFileBytes);
  if (!text.ok()) return text.status();
  auto ring = Parse(*text, path);
  sodium_memzero(text->data(), text->size());
  return ring;
}

Result<KeyRing> KeyRing::FromConfig(const AuthConfig& c) {
  KeyRing ring;
  if (!c.key.empty() && !c.key_file.empty()) {
    return Status::InvalidArgument("auth.key and auth.key_file are both set: use one");
  }
  if (!c.key.empty()) {
    auto k = ClusterKey::FromHex(c.key);
    if (!k.ok()) return k.status().Prefixed("auth.key");
    ring.Add(*k);
  } else if (!c.key_file.empty()) {
    auto file = LoadFile(c.key_file);
    if (!file.ok()) return file.status();
    ring = std::move(*file);
  } else if (!c.accepted_keys.empty()) {
    return Status::InvalidArgument("auth.accepted_keys needs auth.key or auth.key_file: the key this node proves with");
  }
  for (std::size_t i = 0; i < c.accepted_keys.size(); ++i) {
    auto k = ClusterKey::FromHex(c.accepted_keys[i]);
    if (!k.ok()) return k.status().Prefixed(fmt::format("auth.accepted_keys[{}]", i));
    ring.Add(*k);
  }
  return ring;
}

Status LoadAuthConfig(TomlDoc& doc, AuthConfig* out) {
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("auth.key", &out->key));
  LANSWARM_RETURN_IF_ERROR(doc.SetIfPresent("auth.key_file", &out->key_file));
  if (!out->key.empty()) {
    if (auto k = ClusterKey::FromHex(out->key); !k.ok()) return doc.KeyError("auth.key", 0, k.status().message());
  }
  auto n = doc.ArrayLength("auth.accepted_keys");
  if (n.ok()) {
    LANSWARM_RETURN_IF_ERROR(doc.ForEachString("auth.accepted_keys", [&](std::size_t, std::string_view v, int line) {
      if (auto k = ClusterKey::FromHex(v); !k.ok()) return doc.KeyError("auth.accepted_keys", line, k.status().message());
      out->accepted_keys.emplace_back(v);
      return Status::Ok();
    }));
  } else if (n.status().message().find("missing") == std::string::npos) {
    return n.status();
  }
  if (!out->key.empty() && !out->key_file.empty()) {
    return doc.KeyError("auth.key_file", 0, "auth.key is set too: use one of them");
  }
  return Status::Ok();
}

Status WriteNewKeyFile(const std::string& path) {
  std::string text = "# lanswarm cluster key: the first key proves, every key here is accepted.\n" +
                     ClusterKey::Generate().ToHex() + "\n";
  Status s = WriteNewSecretFile(path, text);
  sodium_memzero(text.data(), text.size());
  return s;
}

}  // namespace lanswarm::auth
