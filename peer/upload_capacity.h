// What this peer's uplink can carry, as seen from the bytes it served: the
// highest rate over `window` of busy time (time in which the holder had a
// turn running, peer/upload_scheduler). The coordinator orders its trees by
// it (common/swarm_tree): a weak uplink ends up a leaf of both, where it
// forwards nothing.
//
// Why per busy time and the peak: bytes over wall time show what the peer
// was asked for, not what its link does; a holder that sends for 0.3 s of
// each second is not a weak one. Over busy time a weak uplink never goes
// past its link, and a strong one shows its rate from its first turns. The
// window spans seconds so that one burst into the socket buffers does not
// count as a fast link.
//
// Pure: the caller passes the time and totals of each sample.
#pragma once

#include <cstdint>
#include <deque>

#include "common/clock.h"

namespace lanswarm::peer {

class UploadCapacity {
 public:
  explicit UploadCapacity(Clock::Duration window = std::chrono::seconds(2)) : window_(window) {}

  // Records the totals at a sample (in time order): bytes served and busy
  // time so far. True when the estimate has grown by more than a quarter
  // since the last time this returned true, or first became known: worth a
  // report now, so the trees take it in without waiting for the interval.
  bool Sample(std::uint64_t total_bytes, Clock::Duration busy) {
    if (!samples_.empty() && (busy < samples_.back().busy || total_bytes < samples_.back().bytes)) {
      samples_.clear();  // totals that went back: a new count
    }
    samples_.push_back({total_bytes, busy});
    while (samples_.size() > 2 && busy - samples_[1].busy >= window_) samples_.pop_front();
    const Point& first = samples_.front();
    if (busy - first.busy < window_) return false;
    const double secs = std::chrono::duration<double>(busy - first.busy).count();
    const auto rate = static_cast<std::uint64_t>(static_cast<double>(total_bytes - first.bytes) / secs);
    if (rate > peak_) peak_ = rate;
    if (peak_ == 0 || peak_ <= reported_ + reported_ / 4) return false;
    reported_ = peak_;
    return true;
  }

  // Bytes per second; 0 until `window` of busy time has passed.
  std::uint64_t bytes_per_second() const { return peak_; }

 private:
  struct Point {
    std::uint64_t bytes;
    Clock::Duration busy;
  };
  Clock::Duration window_;
  std::deque<Point> samples_;
  std::uint64_t peak_ = 0;
  std::uint64_t reported_ = 0;
};

}  // namespace lanswarm::peer
