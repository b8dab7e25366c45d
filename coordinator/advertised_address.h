// Which address the coordinator hands out for a peer: the one its REPORT
// advertises, judged against the address the REPORT came from. Without this
// a member could send every getter to a port of its choosing (127.0.0.9:22),
// to nowhere (0.0.0.0) or to everyone (224.0.0.1, 255.255.255.255).
#pragma once

#include "common/proto/messages.h"
#include "common/status.h"

namespace lanswarm::coordinator {

struct AdvertisePolicy {
  // `allow_advertised_addresses`: a peer may name an address other than the
  // one it reports from (a machine behind NAT, a multi-homed seed).
  bool allow_other_addresses = false;
};

// The endpoint to record for a peer whose REPORT advertised `reported` over
// a connection from `source`. Family 0 means `source`'s address at the
// reported port. Refused (InvalidArgument, one line naming the address):
//   - port 0;
//   - unspecified (0.0.0.0/8, ::), broadcast (255.255.255.255) and
//     multicast (224.0.0.0/4, ff00::/8): no one peer is reached there;
//   - loopback (127.0.0.0/8, ::1) unless `source` is loopback too: from
//     elsewhere it sends each getter to a port on its own machine;
//   - unless policy.allow_other_addresses, any address but `source`'s.
// An IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack listener
// sees) is judged and compared as the IPv4 address; the port of `source` is
// ignored. REQUIRES: source.family is 4 or 6.
Result<proto::Endpoint> CheckAdvertised(const proto::Endpoint& reported, const proto::Endpoint& source,
                                        const AdvertisePolicy& policy);

}  // namespace lanswarm::coordinator
