// When the peer's next REPORT is due: as soon as the coordinator has said
// HELLO, then every report interval; a change (a file shared, unshared,
// gone) makes one due at once. Nothing is due while disconnected. Pure:
// time comes from an injected clock.
#pragma once

#include "common/clock.h"

namespace lanswarm::peer {

class ReportSchedule {
 public:
  ReportSchedule(const Clock& clock, Clock::Duration interval) : clock_(clock), interval_(interval) {}

  void OnConnected() {
    connected_ = true;
    next_ = clock_.now();
  }
  void OnDisconnected() { connected_ = false; }
  void OnChange() { next_ = clock_.now(); }
  void OnSent() { next_ = clock_.now() + interval_; }

  bool Due() const { return connected_ && clock_.now() >= next_; }

 private:
  const Clock& clock_;
  Clock::Duration interval_;
  bool connected_ = false;
  Clock::TimePoint next_{};
};

}  // namespace lanswarm::peer
