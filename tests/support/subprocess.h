// Runs a program to completion and captures what it printed: the harness of
// the CLI tests. A deadline kills runaway children, so a hung binary fails
// its test instead of hanging the suite.
#pragma once

#include <string>
#include <vector>

namespace lanswarm::testing {

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out, err;
};

// argv[0] is the program path. Throws std::runtime_error when it cannot be
// started at all.
RunResult Run(const std::vector<std::string>& argv, int timeout_seconds = 60);

// $LANSWARM_BIN_DIR/name: the binaries under test (set by `make test`).
std::string BinPath(const std::string& name);

}  // namespace lanswarm::testing
