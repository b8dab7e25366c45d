#include "fileinfo/fileinfo.h"

#include <fmt/format.h>

#include "common/file_util.h"
#include "common/hex.h"
#include "common/toml_doc.h"

namespace lanswarm {

namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 when it is not a
// well-formed one (overlong forms, surrogates and > U+10FFFF included).
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n;
  unsigned lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

Status ValidateFileName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("file name is empty");
  if (name.size() > kMaxNameBytes) {
    return Status::InvalidArgument(
        fmt::format("file name is {} bytes long, the limit is {}", name.size(), kMaxNameBytes));
  }
  if (name == "." || name == "..") {
    return Status::InvalidArgument(fmt::format("file name '{}' is a directory reference", name));
  }
  for (std::size_t i = 0; i < name.size();) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '/') return Status::InvalidArgument("file name contains '/'");
    if (c < 0x20 || c == 0x7f) {
      return Status::InvalidArgument(
          fmt::format("file name contains control character 0x{:02x} at byte {}", c, i));
    }
    std::size_t n = Utf8SequenceLength(name, i);
    if (n == 0) return Status::InvalidArgument(fmt::format("file name is not valid UTF-8 at byte {}", i));
    i += n;
  }
  return Status::Ok();
}

Status ValidateFileInfo(const FileInfo& info) {
  LANSWARM_RETURN_IF_ERROR(ValidateFileName(info.name));
  if (!IsValidChunkSize(info.chunk_size)) {
    return Status::InvalidArgument(fmt::format(
        "chunk size {} is not a power of two between {} and {}", info.chunk_size, kMinChunkSize,
        kMaxChunkSize));
  }
  if (!LayoutFits(info.size, info.chunk_size)) {
    return Status::InvalidArgument(fmt::format(
        "size {} needs more than {} chunks of {} bytes", info.size, kMaxChunkCount, info.chunk_size));
  }
  const std::uint64_t want = ChunkCountFor(info.size, info.chunk_size);
  if (info.chunks.size() != want) {
    return Status::InvalidArgument(fmt::format("{} chunk checksums for {} chunks",
                                               info.chunks.size(), want));
  }
  return Status::Ok();
}

std::string SerializeFileInfo(const FileInfo& info) {
  const DigestAlgorithm digest = info.digest();
  const std::size_t hex_digits = 2 * DigestSize(digest);
  std::string out;
  // One checksum line is its digits plus 5 bytes; the header never reaches 1 KiB.
  out.reserve(1024 + (hex_digits + 5) * info.chunks.size());
  out += "# lanswarm fileinfo: the identity and chunk checksums of one file.\n";
  out += "# Format: doc/fileinfo.md. Made by 'fileinfo create'.\n";
  fmt::format_to(std::back_inserter(out), "lanswarm_fileinfo = {}\n", kFileInfoVersion);
  fmt::format_to(std::back_inserter(out), "name = {}\n", TomlQuote(info.name));
  fmt::format_to(std::back_inserter(out), "size = {}\n", info.size);
  fmt::format_to(std::back_inserter(out), "chunk_size = {}\n", info.chunk_size);
  fmt::format_to(std::back_inserter(out), "chunk_count = {}\n", info.chunks.size());
  // XXH3 files are written without the key, byte for byte as before it
  // existed, so their text (and every tool comparing it) stays the same.
  if (digest == kDefaultDigest) {
    fmt::format_to(std::back_inserter(out), "file_id = \"{}\"  # XXH3-128 of the whole file\n", info.id.ToHex());
  } else {
    fmt::format_to(std::back_inserter(out), "digest = \"{}\"\n", DigestName(digest));
    fmt::format_to(std::back_inserter(out), "file_id = \"{}\"  # {} of the chunk digests, first 16 bytes\n",
                   info.id.ToHex(), DigestTitle(digest));
  }
  fmt::format_to(std::back_inserter(out), "# {} of each chunk, in order\n", DigestTitle(digest));
  out += "chunks = [\n";
  const ByteView all = info.chunks.packed();
  for (std::size_t i = 0; i < info.chunks.size(); ++i) {
    out += "  \"";
    out += HexBytes(all.subspan(i * DigestSize(digest), DigestSize(digest)));
    out += "\",\n";
  }
  out += "]\n";
  return out;
}

