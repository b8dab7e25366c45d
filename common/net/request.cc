#include "common/net/request.h"

#include <sodium.h>

#include <optional>

#include <fmt/format.h>

#include "common/auth/handshake.h"
#include "common/net/connection.h"
#include "common/net/loop.h"
#include "common/proto/frame_buffer.h"

namespace lanswarm::net {

namespace {

struct Exchange : ConnectionHandler {
  Exchange(const auth::KeyRing& keys, proto::Hello mine, proto::Message req)
      : request(std::move(req)), handshake(keys, std::move(mine)) {}

  proto::Message request;
  auth::ConnectorHandshake handshake;
  proto::FrameBuffer frames;
  bool got_hello = false;
  // Where the outcome goes; owned by RequestReply, which outlives the loop.
  std::optional<Result<proto::Message>>* outcome;

  void Finish(Connection& c, Result<proto::Message> r) {
    if (!outcome->has_value()) *outcome = std::move(r);
    c.Close();
    c.loop().Stop();
  }
  // The request waits for the other side's HELLO: with a cluster key, the
  // AUTH that must precede it depends on that HELLO's nonce.
  void OnConnected(Connection& c) override { c.Send(proto::EncodeFrame(handshake.hello())); }
  void OnData(Connection& c, ByteView data) override {
    frames.Append(data);
    proto::Message m;
    for (;;) {
      proto::Decoded d = frames.Next(&m);
      if (d.state == proto::DecodeState::kNeedMore) return;
      if (d.state == proto::DecodeState::kError) {
        return Finish(c, Status::Corruption(fmt::format("{}: bad reply: {}", c.peer().ToString(), d.error)));
      }
      if (auto* e = std::get_if<proto::Error>(&m)) {
        return Finish(c, Status::IOError(fmt::format("{} refused: {}", c.peer().ToString(), e->reason)));
      }
      if (!got_hello) {
        const auto* hello = std::get_if<proto::Hello>(&m);
        if (hello == nullptr) {
          return Finish(c, Status::Corruption(fmt::format("{}: answered without HELLO", c.peer().ToString())));
        }
        auto auth = handshake.OnHello(*hello);
        if (!auth.ok()) {
          c.Send(proto::EncodeFrame(proto::Error{auth::HandshakeErrorCode(auth.status()), auth.status().message()}));
          return Finish(c, auth.status().Prefixed(c.peer().ToString()));
        }
        got_hello = true;
        Bytes out;
        if (auth->has_value()) proto::EncodeFrame(**auth, &out);
        proto::EncodeFrame(request, &out);
        c.Send(std::move(out));
        continue;
      }
      return Finish(c, std::move(m));
    }
  }
  void OnClosed(Connection& c, const Status& why) override {
    if (!outcome->has_value()) {
      *outcome = why.ok() ? Status::IOError(fmt::format("{}: closed without an answer", c.peer().ToString()))
                          : why;
    }
    c.loop().Stop();
  }
};

}  // namespace

Result<proto::Message> RequestReply(const SocketAddress& to, const proto::Message& request, Clock::Duration timeout,
                                    const auth::KeyRing& keys, proto::Role role) {
  if (sodium_init() < 0) return Status::Unsupported("libsodium failed to initialise");
  std::optional<Result<proto::Message>> outcome;
  {
    auto loop = Loop::Create();
    if (!loop.ok()) return loop.status();
    proto::Hello mine;
    mine.role = role;
    randombytes_buf(mine.peer_id.data(), mine.peer_id.size());
    auto ex = std::make_unique<Exchange>(keys, mine, request);
    ex->outcome = &outcome;
    (*loop)->Connect(to, timeout, std::move(ex));
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
