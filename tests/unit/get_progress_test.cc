// The words `peer get` prints, from progress JSON.
#include <catch2/catch.hpp>

#include "peer/get_progress.h"

namespace lanswarm::peer {

TEST_CASE("get progress: the line shows percent, bytes, rate, ETA and peers", "[get_progress]") {
  const nlohmann::json p = {{"name", "disk.img"}, {"state", "downloading"}, {"size", 1000u << 20},
                            {"bytes_verified", 250u << 20}, {"rate_bytes_per_second", 50u << 20},
                            {"eta_seconds", 15.0}, {"peers_active", 3}};
  CHECK(FormatGetProgress(p) == "disk.img  25.0%  250 MiB/1000 MiB  50.0 MiB/s  ETA 15s  3 peers");
}

TEST_CASE("get progress: waiting for holders or for the coordinator", "[get_progress]") {
  nlohmann::json p = {{"name", "a"}, {"state", "waiting"}, {"size", 100}, {"bytes_verified", 0}, {"peers_active", 0}};
  CHECK(FormatGetProgress(p) == "a  0.0%  0 B/100 B  waiting for holders...");
  p["coordinator_error"] = "not connected";
  CHECK(FormatGetProgress(p) == "a  0.0%  0 B/100 B  waiting for the coordinator...");
}

TEST_CASE("get progress: bad chunks are shown; one peer is singular", "[get_progress]") {
  const nlohmann::json p = {{"name", "a"}, {"state", "downloading"}, {"size", 100}, {"bytes_verified", 50},
                            {"rate_bytes_per_second", 10}, {"eta_seconds", -1.0}, {"peers_active", 1},
                            {"checksum_failures", 2}};
  CHECK(FormatGetProgress(p) == "a  50.0%  50 B/100 B  10 B/s  ETA ?  1 peer  2 bad");
}

TEST_CASE("get progress: the summary of a finished download", "[get_progress]") {
  nlohmann::json p = {{"name", "disk.img"}, {"state", "done"}, {"size", 1u << 30}, {"bytes_verified", 1u << 30},
                      {"bytes_received", 1u << 30}, {"elapsed_seconds", 2.0}, {"resumed_chunks", 0},
                      {"out", "/x/disk.img"}};
  CHECK(FormatGetSummary(p) == "got disk.img: 1.00 GiB in 2.0s (512 MiB/s), every chunk verified -> /x/disk.img");
  p["resumed_chunks"] = 4;
  CHECK(FormatGetSummary(p) ==
        "got disk.img: 1.00 GiB in 2.0s (512 MiB/s), 4 chunks were already here, every chunk verified -> /x/disk.img");
  p["state"] = "failed";
  CHECK(FormatGetSummary(p).empty());
}

}  // namespace lanswarm::peer