Result<FileInfo> ParseFileInfo(std::string_view text, const std::string& origin) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::Corruption(origin + ": empty file, not a .fileinfo");
  }
  auto parsed = TomlDoc::Parse(text, origin);
  if (!parsed.ok()) return Status::Corruption(parsed.status().message());
  TomlDoc& doc = *parsed;
  auto corrupt = [](const Status& s) { return Status::Corruption(s.message()); };

  auto version = doc.GetInt("lanswarm_fileinfo", INT64_MIN, INT64_MAX);
  if (!version.ok()) return corrupt(version.status());
  if (!version->has_value()) {
    return Status::Corruption(origin + ": not a lanswarm .fileinfo (no 'lanswarm_fileinfo' key)");
  }
  if (**version != kFileInfoVersion) {
    return Status::Unsupported(fmt::format("{}: .fileinfo format version {} is not supported (this build reads version {})",
                                           origin, **version, kFileInfoVersion));
  }

  FileInfo info;
  auto name = doc.RequireString("name");
  if (!name.ok()) return corrupt(name.status());
  if (Status s = ValidateFileName(*name); !s.ok()) return corrupt(s.Prefixed(origin));
  info.name = std::move(*name);

  auto size = doc.RequireInt("size", 0, static_cast<std::int64_t>(kMaxFileSize));
  if (!size.ok()) return corrupt(size.status());
  info.size = static_cast<std::uint64_t>(*size);

  auto chunk_size = doc.RequireInt("chunk_size", 1, INT64_MAX);
  if (!chunk_size.ok()) return corrupt(chunk_size.status());
  if (!IsValidChunkSize(static_cast<std::uint64_t>(*chunk_size))) {
    return corrupt(doc.KeyError("chunk_size", 0,
                                fmt::format("{} is not a power of two between {} and {}", *chunk_size,
                                            kMinChunkSize, kMaxChunkSize)));
  }
  info.chunk_size = static_cast<std::uint32_t>(*chunk_size);
  if (!LayoutFits(info.size, info.chunk_size)) {
    return corrupt(doc.KeyError("size", 0,
                                fmt::format("{} bytes in chunks of {} exceeds the {} chunk limit",
                                            info.size, info.chunk_size, kMaxChunkCount)));
  }

  const std::uint64_t expected_count = ChunkCountFor(info.size, info.chunk_size);
  auto count = doc.RequireInt("chunk_count", 0, kMaxChunkCount);
  if (!count.ok()) return corrupt(count.status());
  if (static_cast<std::uint64_t>(*count) != expected_count) {
    return corrupt(doc.KeyError("chunk_count", 0,
                                fmt::format("{} but size {} in chunks of {} makes {} chunks", *count,
                                            info.size, info.chunk_size, expected_count)));
  }

  // Absent means XXH3: every file written before the key existed.
  DigestAlgorithm digest = kDefaultDigest;
  auto digest_name = doc.GetString("digest");
  if (!digest_name.ok()) return corrupt(digest_name.status());
  if (digest_name->has_value()) {
    auto parsed_digest = ParseDigestName(**digest_name);
    if (!parsed_digest.ok()) return corrupt(doc.KeyError("digest", 0, parsed_digest.status().message()));
    digest = *parsed_digest;
  }

  auto id_hex = doc.RequireString("file_id");
  if (!id_hex.ok()) return corrupt(id_hex.status());
  auto id = FileId::FromHex(*id_hex);
  if (!id) return corrupt(doc.KeyError("file_id", 0, "expected 32 hex digits"));
  info.id = *id;

  // The array is already parsed, so its length is bounded by the text; still
  // compare before reserving, so a mismatch costs nothing.
  auto listed = doc.ArrayLength("chunks");
  if (!listed.ok()) return corrupt(listed.status());
  if (*listed != expected_count) {
    return corrupt(doc.KeyError("chunks", 0,
                                fmt::format("{} checksums listed, chunk_count says {}", *listed,
                                            expected_count)));
  }
  info.chunks = ChunkDigestList(digest);
  info.chunks.Reserve(expected_count);
  Status s = doc.ForEachString("chunks", [&](std::size_t i, std::string_view v, int line) {
    auto d = ChunkDigest::FromHex(digest, v);
    if (!d) {
      return doc.KeyError("chunks", line, fmt::format("checksum {} is not {} hex digits (digest {})", i,
                                                      2 * DigestSize(digest), DigestName(digest)));
    }
    info.chunks.Append(*d);
    return Status::Ok();
  });
  if (!s.ok()) return corrupt(s);
  if (Status u = doc.CheckNoUnknownKeys(); !u.ok()) return corrupt(u);
  return info;
}

Result<FileInfo> LoadFileInfo(const std::string& path) {
  auto text = ReadFileBounded(path, kMaxFileInfoBytes);
  if (!text.ok()) return text.status();
  return ParseFileInfo(*text, path);
}

Status SaveFileInfo(const FileInfo& info, const std::string& path, bool overwrite) {
  LANSWARM_RETURN_IF_ERROR(ValidateFileInfo(info));
  return WriteFileAtomic(path, SerializeFileInfo(info), overwrite, FileMode::kShared);
}

}  // namespace lanswarm
