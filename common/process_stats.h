// What the kernel says about this process, for STATS and benchmarks.
#pragma once

#include <cstdint>

namespace lanswarm {

// Resident set size in bytes (from /proc/self/statm); 0 if unreadable.
std::uint64_t CurrentRssBytes();

}  // namespace lanswarm
