// The two operations that join a .fileinfo to a file on disk: describe a
// file (create) and check a file against its description (verify).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "fileinfo/file_hasher.h"
#include "fileinfo/fileinfo.h"

namespace lanswarm {

// Hashes the regular file at `path` into a FileInfo named after its base
// name, its chunks checked with `digest`. chunk_size 0 picks AutoChunkSize.
// Fails when the file changes (size or mtime) while it is read, so a
// FileInfo never describes a torn file.
Result<FileInfo> CreateFileInfo(const std::string& path, std::uint64_t chunk_size,
                                DigestAlgorithm digest = kDefaultDigest, const HashOptions& options = {});

struct VerifyReport {
  std::uint64_t expected_size = 0;
  std::uint64_t actual_size = 0;
  std::uint32_t chunk_count = 0;
  std::vector<std::uint32_t> bad_chunks;  // ascending; missing chunks count as bad
  bool id_matches = false;                // the id computed from the file equal (same size only)

  bool whole() const { return bad_chunks.empty() && actual_size == expected_size && id_matches; }
};

// Checks every chunk of the file at `path` against `info`, with the digest
// `info` names. A file of the
// wrong size is damaged: chunks it lacks or cuts short are bad. Errors are
// only for files that cannot be read at all.
Result<VerifyReport> VerifyFile(const std::string& path, const FileInfo& info,
                                const HashOptions& options = {});

}  // namespace lanswarm
