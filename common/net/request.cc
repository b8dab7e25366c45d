#include "common/net/request.h"

#include <sodium.h>

#include <optional>

#include <fmt/format.h>

#include "common/net/loop.h"
#include "common/net/session.h"
#include "common/sodium_init.h"

namespace lanswarm::net {

namespace {

// The client's side: the request goes out once the handshake is done (with
// a cluster key, the AUTH before it depends on the other side's HELLO), and
// the first message back is the answer.
struct Exchange : SessionHandler {
  Exchange(proto::Message req, std::optional<Result<proto::Message>>* out) : request(std::move(req)), outcome(out) {}

  proto::Message request;
  // Where the outcome goes; owned by RequestReply, which outlives the loop.
  std::optional<Result<proto::Message>>* outcome;

  void OnReady(Session& s) override { s.Send(request); }
  void OnMessage(Session& s, const proto::Message& m) override {
    if (!outcome->has_value()) *outcome = m;
    s.Close();
    s.loop().Stop();
  }
  void OnClosed(Session& s, const Status& why) override {
    if (!outcome->has_value()) {
      // Every error names the other side (a refused handshake says only what was wrong).
      const std::string peer = s.peer().ToString();
      *outcome = why.ok() ? Status::IOError(fmt::format("{}: closed without an answer", peer))
                 : why.message().find(peer) == std::string::npos ? why.Prefixed(peer)
                                                                 : why;
    }
    s.loop().Stop();
  }
};

}  // namespace

Result<proto::Message> RequestReply(const SocketAddress& to, const proto::Message& request, Clock::Duration timeout,
                                    const auth::KeyRing& keys, proto::Role role) {
  LANSWARM_RETURN_IF_ERROR(InitSodium());
  std::optional<Result<proto::Message>> outcome;
  {
    auto loop = Loop::Create();
    if (!loop.ok()) return loop.status();
    SessionOptions options;
    options.keys = std::make_shared<const auth::KeyRing>(keys);
    options.hello.role = role;  // an ephemeral identity: a tool needs no lasting id
    Session::Connect(**loop, to, timeout, std::move(options), std::make_unique<Exchange>(request, &outcome));
    (*loop)->AddTimer(timeout, [&] {
      if (!outcome.has_value()) {
        outcome = Status::IOError(fmt::format("{}: no answer within {} ms", to.ToString(),
                                              std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()));
      }
      (*loop)->Stop();
    });
    LANSWARM_RETURN_IF_ERROR((*loop)->Run());
  }
  if (!outcome.has_value()) return Status::IOError("no answer");
  return std::move(*outcome);
}

}  // namespace lanswarm::net
