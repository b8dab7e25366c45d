// Hashes a file as the .fileinfo needs it: every chunk's digest and the
// file id, in one pass, on every core, in bounded memory.
//
// How: the file is read in pieces of kHashPiece bytes by worker threads
// (pread; the copy out of the page cache is most of XXH3's cost), each
// piece hashed as soon as it is read, while it is still in that core's
// cache. Memory is one piece per worker, whatever the chunk size.
//
//  - XXH3: the whole-file XXH3-128 (the id) must see the bytes in order,
//    so pieces are read in parallel and hashed strictly in file order, by
//    the worker holding the next one. XXH3 runs at memory speed, so the
//    ordering costs little: the copies are what parallelise.
//  - SHA-256 and BLAKE2b run at a few hundred MB/s a core, so the hashing
//    itself must parallelise. Their id is the hash of the chunk digests
//    (CryptoFileId), which needs no pass in order: each worker takes a run
//    of whole chunks (one piece of small chunks, or one chunk larger than
//    a piece, read piece by piece) and hashes it alone.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "common/chunk_layout.h"
#include "common/file_id.h"
#include "fileinfo/chunk_digest_list.h"
#include "fileinfo/digest_algorithm.h"

namespace lanswarm {

// The read unit. Sizes from 512 KiB to 4 MiB ran equally fast here; 1 MiB
// fits a core's L2 and keeps progress fine-grained. A power of two, so a
// chunk either divides it or is a multiple of it.
inline constexpr std::size_t kHashPiece = 1u << 20;

struct HashOptions {
  unsigned threads = 0;  // 0: one per core
  // Piece buffers together stay within this (one piece at least).
  std::size_t memory_budget = 16u * 1024 * 1024;
  // Called after each piece with the bytes hashed so far, which only grow,
  // and the total; from a worker thread, one call at a time.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

struct FileDigest {
  ChunkDigestList chunks;
  FileId id;
};

// Hashes bytes [0, layout.file_size()) of `fd` with `digest`. A file that
// turns out shorter than that (it shrank while we read) is a Corruption
// error; bytes beyond it are ignored. `path` only names the file in errors.
Result<FileDigest> HashFile(int fd, const ChunkLayout& layout, DigestAlgorithm digest, const std::string& path,
                            const HashOptions& options = {});

}  // namespace lanswarm
