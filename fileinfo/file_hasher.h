// Hashes a file as the .fileinfo needs it: XXH3-64 of every chunk and
// XXH3-128 of the whole, in one pass, on every core, in bounded memory.
//
// How: the file is read in pieces of kHashPiece bytes. Worker threads pread
// pieces in parallel (the copy out of the page cache is most of the cost);
// then, strictly in file order, the worker holding the next piece feeds it to
// both hashes while it is still in that core's cache. Chunk boundaries never
// cross a piece unless the chunk spans several pieces, in which case its hash
// is streamed. Memory is one piece per worker, whatever the chunk size.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/chunk_layout.h"
#include "common/file_id.h"

namespace lanswarm {

// The read unit. Sizes from 512 KiB to 4 MiB ran equally fast here; 1 MiB
// fits a core's L2 and keeps progress fine-grained.
inline constexpr std::size_t kHashPiece = 1u << 20;

struct HashOptions {
  unsigned threads = 0;  // 0: one per core
  // Piece buffers together stay within this (one piece at least).
  std::size_t memory_budget = 16u * 1024 * 1024;
  // Called in file order after each piece with bytes hashed so far; from a
  // worker thread, one call at a time.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct FileDigest {
  std::vector<std::uint64_t> chunk_hashes;
  FileId id;
};

// Hashes bytes [0, layout.file_size()) of `fd`. A file that turns out
// shorter than that (it shrank while we read) is a Corruption error; bytes
// beyond it are ignored. `path` only names the file in errors.
Result<FileDigest> HashFile(int fd, const ChunkLayout& layout, const std::string& path,
                            const HashOptions& options = {});

}  // namespace lanswarm
