// The peer's state directory and the files the daemon keeps in it (pid
// file, peer id, registry and its temporary, log, control socket): this
// user's alone, whatever the umask. The registry names every shared file and
// the control socket takes commands (share, get to any path), so another
// user must be able neither to read them nor to connect (doc/security.md).
#pragma once

#include <optional>
#include <string>

#include "common/status.h"

namespace lanswarm::peer {

// Makes `dir` mode 0700 (missing parents 0755 less the umask), or checks the
// existing one: it must be a directory owned by this user, since its owner
// could read and replace what the daemon keeps there (another user's is
// refused with one line), and any other mode is set to 0700. Returns a line
// to log when it changed the mode of a directory that was there before; a
// second call then finds 0700 and returns none, so it is said once.
Result<std::optional<std::string>> PrepareStateDir(const std::string& dir);

// Opens `path`, a file of the state directory, created if missing, with
// `flags` (O_RDWR, or O_WRONLY | O_APPEND...) plus O_CLOEXEC; never through a
// link. Its mode is then exactly 0600, whatever it was and whatever the
// umask. The caller closes the descriptor.
Result<int> OpenStateFile(const std::string& path, int flags);

}  // namespace lanswarm::peer
