// A daemon under test, started in the background with its output in a log
// file. The destructor kills it (SIGKILL) if it is still running, so a
// failing test never leaves a process behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lanswarm::testing {

class ChildProcess {
 public:
  // Starts argv with stdout and stderr appended to log_path. Throws
  // std::runtime_error when it cannot start.
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // The exit code (128 + signal when killed), or nullopt if still running
  // after `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// A TCP port on 127.0.0.1 that was free a moment ago.
int FreeLoopbackPort();

// Polls `check` every 10 ms until it is true or `timeout` passes.
bool WaitFor(const std::function<bool()>& check, std::chrono::milliseconds timeout);

}  // namespace lanswarm::testing
