// One question, one answer: connect, exchange HELLOs, send a request and
// return the first reply. For command-line tools such as
// `coordinator status`; daemons keep their connections open instead.
#pragma once

#include "common/auth/key_ring.h"
#include "common/clock.h"
#include "common/net/socket_address.h"
#include "common/proto/messages.h"
#include "common/status.h"

namespace lanswarm::net {

// The whole exchange must finish within `timeout`. An ERROR from the other
// side becomes an error Status carrying its reason. Proves `keys`' primary
// key when it has one (common/auth/handshake.h). Runs its own Loop.
Result<proto::Message> RequestReply(const SocketAddress& to, const proto::Message& request, Clock::Duration timeout,
                                    const auth::KeyRing& keys, proto::Role role = proto::Role::kTool);

}  // namespace lanswarm::net
