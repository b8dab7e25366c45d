// Turning a file on disk into a SharedFile, and noticing when it changes.
// Hashing happens here, in the process that asks to share (the CLI), so the
// daemon's event loop never stalls on a large file.
#pragma once

#include <optional>
#include <string>

#include "common/status.h"
#include "fileinfo/file_hasher.h"
#include "peer/registry.h"

namespace lanswarm::peer {

// Describes `path` for sharing. With an existing .fileinfo at
// `fileinfo_path` (empty: "<path>.fileinfo"), the file is verified against
// it and only matching chunks count as held; a file matching none of them is
// an error. Without one, the .fileinfo is created there (never overwritten)
// with `digest` (default xxh3) and every chunk is held. A `digest` given for
// an existing .fileinfo of another digest is an error rather than ignored:
// the file keeps the digest it was published with. Paths in the result are
// absolute.
Result<SharedFile> PrepareShare(const std::string& path, const std::string& fileinfo_path,
                                std::optional<DigestAlgorithm> digest = std::nullopt,
                                const HashOptions& options = {});

// Compares the file on disk with what was recorded when it was verified.
// OK when unchanged; otherwise the reason ("vanished", "changed size").
Status CheckOnDisk(const SharedFile& f);

// Records the file's current size and mtime in f.
Status StampFromDisk(SharedFile* f);

}  // namespace lanswarm::peer
