// SIGTERM and SIGINT stop a loop cleanly (Loop::StopFromAnyThread is
// async-signal-safe); SIGPIPE is ignored, since a peer hanging up is an
// error value on the socket, not a reason to die.
#pragma once

#include "common/net/loop.h"

namespace lanswarm::net {

// Until ClearStopOnSignals, those signals stop `loop`. One loop at a time.
void StopOnSignals(Loop& loop);
void ClearStopOnSignals();

}  // namespace lanswarm::net
