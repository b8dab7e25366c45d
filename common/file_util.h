// Whole-file reads and writes with the guarantees lanswarm's small files
// (configs, .fileinfo, registries) need.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lanswarm {

// Reads `path` whole. Fails, without reading the rest, once more than
// max_bytes arrive: the buffer is bounded by us, never by the file's claim.
Result<std::string> ReadFileBounded(const std::string& path, std::size_t max_bytes);

// Who may read a file WriteFileAtomic makes.
enum class FileMode {
  kPrivate,  // exactly 0600, whatever the umask: the peer's state (registry, peer id)
  kShared,   // 0644 less the umask, as for any file a user makes: .fileinfo files
};

// Writes `contents` to `path` so that readers see the old file or the new
// one, never a mix: a fresh temporary in the same directory (made with
// `mode`, never through a link left at its name), fsync, rename, fsync of the
// directory. With overwrite=false an existing `path` is an AlreadyExists
// error and is left untouched, atomically.
Status WriteFileAtomic(const std::string& path, std::string_view contents, bool overwrite, FileMode mode);

// Creates `path` fresh (mode 0600 whatever the umask; never overwrites, never
// follows a link), writes `contents` and fsyncs it. On failure nothing is
// left behind. For secrets: a cluster key, a peer's identity key.
Status WriteNewSecretFile(const std::string& path, std::string_view contents);

}  // namespace lanswarm
