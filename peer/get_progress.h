// The text `peer get` shows: its progress line and its closing summary,
// made from the progress JSON a node reports (peer/downloader). Pure, so
// the exact wording is tested without a download.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace lanswarm::peer {

// "disk.img  45.2%  1.2 GiB/2.6 GiB  310.0 MiB/s  ETA 5s  3 peers"; while no
// holder is usable: "disk.img  0.0%  0 B/2.6 GiB  waiting for holders...".
std::string FormatGetProgress(const nlohmann::json& progress);

// "got disk.img: 2.6 GiB in 8.4s (318.0 MiB/s), every chunk verified -> /x/disk.img"
// for a finished download; "" for any other state.
std::string FormatGetSummary(const nlohmann::json& progress);

}  // namespace lanswarm::peer
