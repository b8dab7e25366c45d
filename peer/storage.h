// Where a download's bytes live: `<out>.partial`, reserved at the final
// size before the first byte arrives, and renamed to `<out>` once every
// chunk is verified.
//
// Resume never trusts a record of what was written: the chunks of an
// existing .partial are hashed again, and only those matching their digest
// (with the file's algorithm) count as held. Unwritten regions of a reserved file read as zeros without
// touching the disk, so this costs about what reading the held chunks does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/bitfield.h"
#include "common/status.h"
#include "fileinfo/file_hasher.h"
#include "fileinfo/fileinfo.h"

namespace lanswarm::peer {

std::string PartialPath(const std::string& out);

// The one-line error when `size` bytes cannot be reserved for `path`: how
// much more it needs (a resumed .partial may hold `allocated` bytes on disk
// already, whatever its size says), how much is free, and what to do.
std::string NoSpaceMessage(const std::string& path, std::uint64_t size, std::uint64_t allocated,
                           std::uint64_t free_bytes, int err);

// Which file a path named when it was checked, so that a later open or the
// final rename can tell that nobody replaced it in between.
struct FileIdentity {
  std::uint64_t dev = 0, ino = 0;
  bool operator==(const FileIdentity&) const = default;
  std::string ToString() const;  // "dev:ino", as the get control request carries it
  static std::optional<FileIdentity> Parse(std::string_view text);
};

struct Reservation {
  std::string partial;  // absolute path of <out>.partial
  Bitfield held;        // chunks already verified in it (resume)
  bool resumed = false;
  FileIdentity identity;  // of the .partial reserved
};

// Opens an existing .partial for writing without following a link: it must
// be a regular file with one name, owned by this process's user, and, when
// `expected` is given, the very file that was reserved. A symlink or hard
// link planted at that name by someone who can write to the directory would
// otherwise turn the download into a write to any file the getter may write.
Result<int> OpenPartial(const std::string& partial, const std::optional<FileIdentity>& expected = std::nullopt);

// Prepares `<out>.partial` for `info`: creates and reserves it (fallocate),
// or, when it exists, checks which of its chunks are already right. Fails
// when `out` exists (unless `force`), when its directory is missing, when
// the .partial is a link or not this user's regular file (OpenPartial), or
// when there is not enough space; a .partial is never deleted.
Result<Reservation> ReservePartial(const std::string& out, const FileInfo& info, bool force,
                                   const HashOptions& options = {});

// Writes `len` bytes at offset `at` of the open .partial `fd` (named
// `partial`, for the message), resuming short writes. A full disk or quota
// and any other error say that the .partial is kept and what to do.
Status WritePiece(int fd, const std::string& partial, std::uint64_t at, const std::uint8_t* data, std::size_t len);

// Whether chunk `index` as stored in `fd` hashes to its digest in `info`,
// with the algorithm `info` names;
// false also when the file ends before the chunk does. For a chunk whose
// bytes two writers may have mixed. Errors only when the read fails.
// REQUIRES: index < info.chunk_count().
Result<bool> ChunkOnDiskMatches(int fd, const FileInfo& info, std::uint32_t index);

// Makes the finished `partial` the file `out`: fsync, rename, fsync of the
// directory, so a crash right after leaves one or the other, whole. Refuses
// to rename when the name `partial` no longer refers to the open `fd` (the
// file was replaced, say by a symlink, during the download).
Status CommitPartial(int fd, const std::string& partial, const std::string& out);

}  // namespace lanswarm::peer
