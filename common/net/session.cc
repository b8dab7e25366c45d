#include "common/net/session.h"

#include <cassert>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/proto/codec.h"

namespace lanswarm::net {

namespace {

// Fills in an ephemeral identity when the options have none.
std::variant<auth::ConnectorHandshake, auth::AcceptorHandshake> MakeHandshake(SessionOptions& o) {
  if (o.identity == nullptr) o.identity = std::make_shared<const auth::Identity>(auth::Identity::Ephemeral());
  if (o.side == SessionOptions::Side::kConnector) {
    return std::variant<auth::ConnectorHandshake, auth::AcceptorHandshake>(std::in_place_index<0>, *o.keys,
                                                                           *o.identity, o.hello);
  }
  return std::variant<auth::ConnectorHandshake, auth::AcceptorHandshake>(std::in_place_index<1>, *o.keys,
                                                                         *o.identity, o.hello);
}

}  // namespace

Session::Session(SessionOptions options, std::unique_ptr<SessionHandler> handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      handshake_(MakeHandshake(options_)),
      frames_(std::min(options_.max_payload, options_.max_payload_before_ready)) {}

Session::~Session() = default;

Session* Session::Connect(Loop& loop, const SocketAddress& to, Clock::Duration timeout, SessionOptions options,
                          std::unique_ptr<SessionHandler> handler) {
  options.side = SessionOptions::Side::kConnector;
  auto session = std::make_unique<Session>(std::move(options), std::move(handler));
  Session* s = session.get();
  s->loop_ = &loop;
  s->peer_ = to;
  s->conn_ = loop.Connect(to, timeout, std::move(session));
  return s;
}

// ---- sending ----

void Session::Queue(Bytes frame) {
  if (closing()) return;
  if (!ready_) {
    held_.insert(held_.end(), frame.begin(), frame.end());
    return;
  }
  conn_->Send(std::move(frame));
}

void Session::Send(const proto::Message& m) { Queue(proto::EncodeFrame(m)); }

void Session::SendFrames(Bytes frames) { Queue(std::move(frames)); }

void Session::SendChunk(const proto::ChunkHeader& header, std::shared_ptr<const AlignedBuffer> buffer,
                        std::size_t offset) {
  // Chunks are sent only in answer to a request, so never before ready.
  assert(ready_);
  if (closing()) return;
  conn_->Send(std::move(buffer), offset, header.length, proto::EncodeFrame(header));
}

std::size_t Session::unsent_bytes() const { return conn_ == nullptr ? 0 : conn_->unsent_bytes() + held_.size(); }

std::uint64_t Session::sent_bytes() const { return conn_ == nullptr ? 0 : conn_->sent_bytes(); }

void Session::Fail(proto::ErrorCode code, const std::string& reason) {
  if (closing()) return;
  if (options_.counters != nullptr) ++options_.counters->protocol_errors;
  if (options_.warnings == nullptr || options_.warnings->Allow(loop_->clock().now())) {
    spdlog::warn("{}: {}; {}", peer_.ToString(), reason, options_.fail_action);
  }
  // Straight to the connection: an ERROR is due even before the handshake.
  conn_->Send(proto::EncodeFrame(proto::Error{code, reason}));
  conn_->CloseAfterSending(Status::InvalidArgument(reason), options_.error_linger);
}

void Session::Close(const Status& why) {
  if (conn_ != nullptr) conn_->Close(why);
}

// ---- connection events ----

void Session::OnConnected(Connection& c) {
  conn_ = &c;
  loop_ = &c.loop();
  peer_ = c.peer();
  opened_ = last_activity_ = loop_->clock().now();
  if (auto* connector = std::get_if<auth::ConnectorHandshake>(&handshake_)) c.Send(proto::EncodeFrame(connector->hello()));
  if (options_.exact_reads) ReadHeader();
}

void Session::OnData(Connection&, ByteView data) {
  // Exact reads take every byte through ReceiveInto; nothing comes here.
  if (!backed_up_) last_activity_ = loop_->clock().now();
  frames_.Append(data);
  Drain();
}

void Session::Drain() {
  proto::Message m;
  while (!closing() && !BackedUp()) {
    const proto::Decoded d = frames_.Next(&m);
    if (d.state == proto::DecodeState::kNeedMore) return;
    if (d.state == proto::DecodeState::kError) return Fail(proto::ErrorCode::kProtocol, d.error);
    if (std::holds_alternative<proto::ChunkHeader>(m)) {
      return Fail(proto::ErrorCode::kProtocol, "unexpected CHUNK on this connection");
    }
    Handle(m);
  }
}

bool Session::BackedUp() {
  if (options_.max_unsent_replies == 0 || conn_ == nullptr) return false;
  if (!backed_up_ && conn_->unsent_copied_bytes() > options_.max_unsent_replies) {
    backed_up_ = true;
    conn_->PauseReceiving();
  }
  return backed_up_;
}

void Session::OnSent(Connection&) {
  last_activity_ = loop_->clock().now();
  // Resume at half the bound, so a client that reads slowly is not paused
  // and resumed for every reply.
  if (backed_up_ && conn_->unsent_copied_bytes() <= options_.max_unsent_replies / 2) {
    backed_up_ = false;
    Drain();
    if (!backed_up_ && !closing()) conn_->ResumeReceiving();
  }
  if (ready_ && !closing()) handler_->OnSent(*this);
}

void Session::OnClosed(Connection&, const Status& why) {
  conn_ = nullptr;
  handler_->OnClosed(*this, why);
  if (options_.on_closed) options_.on_closed(*this);
}

bool Session::got_hello() const {
  const auto* acceptor = std::get_if<auth::AcceptorHandshake>(&handshake_);
  return acceptor == nullptr ? ready_ : acceptor->got_hello();
}

// ---- the handshake ----

void Session::Handle(proto::Message& m) {
  if (const auto* e = std::get_if<proto::Error>(&m)) {
    // A client that gives up on our proof failed authentication too.
    if (!ready_ && e->code == proto::ErrorCode::kAuth && options_.counters != nullptr) {
      ++options_.counters->auth_failures;
    }
    return Close(Status::IOError(fmt::format("{} says: {}", peer_.ToString(), e->reason)));
  }
  if (ready_ && !std::holds_alternative<proto::Hello>(m) && !std::holds_alternative<proto::Auth>(m)) {
    return handler_->OnMessage(*this, m);
  }
  if (std::holds_alternative<auth::ConnectorHandshake>(handshake_)) {
    const auto* hello = std::get_if<proto::Hello>(&m);
    if (ready_ || hello == nullptr) {
      return Fail(proto::ErrorCode::kProtocol,
                  fmt::format("unexpected {} {}", proto::MessageTypeName(proto::TypeOf(m)),
                              ready_ ? "after the handshake" : "before HELLO"));
    }
    return HandleConnectorHello(*hello);
  }
  HandleAcceptorHandshake(m);
}

void Session::HandleConnectorHello(const proto::Hello& hello) {
  auto& hs = std::get<auth::ConnectorHandshake>(handshake_);
  auto auth = hs.OnHello(hello);
  if (!auth.ok()) return FailHandshake(auth.status());
  theirs_ = hello;
  conn_->Send(proto::EncodeFrame(*auth));
  BecomeReady();
}

void Session::HandleAcceptorHandshake(const proto::Message& m) {
  auto& hs = std::get<auth::AcceptorHandshake>(handshake_);
  if (Status s = hs.Admit(m); !s.ok()) return FailHandshake(s);
  if (const auto* hello = std::get_if<proto::Hello>(&m)) {
    // The handshake first: the handler is asked about the one HELLO it
    // accepts, never a second one or one without a version in common.
    auto reply = hs.OnHello(*hello);
    if (!reply.ok()) return FailHandshake(reply.status());
    if (Status s = handler_->CheckHello(*this, *hello); !s.ok()) return Fail(proto::ErrorCode::kProtocol, s.message());
    theirs_ = *hello;
    conn_->Send(proto::EncodeFrame(*reply));
  } else if (const auto* a = std::get_if<proto::Auth>(&m)) {
    if (Status s = hs.OnAuth(*a); !s.ok()) return FailHandshake(s);
  } else {
    return Fail(proto::ErrorCode::kProtocol,
                fmt::format("unexpected {} during the handshake", proto::MessageTypeName(proto::TypeOf(m))));
  }
  if (hs.authenticated() && !ready_) BecomeReady();
}

void Session::FailHandshake(const Status& s) {
  const proto::ErrorCode code = auth::HandshakeErrorCode(s);
  if (code == proto::ErrorCode::kAuth && options_.counters != nullptr) ++options_.counters->auth_failures;
  if (closing()) return;
  if (std::holds_alternative<auth::ConnectorHandshake>(handshake_)) {
    // The connector's owner reports it (with backoff, throttled): the
    // close reason is the handshake's own message, without a warning here.
    conn_->Send(proto::EncodeFrame(proto::Error{code, s.message()}));
    conn_->CloseAfterSending(s, options_.error_linger);
    return;
  }
  Fail(code, s.message());
}

void Session::BecomeReady() {
  ready_ = true;
  frames_.set_max_payload(options_.max_payload);
  if (options_.on_ready) options_.on_ready(*this);
  if (!held_.empty()) {
    conn_->Send(std::move(held_));
    held_.clear();
  }
  handler_->OnReady(*this);
}

// ---- exact reads ----

void Session::ReadHeader() {
  if (closing()) return;
  frame_.resize(proto::kFrameHeaderSize);
  conn_->ReceiveInto(frame_.data(), frame_.size(), [this](const Status& s) {
    if (s.ok()) OnHeader();
  });
}

void Session::OnHeader() {
  last_activity_ = loop_->clock().now();
  const std::uint32_t len = LoadLE<std::uint32_t>(frame_.data());
  if (len > (ready_ ? options_.max_payload : std::min(options_.max_payload, options_.max_payload_before_ready))) {
    return Fail(proto::ErrorCode::kProtocol, fmt::format("a {}-byte frame is over this connection's limit", len));
  }
  if (len == 0) return OnPayload();
  frame_.resize(proto::kFrameHeaderSize + len);
  conn_->ReceiveInto(frame_.data() + proto::kFrameHeaderSize, len, [this](const Status& s) {
    if (s.ok()) OnPayload();
  });
}

void Session::OnPayload() {
  proto::Message m;
  const proto::Decoded d = proto::DecodeFrame(frame_, proto::kMaxFramePayload, &m);  // length checked in OnHeader
  if (d.state != proto::DecodeState::kComplete) {
    return Fail(proto::ErrorCode::kProtocol, d.state == proto::DecodeState::kError ? d.error : "truncated frame");
  }
  if (const auto* h = std::get_if<proto::ChunkHeader>(&m)) {
    if (!ready_) return Fail(proto::ErrorCode::kProtocol, "CHUNK before the handshake");
    piece_buffer_ = handler_->OnChunkStart(*this, *h);
    if (piece_buffer_.empty()) return;  // refused; the handler closed the session
    chunk_len_ = h->length;
    chunk_got_ = 0;
    return ReadPiece();
  }
  Handle(m);
  ReadHeader();
}

void Session::ReadPiece() {
  if (closing()) return;
  piece_len_ = static_cast<std::uint32_t>(std::min<std::size_t>(piece_buffer_.size(), chunk_len_ - chunk_got_));
  conn_->ReceiveInto(piece_buffer_.data(), piece_len_, [this](const Status& s) {
    if (s.ok()) OnPiece();
  });
}

void Session::OnPiece() {
  last_activity_ = loop_->clock().now();
  const std::uint32_t offset = chunk_got_;
  chunk_got_ += piece_len_;
  handler_->OnChunkPiece(*this, offset, piece_len_);
  if (closing()) return;
  if (chunk_got_ < chunk_len_) return ReadPiece();
  handler_->OnChunkEnd(*this);
  ReadHeader();
}

}  // namespace lanswarm::net
