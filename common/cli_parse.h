// Command-line parsing shared by every lanswarm program: --help prints and
// exits 0; any parse error is one line on stderr and exit code 2.
#pragma once

#include <cstdio>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "common/exit_codes.h"

namespace lanswarm {

// Parses; returns the exit code when the program should stop here.
inline std::optional<int> ParseCommandLine(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);  // a subcommand's --help shows that subcommand
    return kExitOk;
  } catch (const CLI::CallForAllHelp&) {
    std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    const std::string name = app.get_name();
    std::fprintf(stderr, "%s: %s (see '%s --help')\n", name.c_str(), e.what(), name.c_str());
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace lanswarm
