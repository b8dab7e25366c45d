// Where a download's bytes live: `<out>.partial`, reserved at the final
// size before the first byte arrives, and renamed to `<out>` once every
// chunk is verified.
//
// Resume never trusts a record of what was written: the chunks of an
// existing .partial are hashed again, and only those matching their XXH3
// count as held. Unwritten regions of a reserved file read as zeros without
// touching the disk, so this costs about what reading the held chunks does.
#pragma once

#include <string>

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

struct Reservation {
  std::string partial;  // absolute path of <out>.partial
  Bitfield held;        // chunks already verified in it (resume)
  bool resumed = false;
};

// Prepares `<out>.partial` for `info`: creates and reserves it (fallocate),
// or, when it exists, checks which of its chunks are already right. Fails
// when `out` exists (unless `force`), when its directory is missing, or
// when there is not enough space; a .partial is never deleted.
Result<Reservation> ReservePartial(const std::string& out, const FileInfo& info, bool force,
                                   const HashOptions& options = {});

// Makes the finished `partial` the file `out`: fsync, rename, fsync of the
// directory, so a crash right after leaves one or the other, whole.
Status CommitPartial(int fd, const std::string& partial, const std::string& out);

}  // namespace lanswarm::peer
