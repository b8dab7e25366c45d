// The .fileinfo: everything a peer needs to fetch one file and check every
// byte of it. doc/fileinfo.md is the specification; this is its only reader
// and writer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/chunk_layout.h"
#include "common/file_id.h"

namespace lanswarm {

inline constexpr std::int64_t kFileInfoVersion = 1;
// Upper bound on a .fileinfo's length: kMaxChunkCount checksum lines of 21
// bytes plus the header fit with room to spare.
inline constexpr std::size_t kMaxFileInfoBytes = 32u * 1024 * 1024;
// Longest base name (the common NAME_MAX).
inline constexpr std::size_t kMaxNameBytes = 255;

struct FileInfo {
  std::string name;                      // base name, see ValidateFileName
  std::uint64_t size = 0;                // bytes
  std::uint32_t chunk_size = kMinChunkSize;
  std::vector<std::uint64_t> chunk_hashes;  // XXH3-64 of each chunk, in order
  FileId id;                             // XXH3-128 of the whole file

  // REQUIRES: ValidateFileInfo(*this).ok()
  ChunkLayout layout() const { return ChunkLayout(size, chunk_size); }
  std::uint32_t chunk_count() const { return static_cast<std::uint32_t>(chunk_hashes.size()); }

  friend bool operator==(const FileInfo&, const FileInfo&) = default;
};

// A base name that is safe to create in any directory: 1..255 bytes of valid
// UTF-8, not "." or "..", no '/', no control characters (U+0000-U+001F,
// U+007F). The error says which rule failed.
Status ValidateFileName(std::string_view name);

// Checks the invariants every FileInfo must hold: a valid name, a valid
// chunk size, a size within kMaxFileSize, and exactly ceil(size / chunk_size)
// checksums.
Status ValidateFileInfo(const FileInfo& info);

// The canonical text of `info`. Serialize(Parse(Serialize(x))) == Serialize(x).
// REQUIRES: ValidateFileInfo(info).ok()
std::string SerializeFileInfo(const FileInfo& info);

// Parses and fully validates a .fileinfo. `origin` names it in errors. Every
// error is one line naming the problem; nothing is allocated from a count
// the text merely claims.
Result<FileInfo> ParseFileInfo(std::string_view text, const std::string& origin);

// ParseFileInfo on a file read with ReadFileBounded(path, kMaxFileInfoBytes).
Result<FileInfo> LoadFileInfo(const std::string& path);

// Writes SerializeFileInfo(info) atomically, mode 0644 less the umask (a
// .fileinfo is meant to be handed around); see WriteFileAtomic.
Status SaveFileInfo(const FileInfo& info, const std::string& path, bool overwrite);

}  // namespace lanswarm
