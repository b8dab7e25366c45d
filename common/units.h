// Human units for sizes and rates, in flags, config files and output.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace lanswarm {

// Parses a byte count: "1048576", "256K", "256KiB", "16M", "16MiB", "1G",
// "1GiB", "2T" (suffixes are binary multiples, case-insensitive, optional
// "iB"/"B"). Rejects negatives, fractions, overflow and trailing junk.
Result<std::uint64_t> ParseSize(std::string_view text);

// "0 B", "512 B", "1.5 KiB", "16.0 MiB", "2.00 GiB": three significant digits.
std::string FormatBytes(std::uint64_t bytes);

// A duration in seconds as "45s", "3m05s", "2h03m".
std::string FormatSeconds(double seconds);

}  // namespace lanswarm
