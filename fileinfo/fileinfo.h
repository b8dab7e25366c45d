// The .fileinfo: everything a peer needs to fetch one file and check every
// byte of it. doc/fileinfo.md is the specification; this is its only reader
// and writer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/chunk_layout.h"
#include "common/file_id.h"
#include "fileinfo/chunk_digest_list.h"
#include "fileinfo/digest_algorithm.h"

namespace lanswarm {

// Still 1 with the `digest` key: doc/fileinfo.md ("The digest key, and why
// the version stays 1").
inline constexpr std::int64_t kFileInfoVersion = 1;
// Upper bound on a .fileinfo's length, checked before it is read:
// kMaxChunkCount checksum lines of 70 bytes (a 64-digit SHA-256 or BLAKE2b
// line; an XXH3 one is 21) plus the header fit with room to spare, so a
// file `fileinfo create` may write is always one a reader accepts.
inline constexpr std::size_t kMaxFileInfoBytes = 80u * 1024 * 1024;
// Longest base name (the common NAME_MAX).
inline constexpr std::size_t kMaxNameBytes = 255;

struct FileInfo {
  std::string name;                      // base name, see ValidateFileName
  std::uint64_t size = 0;                // bytes
  std::uint32_t chunk_size = kMinChunkSize;
  // Each chunk's digest, in order, all of one algorithm: the file's.
  ChunkDigestList chunks;
  // XXH3: the XXH3-128 of the whole file; SHA-256 and BLAKE2b: CryptoFileId
  // (fileinfo/chunk_hasher.h). Either way the name of the file on the wire.
  FileId id;

  // REQUIRES: ValidateFileInfo(*this).ok()
  ChunkLayout layout() const { return ChunkLayout(size, chunk_size); }
  std::uint32_t chunk_count() const { return static_cast<std::uint32_t>(chunks.size()); }
  // The algorithm every chunk of this file is checked with.
  DigestAlgorithm digest() const { return chunks.algorithm(); }

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
