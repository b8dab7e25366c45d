// `peer get <file.fileinfo> <out>`: reserves <out>.partial (or checks what
// an existing one already holds), then hands the download to the running
// daemon and follows its progress, or, with no daemon, runs the node in
// this process for the length of the download (longer with --seed).
#pragma once

#include <string>

#include "peer/config.h"

namespace lanswarm::peer {

struct GetFlags {
  std::string fileinfo, out;
  bool force = false;   // replace an existing <out>
  bool seed = false;    // without a daemon: keep serving the file once done
  bool quiet = false;
  bool json = false;    // progress events as JSON lines on stdout
  int wait_seconds = 60;  // give up after this long without a usable holder
  bool log_level_given = false;
};

// Returns the exit code: 0 done, 1 failed, 2 usage.
int RunGet(const Config& config, const GetFlags& flags);

}  // namespace lanswarm::peer
