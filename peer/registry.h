// What a peer shares: for each file, where its data and .fileinfo are,
// which chunks are verified, and what the file looked like on disk when it
// was verified (size, mtime) so a later change is noticed. Persisted as
// JSON in the state directory, so it survives a restart of the daemon.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bitfield.h"
#include "common/proto/messages.h"
#include "common/status.h"
#include "fileinfo/fileinfo.h"

namespace lanswarm::peer {

struct SharedFile {
  std::string path;           // absolute path of the data
  std::string fileinfo_path;  // absolute path of its .fileinfo
  FileInfo info;
  Bitfield verified;          // chunks whose bytes matched their checksum
  std::int64_t disk_size = 0;     // stat at verification time
  std::int64_t disk_mtime_ns = 0;
  bool changed = false;       // vanished or changed on disk: not served, reported as gone
  std::uint64_t uploaded_bytes = 0;  // since the daemon started
  // Being downloaded: `path` is the .partial, written as we serve it, so its
  // size and mtime are not checked, and it is not saved (a resumed download
  // hashes the .partial again instead of trusting a record).
  bool downloading = false;

  // A download in progress is partial from its first moment, even with no
  // chunk yet: the swarm connects to it at once and learns its chunks from
  // HAVE as they verify, so its upload link is busy from the first chunk.
  proto::FileState state() const {
    if (changed) return proto::FileState::kGone;
    if (verified.none()) return downloading ? proto::FileState::kPartial : proto::FileState::kGone;
    return verified.all() ? proto::FileState::kWhole : proto::FileState::kPartial;
  }
};

class Registry {
 public:
  // Reads `path` (missing = empty registry). Entries whose .fileinfo can no
  // longer be read are skipped, each with a line in *warnings.
  static Result<Registry> Load(const std::string& path, std::vector<std::string>* warnings);
  // Writes atomically, mode 0600 (it names every shared file), without
  // downloads in progress; the data files themselves are never touched.
  Status Save(const std::string& path) const;

  // Adds or replaces (same file id) an entry.
  void Put(SharedFile file);
  // Removes by file id, by data path or by .fileinfo path; false if absent.
  bool Remove(const std::string& id_or_path);

  SharedFile* Find(const FileId& id);
  const std::vector<SharedFile>& files() const { return files_; }
  std::vector<SharedFile>& files() { return files_; }

 private:
  std::vector<SharedFile> files_;
};

// The REPORT for everything in `registry`: every file with its state (2
// whole, 1 some chunks, 0 vanished or changed). `listen_port` is where this
// peer serves; the coordinator takes the address from the connection.
// `upload_bytes_per_second`: peer/upload_capacity's figure (0: not known).
proto::Report BuildReport(const Registry& registry, std::uint16_t listen_port, std::uint64_t upload_bytes_per_second = 0);

}  // namespace lanswarm::peer
