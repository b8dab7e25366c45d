// One question, one answer: connect, exchange HELLOs, send a request and
// return the first reply. For command-line tools such as
// `coordinator status`; daemons keep their connections open instead.
#pragma once

#include "common/clock.h"
#include "common/net/socket_address.h"
#include "common/proto/messages.h"
#include "common/status.h"

namespace lanswarm::net {

// The whole exchange must finish within `timeout`. An ERROR from the other
// side becomes an error Status carrying its reason. Runs its own Loop.
Result<proto::Message> RequestReply(const SocketAddress& to, const proto::Message& request, Clock::Duration timeout,
                                    proto::Role role = proto::Role::kTool);

}  // namespace lanswarm::net
