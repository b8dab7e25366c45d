#include "common/net/request.h"

#include <sodium.h>

#include <optional>

#include <fmt/format.h>

#include "common/net/connection.h"
#include "common/net/loop.h"
#include "common/proto/frame_buffer.h"

namespace lanswarm::net {

namespace {

struct Exchange : ConnectionHandler {
  proto::Message request;
  proto::Role role;
  proto::FrameBuffer frames;
  bool got_hello = false;
  // Where the outcome goes; owned by RequestReply, which outlives the loop.
  std::optional<Result<proto::Message>>* outcome;

  void Finish(Connection& c, Result<proto::Message> r) {
    if (!outcome->has_value()) *outcome = std::move(r);
    c.Close();
    c.loop().Stop();
  }
  void OnConnected(Connection& c) override {
    proto::Hello hello;
    hello.role = role;
    randombytes_buf(hello.peer_id.data(), hello.peer_id.size());
    c.Send(proto::EncodeFrame(hello));
    c.Send(proto::EncodeFrame(request));
  }
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
        if (!std::holds_alternative<proto::Hello>(m)) {
          return Finish(c, Status::Corruption(fmt::format("{}: answered without HELLO", c.peer().ToString())));
        }
        got_hello = true;
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
                                    proto::Role role) {
  if (sodium_init() < 0) return Status::Unsupported("libsodium failed to initialise");
  std::optional<Result<proto::Message>> outcome;
  {
    auto loop = Loop::Create();
    if (!loop.ok()) return loop.status();
    auto ex = std::make_unique<Exchange>();
    ex->request = request;
    ex->role = role;
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
