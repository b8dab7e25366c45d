// The exit codes of every lanswarm program, so scripts can tell a failure
// from a mistake in how the program was called.
#pragma once

namespace lanswarm {

inline constexpr int kExitOk = 0;
// A runtime failure: I/O, no answer, a download or check that did not succeed.
inline constexpr int kExitFailed = 1;
// Bad usage or configuration: nothing was attempted.
inline constexpr int kExitUsage = 2;

}  // namespace lanswarm
