#include "common/clock.h"

namespace lanswarm {

const SteadyClock& SteadyClock::Instance() {
  static const SteadyClock clock;
  return clock;
}

}  // namespace lanswarm
